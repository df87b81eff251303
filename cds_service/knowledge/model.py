"""What the rules know, as frozen lookups: value sets, card topics, MME factors, opioid and NSAID products."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mypy_extensions import mypyc_attr

from ..citations import computed
from .codes import ICD10CM, RXNORM, Code, dotted_icd, normalise
from .manifest import EXT_KNOWLEDGE, EXT_RULE, Identity
from .memo import Memo

# The byte allowances of the caches of answers (keys come from requests): 62 value sets x 256 KiB + 4 + 4 + 2 MiB,
# about 26 MiB at most, whatever the requests.
VALUE_SET_CACHE_BYTES = 256 * 1024
RELEVANCE_CACHE_BYTES = 4 * 1024 * 1024
CLASSES_CACHE_BYTES = 4 * 1024 * 1024
MEDICATION_CACHE_BYTES = 2 * 1024 * 1024
DRUG_CACHE_BYTES = 8 * 1024 * 1024  # drug concepts by their JSON (record/medications.py): JSON keys are larger
MME_CACHE_BYTES = 2 * 1024 * 1024  # MME worked out by product codes and dosage JSON (rules/_mme.py)


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
    cache: Memo = field(default_factory=lambda: Memo(VALUE_SET_CACHE_BYTES), repr=False, compare=False)  # membership

    def __contains__(self, item: Code) -> bool:
        found = self.cache.get(item)
        if found is None:
            found = self.include.matches(*item) and not self.exclude.matches(*item)
            self.cache.put(item, found, 0)  # bounded by bytes: codes come from requests
        return found


@dataclass(frozen=True)
class Product:
    """A drug product (RxNorm SCD/SBD): its ingredient (an opioid, or an NSAID), strength per unit and dose form."""

    ingredient: str
    strength: float
    strength_unit: str  # mg, mg/h (transdermal), mg/mL
    form: str  # tablet, tablet-er, capsule, capsule-er, transdermal, film, injection
    name: str = ""  # the RxNorm name ("12 HR oxycodone hydrochloride 60 MG Extended Release Oral Tablet")


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
    rule: str = ""  # canonical url|version of the PlanDefinition whose cards have this topic


@dataclass(frozen=True)
class MmeFactor:
    factor: float
    input_unit: str  # "mg/d" or "ug/h"
    name: str = ""  # the ingredient, as the CodeSystem displays it ("tramadol")


@mypyc_attr(native_class=False)  # compiled, still keeps a __dict__ for `computed`
@dataclass(frozen=True)
class Knowledge:
    """Everything the rules know, loaded from FHIR artifacts and shared by all requests; its only mutable
    state is bounded caches of answers (membership, relevance, classes of codes and of drugs,
    MME worked out per product and dose)."""

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
    acetaminophen_products: dict[str, Product] = field(default_factory=dict)  # combinations included
    identity: Identity = field(default_factory=lambda: Identity("unknown", "unknown"))  # of fhir_profiles/
    medication_classes: Memo = field(default_factory=lambda: Memo(MEDICATION_CACHE_BYTES), repr=False)
    code_classes: Memo = field(default_factory=lambda: Memo(CLASSES_CACHE_BYTES), repr=False)
    relevance: Memo = field(default_factory=lambda: Memo(RELEVANCE_CACHE_BYTES), repr=False)
    drugs: Memo = field(default_factory=lambda: Memo(DRUG_CACHE_BYTES), repr=False)  # see record/medications.py
    mme_worked: Memo = field(default_factory=lambda: Memo(MME_CACHE_BYTES), repr=False)  # see rules/_mme.py

    def vs(self, name: str) -> ValueSet:
        return self.value_sets[name]

    @computed
    def medication_value_sets(self) -> frozenset[str]:
        """Names of the value sets of drugs: those listing RxNorm codes."""
        return frozenset(v.name for v in self.value_sets.values() if any(s == RXNORM for s, _ in v.include.exact))

    @computed
    def card_sources(self) -> dict[str, tuple[dict[str, Any], list[dict[str, str]], dict[str, Any]]]:
        """Per topic code, a card's `source` and `links` JSON and its provenance extensions (its rule's url|version,
        this knowledge's identity), made once and shared by every card of the topic (cards.to_json): read them,
        never change them (a card's extension is a copy)."""
        return {
            code: (
                {
                    "label": t.source_label,
                    "url": t.source_url,
                    "topic": {"system": self.topic_system, "code": t.code, "display": t.display},
                },
                [{"label": t.source_label, "url": t.source_url, "type": "absolute"}],
                {EXT_RULE: t.rule, EXT_KNOWLEDGE: self.identity.json},
            )
            for code, t in self.topics.items()
        }

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
            self.code_classes.put(codes, found)  # bounded by bytes: codes come from requests
        return found

    def classify_medication(self, rxnorm: tuple[str, ...]) -> frozenset[str]:
        """Names of the medication value sets a drug is in, by its own code or its product's ingredient (0.5)."""
        found = self.medication_classes.get(rxnorm)
        if found is None:
            found = self._classify(rxnorm)
            self.medication_classes.put(rxnorm, found)  # bounded by bytes: codes come from requests
        return found

    def _classify(self, rxnorm: tuple[str, ...]) -> frozenset[str]:
        codes = {(RXNORM, c) for c in rxnorm}
        codes |= {(RXNORM, self.products[c].ingredient) for c in rxnorm if c in self.products}
        return frozenset(
            v.name for code in codes for v in self.value_sets_of(code) if v.name in self.medication_value_sets
        )

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
            self.relevance.put(key, found, 0)  # bounded by bytes: codes come from requests
        return found
