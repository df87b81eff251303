"""Reads `fhir_profiles/` once per process and compiles it into the `Knowledge` the rules consult."""

from __future__ import annotations

import gc
import re
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

from . import manifest
from .codes import ICD10CM, RXNORM, SYSTEM_ALIASES, Code, normalise
from .model import DoseLimit, Knowledge, MmeFactor, Product, Topic, ValueSet, _Rules


def _compile(parts: list[dict[str, Any]]) -> _Rules:
    exact: set[Code] = set()
    prefixes: dict[str, list[str]] = {}
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for part in parts:
        system = part["system"]
        normal = SYSTEM_ALIASES.get(system, system)  # as `normalise`, once per part: 14,000 codes are listed
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
    return _Rules(
        frozenset(exact), {k: tuple(v) for k, v in prefixes.items()}, {k: tuple(v) for k, v in patterns.items()}
    )


def profiles_dir() -> Path:
    """Where the FHIR artifacts are: inside the installed package, else the source checkout's top level."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "fhir_profiles", here.parent / "fhir_profiles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("fhir_profiles/ not found beside the cds_service package")


def _read_dir(files: list[tuple[str, bytes]], kind: str) -> list[dict[str, Any]]:
    return [orjson.loads(data) for rel, data in files if rel.startswith(f"{kind}/")]


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
    root = profiles_dir()
    files = manifest.artifact_files(root)  # read once: parsed below, and digested
    value_sets: dict[str, ValueSet] = {}
    for res in _read_dir(files, "ValueSet"):
        compose = res["compose"]
        value_sets[res["id"]] = ValueSet(
            res["id"], res["url"], res["title"], _compile(compose["include"]), _compile(compose.get("exclude", []))
        )
    plans = {p["id"]: p for p in _read_dir(files, "PlanDefinition")}
    code_systems = {c["id"]: c for c in _read_dir(files, "CodeSystem")}
    topics_cs = code_systems["card-topics"]
    topics = {}
    for concept in topics_cs["concept"]:
        plan = plans[concept["code"]]
        artifact = plan["relatedArtifact"][0]
        topics[concept["code"]] = Topic(
            concept["code"],
            concept["display"],
            artifact["display"],
            artifact["url"],
            f"{plan['url']}|{plan['version']}",
        )
    names = {c["code"]: c["display"] for c in code_systems["mme-conversion-factors"]["concept"]}
    factors = {
        code: MmeFactor(float(props["factor"]), props["inputUnit"], names[code])
        for code, props in _properties(code_systems["mme-conversion-factors"]).items()
    }
    limits_cs = code_systems["nsaid-dose-limits"]
    advice = {concept["code"]: concept["definition"] for concept in limits_cs["concept"]}
    nsaid_limits = {
        code: DoseLimit(float(props["maxSingleDose"]), float(props["maxDailyDose"]), advice[code])
        for code, props in _properties(limits_cs).items()
    }
    concept_maps = {c["id"]: c for c in _read_dir(files, "ConceptMap")}
    products = _products(concept_maps["opioid-products"])
    nsaid_products = _products(concept_maps["nsaid-products"])
    acetaminophen_products = _products(concept_maps["acetaminophen-products"])
    includes = [v.include for v in value_sets.values()]
    # a product the ConceptMap knows is relevant through its ingredient, even when no value set lists the product
    relevant = _Rules(
        frozenset().union(
            *(r.exact for r in includes), {(RXNORM, code) for code in (*products, *acetaminophen_products)}
        ),
        {
            system: tuple(p for r in includes for p in r.prefixes.get(system, ()))
            for system in {s for r in includes for s in r.prefixes}
        },
        {
            system: tuple(p for r in includes for p in r.patterns.get(system, ()))
            for system in {s for r in includes for s in r.patterns}
        },
    )
    activities = {a["id"]: a for a in _read_dir(files, "ActivityDefinition")}
    ingredients = frozenset(factors) | {p.ingredient for p in products.values()}
    by_code: dict[Code, list[ValueSet]] = {}
    by_rule_system: dict[str, list[ValueSet]] = {}
    for v in value_sets.values():
        for code in v.include.exact:
            by_code.setdefault(code, []).append(v)
        for system in {*v.include.prefixes, *v.include.patterns}:
            by_rule_system.setdefault(system, []).append(v)
    return Knowledge(
        value_sets,
        topics_cs["url"],
        topics,
        factors,
        products,
        relevant,
        activities,
        ingredients,
        {k: tuple(v) for k, v in by_code.items()},
        {k: tuple(v) for k, v in by_rule_system.items()},
        nsaid_products,
        nsaid_limits,
        acetaminophen_products,
        identity=manifest.identity(root, files),
    )


def _properties(code_system: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """code -> {property code -> its value} of a CodeSystem's concepts."""
    return {
        concept["code"]: {
            p["code"]: next(v for k, v in p.items() if k.startswith("value")) for p in concept["property"]
        }
        for concept in code_system["concept"]
    }


def _products(concept_map: dict[str, Any]) -> dict[str, Product]:
    """RxNorm product code -> Product, from a ConceptMap whose targets carry strength and form properties."""
    products = {}
    for group in concept_map["group"]:
        for element in group["element"]:
            target = element["target"][0]
            props = {p["property"].rsplit("#", 1)[1]: p["value"] for p in target.get("product", [])}
            strength, unit = _quantity(props["strength"])
            products[element["code"]] = Product(
                target["code"], strength, unit, props["form"], element.get("display", "")
            )
    return products
