"""Widen fhir_profiles/ from the published value set expansions and opioid product strengths in ../shared/terminology.

    python scripts/build_profiles.py [--shared ../shared] [--check]

Each of our ValueSets keeps its own parts (the clinical reference's codes and ICD-10-CM rules) and gets, for every
published ValueSet filed under its name (`<our-name>--<id>.json`), one include part per code system listing that
expansion's codes, marked with the extension DRAWN_FROM naming the published set; its description says which sets
it draws on. Running it again replaces the published parts, so it is idempotent; `--check` exits 1 when the shipped
profiles differ from what it would write (a test runs that). The terminology README's caveats are applied as the
FILTERS below. The opioid products of the OMTK DrugIngredients table become a second group of the opioid-products
ConceptMap (ingredient, strength per unit, dose form), beside the products the reference verified by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "fhir_profiles"
DRAWN_FROM = "https://backpain-cds.org/fhir/StructureDefinition/drawn-from"
DRAWN_FROM_EXPANSION = "https://backpain-cds.org/fhir/StructureDefinition/drawn-from-expansion"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OMTK_URL = "https://github.com/cqframework/opioid-mme-r4/blob/master/input/cql/OMTKData.cql"
MARK = " Draws on published value sets: "

Concept = dict[str, str]
Keep = Callable[[str, Concept], bool]  # (system, concept) -> keep it?


def _display(concept: Concept) -> str:
    return concept.get("display", "").lower()


def _not_skin_cancer(system: str, concept: Concept) -> bool:
    """Malignancy minus C44 "other malignant neoplasm of skin" (the red flag leaves basal and squamous cell skin
    cancers out); SNOMED has no C44 chapter, so skin cancers other than melanoma go by their display."""
    if system == ICD:
        return not concept["code"].upper().startswith("C44")
    display = _display(concept)
    return not ("skin" in display and "melanoma" not in display)


def _not_buprenorphine(system: str, concept: Concept) -> bool:
    """Buprenorphine/naloxone treats opioid use disorder: it is not a naloxone rescue kit."""
    return "buprenorphine" not in _display(concept)


def _named_cauda_equina(system: str, concept: Concept) -> bool:
    """CMS166's Neurologic impairment set is broader than cauda equina (lumbar stenosis with claudication, nerve
    root injuries, neurogenic bowel): only what names cauda equina becomes a critical red flag."""
    return "cauda equina" in _display(concept)


_NOT_DRUGS = re.compile(r"alcohol|nicotine|tobacco|caffeine|cannabis|marijuana")
_OUR_DRUG_ICD = re.compile(r"F1(1\.[12]|[3-689])")  # reference 2.3: F11.1x, F11.2x, F13-F16, F18, F19


def _drug_use(system: str, concept: Concept) -> bool:
    """Drug (not alcohol, nicotine or cannabis) use disorder, as reference 2.3 scopes it: an infection-risk flag."""
    if system == ICD:
        return bool(_OUR_DRUG_ICD.match(concept["code"].upper()))
    return not _NOT_DRUGS.search(_display(concept))


def _alcohol_use(system: str, concept: Concept) -> bool:
    if system == ICD:
        return concept["code"].upper().startswith(("F10.1", "F10.2"))
    display = _display(concept)
    return "alcohol" in display and any(w in display for w in ("abuse", "dependence", "use disorder", "alcoholism"))


def _moud(system: str, concept: Concept) -> bool:
    """Reference 0.10 item 4 scopes OUD treatment: buprenorphine/naloxone tablets and films, sublingual buprenorphine,
    implants and extended-release injections, naltrexone. VSAC's MOUD set also lists methadone tablets and solutions,
    transdermal buprenorphine and plain buprenorphine injection, which treat pain too: left out, so they stay opioid
    analgesics (a chart cannot tell which)."""
    display = _display(concept)
    return "naltrexone" in display or ("buprenorphine" in display and is_moud_product(display))


_MOUD_ALONE = ("sublingual", "implant", "prefilled syringe", "extended release injection")


def is_moud_product(name: str) -> bool:
    """A buprenorphine product for opioid use disorder, by its RxNorm name: with naloxone, or sublingual, an implant
    or an extended-release injection. The buccal film alone (Belbuca) and plain injections (Buprenex) are for pain:
    the published MOUD set does not list the film, the CDC opioid-analgesic set does."""
    name = name.lower()
    return "naloxone" in name or any(form in name for form in _MOUD_ALONE)


def _opioid_poisoning(system: str, concept: Concept) -> bool:
    """The CDC opioid misuse set's SNOMED opioid poisonings: the only published SNOMED source for prior overdose."""
    display = _display(concept)
    return system == SCT and ("poisoning" in display or "overdose" in display)


def _drug_poisoning(system: str, concept: Concept) -> bool:
    """Overdoses and poisonings by a drug (SNOMED) in the CDC misuse sets: any overdose is a naloxone risk factor
    (reference 0.10 item 10); alcohol is not a drug here (ICD-10-CM files it under T51, outside T36-T50)."""
    display = _display(concept)
    return system == SCT and ("poisoning" in display or "overdose" in display) and "alcohol" not in display


# our value set -> [(published file prefix, which of its codes to keep)]; every other value set takes all the codes of
# the files filed under its own name. `low-back-pain` has only a converted superset that is "NOT a drop-in" (README):
# it is not wired in.
_SSRI_SNRI = re.compile(r"\b(duloxetine|venlafaxine|sertraline|fluoxetine|citalopram|escitalopram|paroxetine)\b", re.I)


def _ssri_snri(system: str, concept: Concept) -> bool:
    """Products of the SSRI/SNRI ingredients reference 4.1 lists, from the eCQM antidepressant set (which lists
    products only: our own set names the ingredients, which an SCD in a chart does not carry)."""
    return bool(_SSRI_SNRI.search(_display(concept)))


FILTERS: dict[str, list[tuple[str, Keep | None]]] = {
    "malignancy": [("malignancy", _not_skin_cancer)],
    "naloxone": [("naloxone", _not_buprenorphine)],
    "cauda-equina": [("cauda-equina", _named_cauda_equina)],
    "drug-use-disorder": [("drug-use-disorder", _drug_use)],
    "alcohol-use-disorder": [("drug-use-disorder", _alcohol_use)],
    "opioid-overdose": [("opioid-use-disorder", _opioid_poisoning)],
    "drug-overdose": [("opioid-use-disorder", _drug_poisoning), ("drug-use-disorder", _drug_poisoning)],
    "opioid-use-disorder-treatment": [("opioid-use-disorder-treatment", _moud)],
    "ssri-snri": [("antidepressants", _ssri_snri)],
    "low-back-pain": [],
}

FORMS = {
    "Transdermal System": "transdermal",
    "Extended Release Oral Tablet": "tablet-er",
    "Extended Release Oral Capsule": "capsule-er",
    "Extended Release Suspension": "suspension-er",
    "Oral Tablet": "tablet",
    "Effervescent Oral Tablet": "tablet",
    "Disintegrating Oral Tablet": "tablet",
    "Tablet for Oral Suspension": "tablet",
    "Sublingual Tablet": "tablet-sublingual",
    "Buccal Tablet": "tablet-buccal",
    "Oral Capsule": "capsule",
    "Oral Solution": "solution",
    "Oral Suspension": "suspension",
    "Buccal Film": "film",
    "Sublingual Film": "film",
    "Oral Lozenge": "lozenge",
    "Rectal Suppository": "suppository",
    "Mucosal Spray": "spray",
    "Metered Dose Nasal Spray": "spray",
    "Injection": "injection",
    "Injectable Solution": "injection",
    "Prefilled Syringe": "injection",
    "Cartridge": "injection",
    "Auto-Injector": "injection",
    "Drug Implant": "implant",
    "Pack": "pack",
}
UNITS = {"MG": "mg", "MG/ML": "mg/mL", "MG/HR": "mg/h", "MG/ACTUAT": "mg/actuat"}
_OMTK_ROW = re.compile(
    r"\{ drugCode: (\d+), drugName: '([^']*)', doseFormCode: \d+, doseFormName: '([^']*)', "
    r"ingredientCode: (\d+), ingredientName: '[^']*', strength: '[^']*', strengthValue: ([\d.]+), "
    r"strengthUnit: '([^']*)' \}"
)


def drawn_from(url: str, version: str | None, expanded: str | None) -> list[dict]:
    """The extensions marking a part drawn from a published source: its canonical (`url|version` when versioned)
    and the date of the expansion it was built from (the knowledge manifest lists both)."""
    canonical = f"{url}|{version}" if version else url
    return [{"url": DRAWN_FROM, "valueCanonical": canonical}] + (
        [{"url": DRAWN_FROM_EXPANSION, "valueDateTime": expanded}] if expanded else []
    )


def omtk(terminology: Path) -> tuple[list[tuple[str, ...]], list[dict]]:
    """OMTKData.cql's DrugIngredients rows, and the extensions naming it (library version, generation date)."""
    text = (terminology / "omtk" / "OMTKData.cql").read_text(encoding="utf-8")
    version = re.search(r"^library OMTKData version '([^']+)'", text, re.M)
    generated = re.search(r"generated on (\d{4}-\d{2}-\d{2})", text)
    return _OMTK_ROW.findall(text), drawn_from(OMTK_URL, version and version.group(1), generated and generated.group(1))


def published_parts(terminology: Path, name: str) -> tuple[list[dict], list[str]]:
    """The include parts and "title (url)" notes our value set `name` draws from the published files."""
    sources = FILTERS.get(name, [(name, None)])
    parts, notes = [], []
    for prefix, keep in sources:
        for path in sorted(terminology.glob(f"{prefix}--*.json")):
            published = json.loads(path.read_text(encoding="utf-8"))
            by_system: dict[str, list[Concept]] = {}
            for entry in published.get("expansion", {}).get("contains", []):
                concept = {"code": entry["code"]} | ({"display": entry["display"]} if entry.get("display") else {})
                if keep is None or keep(entry["system"], concept):
                    by_system.setdefault(entry["system"], []).append(concept)
            if not by_system:
                continue
            notes.append(f"{published.get('title') or published.get('name')} ({published['url']})")
            source = drawn_from(
                published["url"], published.get("version"), published.get("expansion", {}).get("timestamp")
            )
            for system, concepts in by_system.items():
                parts.append({"extension": source, "system": system, "concept": concepts})
    return parts, notes


def omtk_moud(terminology: Path) -> tuple[list[dict], list[str]]:
    """Every OMTK buprenorphine product that treats opioid use disorder (`is_moud_product`), brands included:
    VSAC's MOUD set lists the generic products only (no Suboxone)."""
    rows, source = omtk(terminology)
    concepts = [
        {"code": drug, "display": display}
        for drug, display, form, ingredient, _, _ in rows
        if ingredient == "1819" and is_moud_product(f"{display} {form}")
    ]
    part = {"extension": source, "system": RXNORM, "concept": concepts}
    return [part], ["OMTK DrugIngredients, buprenorphine products for opioid use disorder (" + OMTK_URL + ")"]


_COUGH_PARTNERS = re.compile(
    r"chlorpheniramine|brompheniramine|promethazine|pseudoephedrine|phenylephrine|guaifenesin|"
    r"homatropine|triprolidine|pyrilamine|carbinoxamine|chlorcyclizine|diphenhydramine|"
    r"phenylpropanolamine|potassium iodide",
    re.I,
)
_COUGH_OPIOIDS = {"2670", "5489"}  # codeine, hydrocodone


def omtk_cough(terminology: Path) -> tuple[list[dict], list[str]]:
    """OMTK codeine and hydrocodone products combined with an antihistamine, decongestant, expectorant or homatropine
    (reference 0.10 item 6): cough and cold products, brands included."""
    rows, source = omtk(terminology)
    concepts = list(
        {
            drug: {"code": drug, "display": display}
            for drug, display, _, ingredient, _, _ in rows
            if ingredient in _COUGH_OPIOIDS and _COUGH_PARTNERS.search(display)
        }.values()
    )
    part = {"extension": source, "system": RXNORM, "concept": concepts}
    return [part], ["OMTK DrugIngredients, codeine and hydrocodone cough and cold products (" + OMTK_URL + ")"]


GENERATED = {"opioid-use-disorder-treatment": omtk_moud, "opioid-cough-cold": omtk_cough}


def value_set(current: dict, terminology: Path) -> dict:
    """Our ValueSet with its published parts replaced by those the expansions give now."""
    own = [
        p for p in current["compose"]["include"] if not any(e.get("url") == DRAWN_FROM for e in p.get("extension", []))
    ]
    listed = {(p["system"], c["code"]) for p in own for c in p.get("concept", [])}
    parts, notes = published_parts(terminology, current["id"])
    if current["id"] in GENERATED:
        more_parts, more_notes = GENERATED[current["id"]](terminology)
        parts, notes = parts + more_parts, notes + more_notes
    for part in parts:  # codes the reference already lists stay only in its own parts
        part["concept"] = [c for c in part["concept"] if (part["system"], c["code"]) not in listed]
    parts = [p for p in parts if p["concept"]]
    out = dict(current)
    out["compose"] = dict(current["compose"], include=own + parts)
    description = current["description"].split(MARK)[0]
    out["description"] = description + (MARK + "; ".join(notes) + "." if notes else "")
    return out


def omtk_products(rows: list[tuple[str, ...]], known: set[str]) -> list[dict]:
    """ConceptMap elements for every OMTK opioid product not already mapped by hand: ingredient, strength, form."""
    elements = []
    for drug, display, form, ingredient, strength, unit in rows:
        if drug in known or drug == ingredient or form not in FORMS or unit not in UNITS:
            continue
        known.add(drug)  # a combination product lists each ingredient: the first opioid row maps it
        elements.append(
            {
                "code": drug,
                "display": display,
                "target": [
                    {
                        "code": ingredient,
                        "equivalence": "wider",
                        "product": [
                            {
                                "property": "https://backpain-cds.org/fhir/CodeSystem/drug-product-properties#strength",
                                "value": f"{float(strength):g} {UNITS[unit]}",
                            },
                            {
                                "property": "https://backpain-cds.org/fhir/CodeSystem/drug-product-properties#form",
                                "value": FORMS[form],
                            },
                        ],
                    }
                ],
            }
        )
    return elements


def concept_map(current: dict, terminology: Path) -> dict:
    own = [g for g in current["group"] if not any(e.get("url") == DRAWN_FROM for e in g.get("extension", []))]
    known = {e["code"] for g in own for e in g["element"]}
    rows, source = omtk(terminology)
    group = {"extension": source, "source": RXNORM, "target": RXNORM, "element": omtk_products(rows, known)}
    return dict(current, group=[*own, group])


def build(shared: Path) -> dict[Path, str]:
    """Every profile file this script owns, path -> the text it should hold."""
    terminology = shared / "terminology"
    out = {}
    for path in sorted((PROFILES / "ValueSet").glob("*.json")):
        out[path] = _dump(value_set(json.loads(path.read_text(encoding="utf-8")), terminology))
    path = PROFILES / "ConceptMap" / "opioid-products.json"
    out[path] = _dump(concept_map(json.loads(path.read_text(encoding="utf-8")), terminology))
    return out


def _dump(resource: dict) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped profiles differ; write nothing")
    args = parser.parse_args()
    if not (args.shared / "terminology").is_dir():
        print(f"no terminology at {args.shared / 'terminology'}", file=sys.stderr)
        return 2
    differs = []
    for path, text in build(args.shared).items():
        if path.read_text(encoding="utf-8") != text:
            differs.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and differs:
        print("out of date: " + ", ".join(map(str, differs)), file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(differs) if not args.check else 0} changed profiles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
