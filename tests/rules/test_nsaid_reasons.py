"""Each NSAID contraindication and caution (clinical reference 4.1) as the card says it: the reason, its evidence,
and which statuses count (history concepts at any status, current-state concepts only while current)."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, PATIENT_ID, RX, SCT, ago, lbp, observation, patient

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}


def bare(code, system=ICD, status="active", abated=None, display=""):
    """A Condition whose coding may carry no display: the card then names it by its concept."""
    res = {
        "resourceType": "Condition",
        "id": f"c-{code}-{status}",
        "subject": SUBJECT,
        "code": {"coding": [{"system": system, "code": code} | ({"display": display} if display else {})]},
        "clinicalStatus": {"coding": [{"code": status}]} if status else None,
        "onsetDateTime": ago(400),
    }
    if abated is not None:
        res["abatementDateTime"] = ago(abated)
    return {k: v for k, v in res.items() if v is not None}


def med(code, display, status="active", kind="MedicationRequest", ended=None):
    res = {
        "resourceType": kind,
        "id": f"m-{code}-{status}-{ended}",
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display}]},
    }
    if kind == "MedicationRequest":
        res |= {"intent": "order", "authoredOn": ago(20)}
    else:
        res["effectivePeriod"] = {"start": ago(60)} | ({"end": ago(ended)} if ended is not None else {})
    return res


def lines(resources, age=45):
    found = by_topic(cards_for([lbp(), *resources], pt=patient(age=age)))
    card = found.get("nsaid-contraindicated") or found["nsaid-first-line"]
    return card.topic, [line[2:] for line in card.detail.splitlines() if line.startswith("- ")][:3]


CONTRA, FIRST = "nsaid-contraindicated", "nsaid-first-line"


@pytest.mark.parametrize(
    ("resources", "topic", "said"),
    [
        pytest.param(
            [observation("62238-1", 25, "mL/min/{1.73_m2}", days=20)],
            CONTRA,
            f"eGFR 25 on {ago(20)} (below 30)",
            id="egfr-25-names-value-and-date",
        ),
        pytest.param(
            [observation("62238-1", 25, days=40), observation("62238-1", None, days=10, value_code=(SCT, "260385009"))],
            CONTRA,
            f"eGFR 25 on {ago(40)} (below 30)",
            id="newest-egfr-without-a-number-is-passed-over",
        ),
        pytest.param(
            [bare("N18.4")],
            CONTRA,
            f"severe kidney disease: CKD 4-5 (onset {ago(400)})",
            id="ckd4-without-display-named-by-concept",
        ),
        pytest.param([bare("N18.4", status="resolved")], FIRST, None, id="resolved-ckd4-is-not-current"),
        pytest.param([bare("N18.4", status=None, abated=30)], FIRST, None, id="ckd4-abated-a-month-ago-is-not-current"),
        pytest.param(
            [bare("K25.4", status="resolved")],
            CONTRA,
            f"history of peptic ulcer or GI bleeding: ulcer (onset {ago(400)})",
            id="resolved-ulcer-is-history-and-counts",
        ),
        pytest.param(
            [bare("I50.9")], CONTRA, f"heart failure: heart failure (onset {ago(400)})", id="heart-failure-named"
        ),
        pytest.param([bare("I50.9", status="resolved")], FIRST, None, id="resolved-heart-failure-is-not-current"),
        pytest.param([bare("I50.9", status=None, abated=1)], FIRST, None, id="heart-failure-abated-yesterday"),
        pytest.param(
            [bare("Z79.01")], CONTRA, f"anticoagulant: anticoagulant (onset {ago(400)})", id="z79.01-anticoagulant-use"
        ),
        pytest.param([bare("Z79.01", status="inactive")], FIRST, None, id="inactive-anticoagulant-use-does-not-count"),
        pytest.param(
            [med("1364445", "apixaban 5 MG Oral Tablet")],
            CONTRA,
            f"anticoagulant: apixaban 5 MG Oral Tablet (last ordered {ago(20)})",
            id="apixaban-named",
        ),
        pytest.param(
            [med("1364445", "apixaban 5 MG", kind="MedicationStatement", ended=5)],
            FIRST,
            None,
            id="apixaban-statement-ended-5-days-ago-is-not-current",
        ),
        pytest.param([med("1364445", "apixaban 5 MG", status="stopped")], FIRST, None, id="stopped-apixaban"),
        pytest.param(
            [bare("Z79.02")],
            CONTRA,
            f"P2Y12 antiplatelet: antiplatelet (onset {ago(400)})",
            id="z79.02-antiplatelet-use",
        ),
        pytest.param([bare("Z79.02", status="resolved")], FIRST, None, id="resolved-antiplatelet-use"),
        pytest.param(
            [med("309362", "clopidogrel 75 MG Oral Tablet", kind="MedicationStatement", ended=3)],
            FIRST,
            None,
            id="clopidogrel-statement-ended-3-days-ago",
        ),
        pytest.param(
            [med("309362", "clopidogrel 75 MG Oral Tablet")],
            CONTRA,
            f"P2Y12 antiplatelet: clopidogrel 75 MG Oral Tablet (last ordered {ago(20)})",
            id="clopidogrel-named",
        ),
        pytest.param(
            [bare("Z3A.24")],
            CONTRA,
            f"pregnancy: pregnant (onset {ago(400)})",
            id="pregnancy-condition-without-display",
        ),
        pytest.param([bare("Z3A.24", status="resolved")], FIRST, None, id="past-pregnancy-does-not-count"),
        pytest.param(
            [observation("82810-3", None, days=30, value_code=(SCT, "77386006"))],
            CONTRA,
            f"pregnancy status recorded on {ago(30)}",
            id="pregnancy-status-names-its-date",
        ),
        pytest.param(
            [observation("82810-3", None, days=30, value_code=(SCT, "60001007"))],
            FIRST,
            None,
            id="not-pregnant-status-does-not-count",
        ),
        pytest.param(
            [observation("2106-3", None, days=10, value_code=(SCT, "10828004"))],
            CONTRA,
            f"positive pregnancy test on {ago(10)}",
            id="positive-hcg-10-days-ago-is-pregnancy",
        ),
        pytest.param(
            [observation("2106-3", None, days=10, value_code=(SCT, "260385009"))],
            FIRST,
            None,
            id="negative-hcg-is-no-pregnancy",
        ),
        pytest.param(
            [observation("2106-3", None, days=300, value_code=(SCT, "10828004"))],
            FIRST,
            None,
            id="positive-hcg-300-days-ago-is-past-the-42-week-lookback",
        ),
        pytest.param(
            [
                {
                    "resourceType": "AllergyIntolerance",
                    "id": "a1",
                    "patient": SUBJECT,
                    "code": {"coding": [{"system": RX, "code": "5640"}]},
                }
            ],
            CONTRA,
            "NSAID or aspirin allergy: NSAID",
            id="ibuprofen-allergy",
        ),
        pytest.param(
            [
                {
                    "resourceType": "AllergyIntolerance",
                    "id": "a2",
                    "patient": SUBJECT,
                    "code": {"coding": [{"system": RX, "code": "7980"}]},
                }
            ],
            FIRST,
            None,
            id="penicillin-allergy-is-no-nsaid-allergy",
        ),
    ],
)
def test_contraindications_as_the_card_names_them(resources, topic, said):
    found_topic, found = lines(resources)
    assert found_topic == topic
    if said:
        assert found[0] == said


@pytest.mark.parametrize(
    ("resources", "age", "said"),
    [
        pytest.param([observation("62238-1", 45, days=20)], 45, [f"eGFR 45 on {ago(20)}"], id="egfr-45-names-value"),
        pytest.param(
            [observation("62238-1", 30, days=20)],
            45,
            [f"eGFR 30 on {ago(20)}"],
            id="egfr-30-is-a-caution-not-a-contraindication-(avoid-below-30)",
        ),
        pytest.param([observation("62238-1", 60, days=20)], 45, [], id="egfr-60-is-no-caution-(caution-below-60)"),
        pytest.param(
            [bare("N18.30")], 45, [f"CKD stage 3 (onset {ago(400)})"], id="ckd3-without-display-named-by-concept"
        ),
        pytest.param(
            [bare("N18.30", display="CKD 3a")], 45, [f"CKD 3a (onset {ago(400)})"], id="ckd3-named-by-its-display"
        ),
        pytest.param(
            [observation("62238-1", 45, days=20), bare("N18.30")],
            45,
            [f"eGFR 45 on {ago(20)}"],
            id="egfr-caution-named-once-not-with-the-ckd3-diagnosis-too",
        ),
        pytest.param([bare("N18.30", status="resolved")], 45, [], id="resolved-ckd3-is-no-caution"),
        pytest.param(
            [bare("I25.10", status="resolved")],
            45,
            [f"cardiovascular disease: cardiovascular disease (onset {ago(400)})"],
            id="cardiovascular-disease-is-history-any-status",
        ),
        pytest.param(
            [med("243670", "aspirin 81 MG Oral Tablet")],
            45,
            [f"low-dose aspirin: aspirin 81 MG Oral Tablet (last ordered {ago(20)})"],
            id="low-dose-aspirin",
        ),
        pytest.param(
            [med("312617", "prednisone 5 MG Oral Tablet")],
            45,
            [f"systemic corticosteroid: prednisone 5 MG Oral Tablet (last ordered {ago(20)})"],
            id="prednisone",
        ),
        pytest.param(
            [med("596930", "duloxetine 30 MG Delayed Release Oral Capsule")],
            45,
            [f"SSRI/SNRI: duloxetine 30 MG Delayed Release Oral Capsule (last ordered {ago(20)})"],
            id="duloxetine-snri-named-with-its-date",
        ),
        pytest.param(
            [med("596930", "duloxetine 30 MG", kind="MedicationStatement", ended=2)],
            45,
            [],
            id="duloxetine-statement-ended-is-no-caution",
        ),
        pytest.param([], 70, ["age 70 (Beers: avoid chronic use; consider a proton-pump inhibitor)"], id="age-70"),
        pytest.param([], 45, [], id="nothing-no-caution"),
    ],
)
def test_cautions_as_the_card_names_them(resources, age, said):
    card = by_topic(cards_for([lbp(), *resources], pt=patient(age=age)))["nsaid-first-line"]
    cautions = (
        [line[2:] for line in card.detail.split("**Use with caution**")[-1].splitlines() if line.startswith("- ")]
        if "**Use with caution**" in card.detail
        else []
    )
    assert cautions == said
    assert card.summary.endswith("(with cautions)") is bool(said)


@pytest.mark.parametrize(
    ("egfr", "age", "cited"),
    [
        pytest.param(45, 45, ["Observation/e1"], id="egfr-45-a-caution-cites-the-lab"),
        pytest.param(60, 45, [], id="egfr-60-is-no-caution-and-is-not-cited"),
        pytest.param(None, 70, [f"Patient/{PATIENT_ID}"], id="age-70-a-caution-cites-the-patient"),
        pytest.param(None, 64, [], id="age-64-is-no-caution-and-the-patient-is-not-cited"),
    ],
)
def test_a_caution_cites_the_entry_it_rests_on(egfr, age, cited):
    labs = [observation("62238-1", egfr, days=20) | {"id": "e1"}] if egfr is not None else []
    card = by_topic(cards_for([lbp(), *labs], pt=patient(age=age)))["nsaid-first-line"]
    found = [ref for ref in cite(*card.evidence) if not ref.startswith("Condition/")]  # the episode's own
    assert found == cited
