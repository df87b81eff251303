"""What the opioid-risk card says of the record (clinical reference 5.3): each risk factor named with its evidence
and counted only while current, long-term use, new opioids in acute pain, ER/LA starts in the opioid-naive."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, PATIENT_ID, SCT, ago, dosage, lbp, med_request, med_statement, observation, patient

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
OXY = ("1049621", "oxycodone 5 MG Oral Tablet")
OXY_ER = ("1049502", "12 HR oxycodone 10 MG Extended Release Oral Tablet")
FENTANYL = ("197696", "fentanyl 0.025 MG/HR Transdermal System")


def cond(code, display, system=ICD, status="active", abated=None):
    res = {
        "resourceType": "Condition",
        "id": f"c-{code}-{status}-{abated}",
        "subject": SUBJECT,
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "onsetDateTime": ago(300),
    }
    if status:
        res["clinicalStatus"] = {"coding": [{"code": status}]}
    if abated is not None:
        res["abatementDateTime"] = ago(abated)
    return res


def risk_line(*resources, age=45, onset=200):
    detail = by_topic(
        cards_for(
            [lbp(onset_days=onset), med_request(*OXY, dosage(1, "TAB", 4), authored_days=30), *resources],
            pt=patient(age=age),
        )
    )["opioid-risk"].detail
    found = [line for line in detail.splitlines() if line.startswith("- Risk factors for opioid harm: ")]
    return found[0].removeprefix("- Risk factors for opioid harm: ") if found else None


@pytest.mark.parametrize(
    ("resource", "said"),
    [
        pytest.param(
            cond("35489007", "Depressive disorder", SCT), f"Depressive disorder (onset {ago(300)}).", id="depression"
        ),
        pytest.param(
            cond("35489007", "Depressive disorder", SCT, status="remission"),
            None,
            id="depression-in-remission-is-not-current",
        ),
        pytest.param(
            cond("35489007", "Depressive disorder", SCT, status=None, abated=10), None, id="depression-abated"
        ),
        pytest.param(observation("44261-6", 15, days=30), f"PHQ-9 15 on {ago(30)}.", id="phq9-15-names-score-and-date"),
        pytest.param(observation("44261-6", 15, days=400), None, id="phq9-over-a-year-old-is-not-counted"),
        pytest.param(
            cond("78275009", "Obstructive sleep apnea", SCT),
            f"Obstructive sleep apnea (onset {ago(300)}).",
            id="sleep-apnea",
        ),
        pytest.param(cond("78275009", "Obstructive sleep apnea", SCT, status="resolved"), None, id="resolved-apnea"),
        pytest.param(cond("N18.4", "CKD stage 4"), f"CKD stage 4 (onset {ago(300)}).", id="severe-kidney-disease"),
        pytest.param(cond("N18.4", "CKD stage 4", status=None, abated=3), None, id="kidney-disease-abated"),
        pytest.param(
            cond("B18.2", "Chronic hepatitis C"), f"Chronic hepatitis C (onset {ago(300)}).", id="liver-disease"
        ),
        pytest.param(cond("B18.2", "Chronic hepatitis C", status="resolved"), None, id="resolved-liver-disease"),
        pytest.param(
            med_request("310431", "gabapentin 100 MG Oral Capsule"),
            f"gabapentin 100 MG Oral Capsule (last ordered {ago(5)}): CNS depressant.",
            id="gabapentin-is-a-cns-depressant",
        ),
        pytest.param(
            med_statement("828320", "cyclobenzaprine 5 MG Oral Tablet", start_days=100, end_days=2),
            None,
            id="muscle-relaxant-statement-ended-is-not-current",
        ),
        pytest.param(
            med_request("828320", "cyclobenzaprine 5 MG Oral Tablet"),
            f"cyclobenzaprine 5 MG Oral Tablet (last ordered {ago(5)}): CNS depressant.",
            id="cyclobenzaprine",
        ),
    ],
)
def test_each_opioid_risk_factor_as_the_card_names_it(resource, said):
    """Named with its evidence and date (clinical reference 0.10 item 9)."""
    assert risk_line(resource) == said


def test_risk_factors_are_listed_once_each_in_alphabetical_order():
    found = risk_line(
        cond("N18.4", "CKD stage 4"),
        cond("35489007", "Depressive disorder", SCT),
        cond("35489007", "Depressive disorder", SCT) | {"id": "again"},
        age=70,
    )
    assert found == f"CKD stage 4 (onset {ago(300)}); Depressive disorder (onset {ago(300)}); age 70."


def points(*resources, onset=200):
    detail = by_topic(cards_for([lbp(onset_days=onset), *resources]))["opioid-risk"].detail
    return [line[2:] for line in detail.splitlines() if line.startswith("- ") and "MME" not in line]


@pytest.mark.parametrize(
    ("resources", "onset", "expected"),
    [
        pytest.param(
            [med_request(*OXY, dosage(1, "TAB", 4), authored_days=5)],
            10,
            "New opioid for acute back pain",
            id="opioid-started-after-acute-onset-is-new",
        ),
        pytest.param(
            [med_request(*OXY, dosage(1, "TAB", 4), authored_days=10)],
            10,
            "New opioid for acute back pain",
            id="opioid-started-on-the-onset-day-is-new",
        ),
        pytest.param(
            [med_request(*OXY, dosage(1, "TAB", 4), authored_days=11)],
            10,
            None,
            id="opioid-started-the-day-before-onset-is-not-new",
        ),
        pytest.param(
            [med_request(*OXY, dosage(1, "TAB", 4), authored_days=5)], 60, None, id="subacute-pain-gets-no-acute-point"
        ),
        pytest.param(
            [med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20)],
            200,
            "Extended-release/long-acting 12 HR oxycodone",
            id="er-oxycodone-started-naive",
        ),
        pytest.param(
            [med_request(*FENTANYL, dosage(1, "{patch}", 1, 3, "d"), authored_days=20)],
            200,
            "Extended-release/long-acting fentanyl",
            id="a-transdermal-patch-is-long-acting",
        ),
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_request(*OXY, dosage(1, "TAB", 4), status="completed", authored_days=60),
            ],
            200,
            None,
            id="er-after-immediate-release-40-days-before-is-not-naive",
        ),
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_request(*OXY, dosage(1, "TAB", 4), status="completed", authored_days=111),
            ],
            200,
            "Extended-release/long-acting 12 HR oxycodone",
            id="opioid-91-days-before-the-er-start-is-naive",
        ),
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_request(*OXY, dosage(1, "TAB", 4), status="completed", authored_days=110),
            ],
            200,
            None,
            id="opioid-90-days-before-the-er-start-is-within-the-window",
        ),
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_statement(*OXY, start_days=300, end_days=100),
            ],
            200,
            None,
            id="statement-ending-80-days-before-the-er-start-is-not-naive",
        ),
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_request(*OXY, dosage(1, "TAB", 4), status="entered-in-error", authored_days=60),
            ],
            200,
            "Extended-release/long-acting 12 HR oxycodone",
            id="entered-in-error-order-is-no-use",
        ),
        *[
            pytest.param(
                [
                    med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                    med_statement(*OXY, status=status, start_days=60, end_days=30),
                ],
                200,
                "Extended-release/long-acting 12 HR oxycodone",
                id=f"an-opioid-statement-{status}-is-no-use",
            )
            for status in ("entered-in-error", "cancelled", "draft", "not-taken", "intended")
        ],
        pytest.param(
            [
                med_request(*OXY_ER, dosage(1, "TAB", 2), authored_days=20),
                med_statement(*OXY, status="completed", start_days=60, end_days=30),
            ],
            200,
            None,
            id="a-completed-opioid-statement-is-use",
        ),
    ],
)
def test_what_the_card_says_about_how_the_opioid_is_used(resources, onset, expected):
    found = [p for p in points(*resources, onset=onset) if not p.startswith(("Risk factors", "Long-term"))]
    if expected is None:
        assert not found, found
    else:
        assert len(found) == 1 and found[0].startswith(expected), found
