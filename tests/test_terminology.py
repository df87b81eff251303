"""Our value sets are the union of the reference's codes and the published expansions (clinical reference 0.8), built
by scripts/build_profiles.py; MME covers every opioid product OMTK lists (5.4, 5.8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.cards import Indicator
from cds_service.knowledge import RXNORM, load, normalise
from tests.conftest import SHARED, by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, dosage, lbp, med_request, med_statement, service_request

ROOT = Path(__file__).resolve().parents[1]
DRAWN_FROM = "https://backpain-cds.org/fhir/StructureDefinition/drawn-from"
needs_terminology = pytest.mark.skipif(
    not (SHARED / "terminology").is_dir(),
    reason=f"../shared/terminology not present at {SHARED} (published expansions)",
)


@needs_terminology
def test_shipped_profiles_are_what_the_build_script_writes():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_profiles.py"), "--check", "--shared", str(SHARED)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def published_only() -> list[tuple[str, str, str]]:
    """(value set, system, code) for one code per value set that only a published expansion contributes."""
    found = []
    for path in sorted((ROOT / "fhir_profiles/ValueSet").glob("*.json")):
        vs = json.loads(path.read_text())
        own = {
            (p["system"], c["code"])
            for p in vs["compose"]["include"]
            if not p.get("extension")
            for c in p.get("concept", [])
        }
        for part in vs["compose"]["include"]:
            if any(e["url"] == DRAWN_FROM for e in part.get("extension", [])):
                concept = next(c for c in part["concept"] if (part["system"], c["code"]) not in own)
                found.append((vs["id"], part["system"], concept["code"]))
                break
    return found


def test_every_value_set_drawing_on_a_published_set_says_which_and_recognises_its_codes():
    kb = load()
    cases = published_only()
    assert len(cases) >= 25  # most of our value sets draw on at least one published set
    for name, system, code in cases:
        vs = json.loads((ROOT / f"fhir_profiles/ValueSet/{name}.json").read_text())
        assert "Draws on published value sets:" in vs["description"], name
        assert normalise(system, code) in kb.vs(name), (name, system, code)


@pytest.mark.parametrize(
    ("resources", "topic", "indicator"),
    [
        pytest.param(
            [lbp(onset_days=200), condition(SCT, "832007", "Moderate major depression")],
            "depression-screening",
            None,
            id="moderate-major-depression-832007-needs-no-screening",
        ),
        pytest.param(
            [lbp(onset_days=200), condition(ICD, "F33.1", "Major depressive disorder, recurrent, moderate")],
            "depression-screening",
            None,
            id="recurrent-major-depression-needs-no-screening",
        ),
        pytest.param(
            [
                lbp(),
                med_request("1049621", "oxycodone 5 MG"),
                condition(SCT, "12898000", "Poisoning caused by pentazocine", onset_days=900, status="resolved"),
            ],
            "opioid-risk",
            Indicator.CRITICAL,
            id="snomed-opioid-poisoning-is-a-prior-overdose",
        ),
        pytest.param(
            [
                lbp(),
                med_request("1049621", "oxycodone 5 MG"),
                condition(SCT, "25472008", "Sickle cell-hemoglobin D disease"),
            ],
            "opioid-risk",
            None,
            id="sickle-cell-variant-excludes-opioid-cards",
        ),
        pytest.param(
            [lbp(onset_days=10), condition(ICD, "C81.00", "Hodgkin lymphoma")],
            "red-flags",
            Indicator.WARNING,
            id="lymphoma-is-a-cancer-red-flag",
        ),
        pytest.param(
            [lbp(), med_request("1049621", "oxycodone 5 MG"), med_request("387007", "clonazepam 0.1 MG/ML")],
            "opioid-benzodiazepine",
            Indicator.CRITICAL,
            id="clonazepam-solution-is-a-benzodiazepine",
        ),
        pytest.param(
            [lbp(), med_request("1049621", "oxycodone 5 MG"), med_request("312590", "prazepam 10 MG")],
            "opioid-benzodiazepine",
            Indicator.CRITICAL,
            id="prazepam-is-a-benzodiazepine",
        ),
        pytest.param(
            [lbp(), med_request("1049589", "ibuprofen 400 MG / oxycodone 5 MG")],
            "opioid-risk",
            Indicator.WARNING,
            id="ibuprofen-oxycodone-is-an-opioid",
        ),
        pytest.param(
            [
                lbp(),
                med_request("1049621", "oxycodone 5 MG", dosage(4, "TAB", 4, 1, "d")),
                med_request("1725064", "naloxone 40 MG/ML Nasal Spray [Narcan]", authored_days=100),
            ],
            "naloxone",
            None,
            id="narcan-branded-naloxone-is-naloxone-on-record",
        ),
    ],
)
def test_a_code_only_the_published_expansion_has_fires_the_rule(resources, topic, indicator):
    card = by_topic(cards_for(resources)).get(topic)
    assert (card.indicator if card else None) == indicator


def test_imaging_for_a_lymphoma_patient_is_not_overuse():
    lymphoma = condition(ICD, "C81.00", "Hodgkin lymphoma")
    cards = by_topic(
        cards_for(
            [lbp(onset_days=10), lymphoma],
            hook="order-select",
            drafts=[service_request("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar")],
        )
    )
    assert "imaging-overuse" not in cards and "red-flags" in cards


def test_skin_cancer_stays_out_and_buprenorphine_naloxone_is_no_rescue_kit():
    kb = load()
    assert (ICD, "C4491") not in kb.vs("malignancy")
    assert (RXNORM, "1010600") not in kb.vs("naloxone")  # buprenorphine 2 MG / naloxone 0.5 MG Sublingual Film


@pytest.mark.parametrize(
    ("code", "display", "dose", "expected"),
    [
        pytest.param(
            "892643",
            "morphine sulfate 200 MG ER Oral Capsule",
            dosage(1, "CAP", 1, 12, "h"),
            400,
            id="morphine-er-200-mg-capsule-q12h-is-400",
        ),
        pytest.param(
            "1049589",
            "ibuprofen 400 MG / oxycodone 5 MG Oral Tablet",
            dosage(1, "TAB", 4, 1, "d"),
            30,
            id="combination-tablet-counts-its-opioid-only",
        ),
        pytest.param(
            "1049604",
            "oxycodone 1 MG/ML Oral Solution",
            dosage(5, "mL", 4, 1, "d"),
            30,
            id="oral-solution-5-ml-qid-at-1-mg-per-ml-is-30",
        ),
        pytest.param(
            "991147",
            "methadone 10 MG/ML Oral Solution",
            dosage(1, "mL", 3, 1, "d"),
            141,
            id="methadone-solution-per-ml-factor-4.7",
        ),
        pytest.param(
            "583490",
            "72 HR fentanyl 0.012 MG/HR Transdermal System [Duragesic]",
            dosage(1, "{patch}", 1, 72, "h"),
            28.8,
            id="branded-fentanyl-patch-per-hour-12-mcg-is-28.8",
        ),
        pytest.param(
            "897658",
            "hydromorphone 1 MG/ML Oral Solution [Dilaudid]",
            dosage(2, "mL", 6, 1, "d"),
            60,
            id="branded-hydromorphone-solution-factor-5",
        ),
    ],
)
def test_mme_for_products_only_omtk_lists(code, display, dose, expected):
    assert code not in {
        e["code"]
        for e in json.loads((ROOT / "fhir_profiles/ConceptMap/opioid-products.json").read_text())["group"][0]["element"]
    }
    card = by_topic(cards_for([lbp(), med_request(code, display, dose)]))["opioid-risk"]
    assert card.mme == expected


def test_depression_and_its_statement_name_no_screening_for_brenda_like_records():
    """Brenda Jackson's pattern: chronic pain, an opioid, moderate major depression from the expansion."""
    cards = by_topic(
        cards_for(
            [
                lbp(onset_days=900),
                med_statement("1049621", "oxycodone 5 MG"),
                condition(SCT, "832007", "Moderate major depression"),
            ]
        )
    )
    assert "depression-screening" not in cards
    assert "Moderate major depression" in cards["opioid-risk"].detail


def test_an_ssri_product_from_the_antidepressant_expansion_is_an_nsaid_caution():
    card = by_topic(cards_for([lbp(), med_request("312938", "sertraline 100 MG Oral Tablet")]))["nsaid-first-line"]
    assert "SSRI/SNRI: sertraline 100 MG Oral Tablet" in card.detail
