"""Reads `fhir_profiles/` once at start-up into frozen lookups: value sets, card topics, MME factors, products."""
from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Other spellings of the same code systems seen in EHR data (HL7 OIDs and legacy URIs).
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-us": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.1": "http://loinc.org",
    "urn:oid:2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
}

Code = tuple[str, str]  # (system, code), normalised
CACHE_LIMIT = 50_000


def normalise(system: str | None, code: str | None) -> Code | None:
    """Return (system, code) in canonical form, or None when either is missing; ICD-10-CM loses its dot."""
    if not system or not code or not isinstance(system, str) or not isinstance(code, str):
        return None
    system = _SYSTEM_ALIASES.get(system, system)
    code = code.strip()
    if system == ICD10CM:
        code = code.upper().replace(".", "")
    return system, code


def dotted_icd(code: str) -> str:
    """A normalised (dotless) ICD-10-CM code in its published form: the dot after the category."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


@dataclass(frozen=True)
class _Rules:
    exact: frozenset[Code]
    prefixes: dict[str, tuple[str, ...]]
    patterns: dict[str, tuple[re.Pattern[str], ...]]

    def matches(self, system: str, code: str) -> bool:
        if (system, code) in self.exact:
            return True
        if code.startswith(self.prefixes.get(system, ())):  # str.startswith takes a tuple; () never matches
            return True
        patterns = self.patterns.get(system, ())
        if patterns and system == ICD10CM:
            code = dotted_icd(code)  # regex filters are written against the published, dotted form
        return any(p.fullmatch(code) for p in patterns)


@dataclass(frozen=True)
class ValueSet:
    """A FHIR ValueSet compiled to explicit codes plus `is-a` prefix and `regex` rules, minus its excludes."""

    name: str
    url: str
    title: str
    include: _Rules
    exclude: _Rules
    cache: dict[Code, bool] = field(default_factory=dict, repr=False, compare=False)  # membership answers

    def __contains__(self, item: Code) -> bool:
        found = self.cache.get(item)
        if found is None:
            found = self.include.matches(*item) and not self.exclude.matches(*item)
            if len(self.cache) < CACHE_LIMIT:  # bounded: codes come from requests
                self.cache[item] = found
        return found


@dataclass(frozen=True)
class Product:
    """A drug product (RxNorm SCD/SBD): its ingredient (an opioid, or an NSAID), strength per unit and dose form."""

    ingredient: str
    strength: float
    strength_unit: str  # mg, mg/h (transdermal), mg/mL
    form: str  # tablet, tablet-er, capsule, capsule-er, transdermal, film, injection


@dataclass(frozen=True)
class DoseLimit:
    """The most of an ingredient the guideline advises, in mg: per dose and per day."""

    single: float
    daily: float
    advice: str  # what the guideline says, for the card


@dataclass(frozen=True)
class Topic:
    code: str
    display: str
    source_label: str
    source_url: str


@dataclass(frozen=True)
class MmeFactor:
    factor: float
    input_unit: str  # "mg/d" or "ug/h"


@dataclass(frozen=True)
class Knowledge:
    """Everything the rules know, loaded from FHIR artifacts and shared by all requests; its only mutable
    state is bounded caches of answers (membership, relevance, classes of codes and of drugs)."""

    value_sets: dict[str, ValueSet]
    topic_system: str
    topics: dict[str, Topic]
    mme_factors: dict[str, MmeFactor]
    products: dict[str, Product]  # opioid products
    relevant: _Rules  # the union of every value set's include rules (excludes ignored: a superset is enough)
    activities: dict[str, dict[str, Any]]  # ActivityDefinitions: templates of the orders suggestions create
    opioid_ingredients: frozenset[str]  # RxNorm ingredient codes of opioids (factors and product targets)
    by_code: dict[Code, tuple[ValueSet, ...]]  # value sets listing each code
    by_rule_system: dict[str, tuple[ValueSet, ...]]  # value sets with is-a or regex rules, by code system
    nsaid_products: dict[str, Product] = field(default_factory=dict)
    nsaid_limits: dict[str, DoseLimit] = field(default_factory=dict)  # by ingredient code
    medication_classes: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict, repr=False)
    code_classes: dict[frozenset[Code], frozenset[str]] = field(default_factory=dict, repr=False)
    relevance: dict[Code, bool] = field(default_factory=dict, repr=False)

    def vs(self, name: str) -> ValueSet:
        return self.value_sets[name]

    @cached_property
    def medication_value_sets(self) -> frozenset[str]:
        """Names of the value sets of drugs: those listing RxNorm codes."""
        return frozenset(v.name for v in self.value_sets.values() if any(s == RXNORM for s, _ in v.include.exact))

    def value_sets_of(self, code: Code) -> list[ValueSet]:
        """The value sets a code is in. Only those naming it or holding an is-a/regex rule for its system are
        asked, rather than all of them: a record brings codes this process has not seen yet on every call."""
        candidates = self.by_code.get(code, ()) + self.by_rule_system.get(code[0], ())
        return [v for v in candidates if code in v]

    def classify(self, codes: frozenset[Code]) -> frozenset[str]:
        """Names of the value sets any of these codes is in: worked out once per distinct set of codes."""
        found = self.code_classes.get(codes)
        if found is None:
            found = frozenset(v.name for code in codes for v in self.value_sets_of(code))
            if len(self.code_classes) < CACHE_LIMIT:  # bounded: codes come from requests
                self.code_classes[codes] = found
        return found

    def classify_medication(self, rxnorm: tuple[str, ...]) -> frozenset[str]:
        """Names of the medication value sets a drug is in, by its own code or its product's ingredient (0.5)."""
        found = self.medication_classes.get(rxnorm)
        if found is None:
            found = self._classify(rxnorm)
            if len(self.medication_classes) < CACHE_LIMIT:  # bounded: codes come from requests
                self.medication_classes[rxnorm] = found
        return found

    def _classify(self, rxnorm: tuple[str, ...]) -> frozenset[str]:
        codes = {(RXNORM, c) for c in rxnorm}
        codes |= {(RXNORM, self.products[c].ingredient) for c in rxnorm if c in self.products}
        return frozenset(v.name for code in codes for v in self.value_sets_of(code)
                         if v.name in self.medication_value_sets)

    def is_relevant_raw(self, system: Any, code: Any) -> bool:
        """True when a coding, as sent, is in any of our value sets: the cheap first filter on plain JSON.
        False when system or code is missing or not a string."""
        if not isinstance(system, str) or not isinstance(code, str):
            return False
        key = (system, code)
        found = self.relevance.get(key)
        if found is None:
            normal = normalise(system, code)
            found = normal is not None and self.relevant.matches(*normal)
            if len(self.relevance) < CACHE_LIMIT:  # bounded: codes come from requests
                self.relevance[key] = found
        return found


def _compile(parts: list[dict[str, Any]]) -> _Rules:
    exact: set[Code] = set()
    prefixes: dict[str, list[str]] = {}
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for part in parts:
        system = part["system"]
        normal = _SYSTEM_ALIASES.get(system, system)  # as `normalise`, once per part: 14,000 codes are listed
        codes = [concept["code"].strip() for concept in part.get("concept", [])]
        if normal == ICD10CM:
            codes = [code.upper().replace(".", "") for code in codes]
        exact.update(zip(repeat(normal), codes))
        for flt in part.get("filter", []):
            if flt["op"] == "is-a":
                prefixes.setdefault(system, []).append(normalise(system, flt["value"])[1])  # type: ignore[index]
            elif flt["op"] == "regex":
                patterns.setdefault(system, []).append(re.compile(flt["value"]))
            else:
                raise ValueError(f"unsupported ValueSet filter op {flt['op']!r}")
    return _Rules(frozenset(exact), {k: tuple(v) for k, v in prefixes.items()},
                  {k: tuple(v) for k, v in patterns.items()})


def profiles_dir() -> Path:
    """Where the FHIR artifacts are: inside the installed package, else the source checkout's top level."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "fhir_profiles", here.parent / "fhir_profiles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("fhir_profiles/ not found beside the cds_service package")


def _read_dir(kind: str) -> list[dict[str, Any]]:
    return [orjson.loads(f.read_bytes()) for f in sorted((profiles_dir() / kind).glob("*.json"))]


def _quantity(text: str) -> tuple[float, str]:
    value, unit = text.split(" ", 1)
    return float(value), unit


@cache
def load() -> Knowledge:
    """Load and compile every artifact in fhir_profiles/ (once per process). The cyclic garbage collector is paused
    meanwhile: the 14,000 codes of the published expansions make tuples by the thousand, none of them garbage, and
    scanning them again and again took a third of the time to load (50 -> 35 ms in a fresh process)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load()
    finally:
        if paused:
            gc.enable()


def _load() -> Knowledge:
    value_sets: dict[str, ValueSet] = {}
    for res in _read_dir("ValueSet"):
        compose = res["compose"]
        value_sets[res["id"]] = ValueSet(res["id"], res["url"], res["title"],
                                         _compile(compose["include"]), _compile(compose.get("exclude", [])))
    plans = {p["id"]: p for p in _read_dir("PlanDefinition")}
    code_systems = {c["id"]: c for c in _read_dir("CodeSystem")}
    topics_cs = code_systems["card-topics"]
    topics = {}
    for concept in topics_cs["concept"]:
        artifact = plans[concept["code"]]["relatedArtifact"][0]
        topics[concept["code"]] = Topic(concept["code"], concept["display"], artifact["display"], artifact["url"])
    factors = {code: MmeFactor(float(props["factor"]), props["inputUnit"])
               for code, props in _properties(code_systems["mme-conversion-factors"]).items()}
    limits_cs = code_systems["nsaid-dose-limits"]
    advice = {concept["code"]: concept["definition"] for concept in limits_cs["concept"]}
    nsaid_limits = {code: DoseLimit(float(props["maxSingleDose"]), float(props["maxDailyDose"]), advice[code])
                    for code, props in _properties(limits_cs).items()}
    concept_maps = {c["id"]: c for c in _read_dir("ConceptMap")}
    products = _products(concept_maps["opioid-products"])
    nsaid_products = _products(concept_maps["nsaid-products"])
    includes = [v.include for v in value_sets.values()]
    # a product the ConceptMap knows is relevant through its ingredient, even when no value set lists the product
    relevant = _Rules(frozenset().union(*(r.exact for r in includes), {(RXNORM, code) for code in products}),
                      {system: tuple(p for r in includes for p in r.prefixes.get(system, ()))
                       for system in {s for r in includes for s in r.prefixes}},
                      {system: tuple(p for r in includes for p in r.patterns.get(system, ()))
                       for system in {s for r in includes for s in r.patterns}})
    activities = {a["id"]: a for a in _read_dir("ActivityDefinition")}
    ingredients = frozenset(factors) | {p.ingredient for p in products.values()}
    by_code: dict[Code, list[ValueSet]] = {}
    by_rule_system: dict[str, list[ValueSet]] = {}
    for v in value_sets.values():
        for code in v.include.exact:
            by_code.setdefault(code, []).append(v)
        for system in {*v.include.prefixes, *v.include.patterns}:
            by_rule_system.setdefault(system, []).append(v)
    return Knowledge(value_sets, topics_cs["url"], topics, factors, products, relevant, activities, ingredients,
                     {k: tuple(v) for k, v in by_code.items()}, {k: tuple(v) for k, v in by_rule_system.items()},
                     nsaid_products, nsaid_limits)


def _properties(code_system: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """code -> {property code -> its value} of a CodeSystem's concepts."""
    return {concept["code"]: {p["code"]: next(v for k, v in p.items() if k.startswith("value"))
                              for p in concept["property"]} for concept in code_system["concept"]}


def _products(concept_map: dict[str, Any]) -> dict[str, Product]:
    """RxNorm product code -> Product, from a ConceptMap whose targets carry strength and form properties."""
    products = {}
    for group in concept_map["group"]:
        for element in group["element"]:
            target = element["target"][0]
            props = {p["property"].rsplit("#", 1)[1]: p["value"] for p in target.get("product", [])}
            strength, unit = _quantity(props["strength"])
            products[element["code"]] = Product(target["code"], strength, unit, props["form"])
    return products
