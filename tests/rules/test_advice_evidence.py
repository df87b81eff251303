"""The advice cards' evidence at its edges: acetaminophen's hepatic risks, depression screening, naloxone's risk
factors and what counts as naloxone on record (clinical reference 4.2, 8, 5.7)."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, PATIENT_ID, SCT, ago, dosage, lbp, med_request, med_statement, observation

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
HEART_FAILURE = {
    "resourceType": "Condition",
    "id": "hf",
    "subject": SUBJECT,
    "onsetDateTime": ago(300),
    "code": {"coding": [{"system": ICD, "code": "I50.9", "display": "Heart failure"}]},
}


def cond(code, display, system=ICD, status="active", abated=None, rid=None):
    res = {
        "resourceType": "Condition",
        "id": rid or f"c-{code}-{status}",
        "subject": SUBJECT,
        "onsetDateTime": ago(300),
        "code": {"coding": [{"system": system, "code": code} | ({"display": display} if display else {})]},
    }
    if status:
        res["clinicalStatus"] = {"coding": [{"code": status}]}
    if abated is not None:
        res["abatementDateTime"] = ago(abated)
    return res


@pytest.mark.parametrize(
    ("resources", "risks"),
    [
        pytest.param(
            [cond("K70.30", "Alcoholic cirrhosis")],
            [f"liver disease: Alcoholic cirrhosis (onset {ago(300)})"],
            id="cirrhosis-named-with-its-onset",
        ),
        pytest.param([cond("K70.30", "Alcoholic cirrhosis", status="resolved")], [], id="resolved-liver-disease"),
        pytest.param([cond("K70.30", "Alcoholic cirrhosis", status=None, abated=5)], [], id="abated-liver-disease"),
        pytest.param(
            [cond("F10.20", "Alcohol dependence")],
            [f"alcohol dependence: Alcohol dependence (onset {ago(300)})"],
            id="alcohol-dependence-named-with-its-onset",
        ),
        pytest.param(
            [cond("F10.20", "Alcohol dependence", status="remission")], [], id="alcohol-dependence-in-remission"
        ),
        pytest.param(
            [observation("1742-6", 121, "U/L", days=10, high=40)],
            [f"ALT 121 U/L on {ago(10)} (above 120)"],
            id="alt-121-above-3-times-40",
        ),
        pytest.param([observation("1742-6", 120, "U/L", days=10, high=40)], [], id="alt-120-is-3-times-40-not-above"),
        pytest.param(
            [observation("1742-6", 200, days=10)], [f"ALT 200 on {ago(10)} (above 120)"], id="alt-without-unit-or-range"
        ),
        pytest.param([observation("1742-6", 200, "U/L", days=400)], [], id="alt-over-a-year-old"),
    ],
)
def test_hepatic_risks_that_lower_the_acetaminophen_cap(resources, risks):
    card = by_topic(cards_for([lbp(), HEART_FAILURE, *resources]))["acetaminophen-alternative"]
    found = [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]
    assert found == risks
    assert card.summary.endswith("(hepatic risk)") is bool(risks)
    assert bool(card.override_reasons) is bool(risks)
    cap = 2000 if risks else 3000
    order = card.suggestions[0].actions[0].resource
    assert order["dosageInstruction"][0]["text"].endswith(f"({cap:,} mg) a day from all sources")


def test_acetaminophen_products_already_taken_are_named_to_count_toward_the_total():
    card = by_topic(
        cards_for([lbp(), HEART_FAILURE, med_request("313782", "acetaminophen 325 MG Oral Tablet", authored_days=12)])
    )["acetaminophen-alternative"]
    assert (
        f"Acetaminophen already taken, to count toward the daily total: acetaminophen 325 MG Oral "
        f"Tablet (last ordered {ago(12)}) (no structured dose)."
    ) in card.detail


@pytest.mark.parametrize(
    ("resources", "summary"),
    [
        pytest.param([], "Chronic back pain: screen for depression (PHQ-9)", id="never-screened"),
        pytest.param([observation("44261-6", 12, days=30)], "Positive depression screen: PHQ-9 12", id="phq9-12"),
        pytest.param([observation("44261-6", 4, days=30)], None, id="phq9-4-negative"),
        pytest.param(
            [observation("44261-6", None, days=5, value_code=(SCT, "x")), observation("44261-6", 12, days=30)],
            "Positive depression screen: PHQ-9 12",
            id="a-phq9-without-a-score-is-passed-over",
        ),
        pytest.param(
            [observation("55758-7", 3, days=30)], "Positive PHQ-2 (3): complete a PHQ-9", id="phq2-3-positive"
        ),
        pytest.param([observation("55758-7", 2, days=30)], None, id="phq2-2-negative"),
        pytest.param(
            [observation("55758-7", None, days=5, value_code=(SCT, "x")), observation("55758-7", 3, days=30)],
            "Positive PHQ-2 (3): complete a PHQ-9",
            id="a-phq2-without-a-score-is-passed-over",
        ),
        pytest.param(
            [observation("44261-6", 4, days=10), observation("55758-7", 5, days=5)],
            None,
            id="a-negative-phq9-answers-the-question-before-a-phq2",
        ),
        pytest.param([cond("35489007", "Depressive disorder", SCT)], None, id="known-depression-needs-no-screen"),
        pytest.param(
            [cond("35489007", "Depressive disorder", SCT, status="remission")],
            "Chronic back pain: screen for depression (PHQ-9)",
            id="depression-in-remission-screen-again",
        ),
    ],
)
def test_depression_screening(resources, summary):
    card = by_topic(cards_for([lbp(onset_days=200), *resources])).get("depression-screening")
    assert (card.summary if card else None) == summary


OXY = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 4))


def dated(name):
    return [f"{name} (onset {ago(300)})"]


NALOXONE = ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")


@pytest.mark.parametrize(
    ("resources", "risks"),
    [
        pytest.param(
            [cond("F11.20", "", status="remission")],
            dated("opioid use disorder"),
            id="opioid-use-disorder-in-remission-without-display-named-once-by-its-concept",
        ),
        pytest.param([cond("F15.20", "")], dated("drug use disorder"), id="stimulant-use-disorder-without-display"),
        pytest.param([cond("T40.2X1A", "")], dated("prior opioid overdose"), id="opioid-poisoning-without-display"),
        pytest.param(
            [cond("1148649003", "Opioid poisoning", SCT, status="resolved")],
            dated("Opioid poisoning"),
            id="past-overdose",
        ),
        pytest.param(
            [cond("F10.20", "Alcohol dependence", status="remission")],
            dated("Alcohol dependence"),
            id="alcohol-use-disorder-at-any-status",
        ),
        pytest.param(
            [cond("78275009", "Obstructive sleep apnea", SCT)], dated("Obstructive sleep apnea"), id="sleep-apnea"
        ),
        pytest.param([cond("78275009", "Obstructive sleep apnea", SCT, status="resolved")], None, id="apnea-resolved"),
        pytest.param(
            [med_request("308047", "alprazolam 0.25 MG Oral Tablet", authored_days=30)],
            [f"benzodiazepine: alprazolam 0.25 MG Oral Tablet (last ordered {ago(30)})"],
            id="benzodiazepine",
        ),
    ],
)
def test_naloxone_risk_factors_as_named(resources, risks):
    """Each risk factor with its onset or recorded date (clinical reference 0.10 item 9)."""
    card = by_topic(cards_for([lbp(onset_days=200), OXY, *resources])).get("naloxone")
    found = [line[2:] for line in card.detail.splitlines() if line.startswith("- ")] if card else None
    assert found == risks
    if card:  # and cites the entries it names (issue 25)
        assert {f"{r['resourceType']}/{r['id']}" for r in resources} <= set(cite(*card.evidence))


@pytest.mark.parametrize(
    ("naloxone", "offered"),
    [
        pytest.param(med_request(*NALOXONE, status="active", authored_days=1000), False, id="active-order-at-any-age"),
        pytest.param(
            med_request(*NALOXONE, status="entered-in-error", authored_days=10),
            True,
            id="entered-in-error-order-is-not-naloxone",
        ),
        pytest.param(med_request(*NALOXONE, status="stopped", authored_days=10), False, id="recent-order-even-stopped"),
        pytest.param(med_statement(*NALOXONE, start_days=900), False, id="statement-still-current"),
        pytest.param(
            med_statement(*NALOXONE, start_days=900, end_days=800), True, id="old-statement-is-no-naloxone-on-hand"
        ),
    ],
)
def test_what_counts_as_naloxone_on_record(naloxone, offered):
    found = by_topic(cards_for([lbp(onset_days=200), OXY, med_request("308047", "alprazolam 0.25 MG"), naloxone]))
    assert ("naloxone" in found) is offered
