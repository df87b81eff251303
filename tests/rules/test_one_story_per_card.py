"""One story per opioid card, and "started for this episode" by therapy (clinical reference 0.10 items 8, 9, 18): a
therapy is the run of entries of one ingredient with no gap over 90 days; long-term names the ingredient and its first
date and excludes "opioid-naive" and "new"; an order for another condition is not back-pain treatment."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import SCT, ago, dosage, lbp, med_request, med_statement

OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
OXY_ER = ("1049502", "12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet")
OXYCONTIN = ("1049504", "Abuse-Deterrent 12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet [Oxycontin]")
FENTANYL = ("245134", "72 HR fentanyl 0.025 MG/HR Transdermal System")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
ANXIETY = (SCT, "197480006")  # anxiety disorder
LBP = (SCT, "279039007")


def risk_detail(chart, drafts=(), onset=10):
    hook = "order-sign" if drafts else "patient-view"
    return by_topic(cards_for([lbp(onset_days=onset), *chart], hook=hook, drafts=list(drafts)))["opioid-risk"].detail


def coded_twice(generic, brand, days):
    """One order coded with both the generic and the branded product (as EHRs send SCD and SBD together)."""
    order = med_request(*generic, authored_days=days)
    order["medicationCodeableConcept"]["coding"].append(
        {**order["medicationCodeableConcept"]["coding"][0], "code": brand[0], "display": brand[1]}
    )
    return order


def draft(code, display, dose=None):
    return med_request(code, display, dose, status="draft", rid="d-1", authored_days=900)


@pytest.mark.parametrize(
    ("chart", "drafts", "said", "not_said"),
    [
        pytest.param(
            [med_request(*OXY_5, authored_days=d) for d in (900, 810, 720, 630, 540, 450, 360, 270, 180, 90, 5)],
            [],
            f"Long-term therapy: oxycodone since {ago(900)}",
            ("opioid-naive", "New opioid"),
            id="renewals-every-90-days-are-one-therapy-named-by-ingredient-and-first-date",
        ),
        pytest.param(
            [med_request(*OXY_ER, authored_days=900)],
            [draft(*OXY_5)],
            f"Long-term therapy: oxycodone since {ago(900)}",
            ("oxycodone hydrochloride 5 MG Oral Tablet since", "New opioid", "opioid-naive"),
            id="a-product-drafted-now-is-never-named-long-term-the-ingredient-is",
        ),
        pytest.param(
            [med_request(*FENTANYL, dosage(1, "{patch}", 1, 3, "d"), authored_days=400)],
            [draft(*OXY_5)],
            f"Long-term therapy: fentanyl since {ago(400)}",
            ("New opioid for acute back pain", "opioid-naive"),
            id="a-patient-on-a-fentanyl-patch-is-not-told-new-opioid-for-acute-pain",
        ),
        pytest.param(
            [med_request(*OXY_5, status="completed", authored_days=300)],
            [draft(*OXY_5)],
            "New opioid for acute back pain",
            ("Long-term",),
            id="a-gap-over-90-days-ends-the-therapy-the-draft-is-new",
        ),
        pytest.param(
            [med_request(*OXY_5, status="completed", authored_days=95), med_request(*OXY_5, authored_days=5)],
            [],
            f"Long-term therapy: oxycodone since {ago(95)}",
            ("New opioid",),
            id="a-gap-of-exactly-90-days-is-still-one-therapy",
        ),
        pytest.param(
            [med_request(*OXY_5, status="completed", authored_days=96), med_request(*OXY_5, authored_days=5)],
            [],
            "Opioids are third-line",
            ("Long-term",),
            id="a-gap-of-91-days-starts-a-new-therapy",
        ),
        pytest.param(
            [],
            [draft(*OXY_ER)],
            "opioid-naive",
            ("Long-term",),
            id="an-er-draft-without-opioid-use-is-an-opioid-naive-start-not-long-term",
        ),
        pytest.param(
            [med_request(*OXY_ER, status="completed", authored_days=200)],
            [draft(*OXY_ER)],
            "opioid-naive",
            ("Long-term",),
            id="an-er-draft-of-a-product-last-taken-200-days-ago-starts-today-in-an-opioid-naive-patient",
        ),
        pytest.param(
            [med_request(*OXY_ER, status="completed", authored_days=170), coded_twice(OXY_ER, OXYCONTIN, 85)],
            [],
            f"Long-term therapy: oxycodone since {ago(170)}",
            ("New opioid",),
            id="an-order-coded-as-generic-and-brand-continues-the-therapy-of-its-ingredient",
        ),
    ],
)
def test_one_story_per_opioid_card(chart, drafts, said, not_said):
    detail = risk_detail(chart, drafts)
    assert said in detail and detail.count("Long-term therapy") <= 1
    assert not [phrase for phrase in not_said if phrase in detail]


def not_recommended(chart, onset=200):
    card = by_topic(cards_for([lbp(onset_days=onset), *chart])).get("not-recommended-treatment")
    return card.detail if card else None


def statement(code, display, start_days, reason=None):
    res = med_statement(code, display, start_days=start_days)
    if reason:
        res["reasonCode"] = [{"coding": [{"system": reason[0], "code": reason[1]}]}]
    return res


@pytest.mark.parametrize(
    ("chart", "listed"),
    [
        pytest.param(
            [statement(*ALPRAZOLAM, 3650), med_request(*ALPRAZOLAM, authored_days=30)],
            False,
            id="alprazolam-taken-since-before-the-back-pain-and-renewed-last-month-is-not-started-for-it",
        ),
        pytest.param(
            [med_request(*ALPRAZOLAM, authored_days=30, reason=ANXIETY)],
            False,
            id="an-order-whose-reason-is-anxiety-is-for-anxiety-not-back-pain",
        ),
        pytest.param(
            [med_request(*ALPRAZOLAM, authored_days=30)], True, id="started-after-onset-without-reason-is-listed"
        ),
        pytest.param(
            [med_request(*ALPRAZOLAM, authored_days=400, reason=LBP)],
            True,
            id="ordered-for-back-pain-is-listed-whenever-started",
        ),
        pytest.param(
            [
                med_request(*ALPRAZOLAM, status="completed", authored_days=600),
                med_request(*ALPRAZOLAM, authored_days=30),
            ],
            True,
            id="a-gap-over-90-days-makes-the-new-order-a-new-therapy-started-for-this-episode",
        ),
    ],
)
def test_not_recommended_means_started_for_this_back_pain(chart, listed):
    assert (not_recommended(chart) is not None) is listed


def test_a_drug_is_named_the_same_way_on_every_card():
    """Never "(current)" on one card and "last ordered ..., still taking it?" on another (0.10 item 9)."""
    chart = [med_request(*OXY_5, dosage(1, "TAB", 4)), med_request(*ALPRAZOLAM, authored_days=30)]
    found = by_topic(cards_for([lbp(onset_days=200), *chart]))
    label = f"alprazolam 0.25 MG Oral Tablet (last ordered {ago(30)})"
    assert label in found["not-recommended-treatment"].detail and label in found["opioid-benzodiazepine"].detail
    assert "(current)" not in found["not-recommended-treatment"].detail


@pytest.mark.parametrize(
    ("reference", "listed"),
    [
        pytest.param("Condition/anxiety-1", False, id="reason-reference-to-another-condition-is-for-that-condition"),
        pytest.param("Condition/lbp-1", True, id="reason-reference-to-the-back-pain-condition-is-for-back-pain"),
    ],
)
def test_reason_reference_says_what_an_order_is_for(reference, listed):
    order = med_request(*ALPRAZOLAM, authored_days=400) | {"reasonReference": [{"reference": reference}]}
    card = by_topic(cards_for([lbp(onset_days=200) | {"id": "lbp-1"}, order])).get("not-recommended-treatment")
    assert (card is not None) is listed
