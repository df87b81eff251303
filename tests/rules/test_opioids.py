"""opioid-risk (5.3), opioid-benzodiazepine (5.6), naloxone (5.7), exclusions (5.1)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, dosage, lbp, med_request, med_statement, patient, procedure

OXY = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"))  # 30 MME/day
ALPRAZOLAM = med_request("308047", "alprazolam 0.25 MG", authored_days=400)
NALOXONE = med_request("1725059", "naloxone nasal spray", status="completed", authored_days=300)


def indicators(*resources, pt=None):
    return {t: c.indicator for t, c in by_topic(cards_for([lbp(), *resources], pt=pt)).items()}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([], None, id="no-opioid-no-card"),
        pytest.param([OXY], Indicator.WARNING, id="current-opioid-warning"),
        pytest.param(
            [OXY, condition(ICD, "F11.20", "Opioid dependence", status="resolved")],
            Indicator.CRITICAL,
            id="opioid-use-disorder-any-status-critical",
        ),
        pytest.param(
            [OXY, condition(ICD, "T40.2X1A", "Poisoning by other opioids")],
            Indicator.CRITICAL,
            id="prior-overdose-critical",
        ),
        pytest.param(
            [med_request("1010604", "buprenorphine/naloxone SL film", dosage(1, "{film}", 1, 1, "d"))],
            None,
            id="buprenorphine-for-oud-is-not-an-analgesic",
        ),
        pytest.param([OXY, condition(ICD, "D57.1", "Sickle-cell disease")], None, id="sickle-cell-excluded"),
        pytest.param([OXY, condition(SCT, "385763009", "Hospice care")], None, id="hospice-condition-excluded"),
        pytest.param(
            [OXY, procedure(SCT, "385763009", "Hospice care", status="in-progress")],
            None,
            id="hospice-procedure-excluded",
        ),
        pytest.param(
            [OXY, condition(ICD, "Z85.46", "History of prostate cancer")],
            Indicator.WARNING,
            id="cancer-history-alone-does-not-exclude",
        ),
    ],
)
def test_opioid_risk(resources, expected):
    assert indicators(*resources).get("opioid-risk") == expected


@pytest.mark.parametrize(
    ("old", "long_term"),
    [
        pytest.param(
            med_request("1049621", "oxycodone 5 MG", status="active", authored_days=200),
            True,
            id="an-order-200-days-ago-still-active-is-continuous-use",
        ),
        pytest.param(
            med_request("1049621", "oxycodone 5 MG", status="completed", authored_days=200),
            False,
            id="a-completed-order-195-days-before-the-next-is-a-gap-over-90-days-not-continuous",
        ),
    ],
)
def test_long_term_use_and_risk_factors_are_talking_points(old, long_term):
    """Long-term means continuous use: a run of orders with no gap over 90 days (0.10 items 8, 18)."""
    card = by_topic(
        cards_for([lbp(), OXY, old, condition(ICD, "G47.33", "Obstructive sleep apnea")], pt=patient(age=70))
    )["opioid-risk"]
    assert ("Long-term therapy" in card.detail) is long_term
    assert "Obstructive sleep apnea" in card.detail and "age 70" in card.detail


ER_START = med_request("1049502", "12 HR oxycodone 10 MG ER", dosage(1, "TAB", 1, 12, "h"), authored_days=3)


@pytest.mark.parametrize(
    ("history", "naive"),
    [
        pytest.param([], True, id="no-earlier-opioid-is-naive"),
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", status="completed", authored_days=60)],
            False,
            id="immediate-release-started-60-days-before-is-not-naive",
        ),
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", status="completed", authored_days=120)],
            True,
            id="last-start-more-than-90-days-before-is-naive",
        ),
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", status="entered-in-error", authored_days=60)],
            True,
            id="an-order-entered-in-error-is-no-use",
        ),
    ],
)
def test_extended_release_start_in_an_opioid_naive_patient_is_flagged(history, naive):
    assert ("opioid-naive" in by_topic(cards_for([lbp(), ER_START, *history]))["opioid-risk"].detail) is naive


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([OXY, ALPRAZOLAM], Indicator.CRITICAL, id="opioid-plus-benzodiazepine-critical"),
        pytest.param([ALPRAZOLAM], None, id="benzodiazepine-alone-no-card"),
        pytest.param([OXY, med_statement("197591", "diazepam 5 MG")], Indicator.CRITICAL, id="benzo-from-statement"),
        pytest.param([OXY, med_request("197591", "diazepam", status="stopped")], None, id="stopped-benzo-no-card"),
        pytest.param([OXY, ALPRAZOLAM, condition(ICD, "C50.911", "Breast cancer")], None, id="active-cancer-excluded"),
    ],
)
def test_opioid_benzodiazepine(resources, expected):
    assert indicators(*resources).get("opioid-benzodiazepine") == expected


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param([OXY], None, id="30-mme-without-risk-factor-no-naloxone-card"),
        pytest.param([OXY, ALPRAZOLAM], Indicator.WARNING, id="benzodiazepine-is-a-risk-factor"),
        pytest.param(
            [med_request("7052", "morphine", dosage(50, "mg", 1, 1, "d"))],
            Indicator.WARNING,
            id="50-mme-is-a-risk-factor",
        ),
        pytest.param(
            [OXY, condition(ICD, "F10.20", "Alcohol dependence", status="remission")],
            Indicator.WARNING,
            id="alcohol-use-disorder-any-status",
        ),
        pytest.param([OXY, condition(SCT, "78275009", "OSA")], Indicator.WARNING, id="sleep-apnea-risk-factor"),
        pytest.param([OXY, ALPRAZOLAM, NALOXONE], None, id="naloxone-ordered-within-24-months"),
        pytest.param(
            [OXY, ALPRAZOLAM, med_request("1725059", "naloxone", status="completed", authored_days=800)],
            Indicator.WARNING,
            id="naloxone-older-than-24-months-does-not-count",
        ),
    ],
)
def test_naloxone(resources, expected):
    assert indicators(*resources).get("naloxone") == expected


def test_naloxone_suggestion_creates_a_valid_r4_medication_request_for_the_patient():
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    card = by_topic(cards_for([lbp(), OXY, ALPRAZOLAM]))["naloxone"]
    resource = card.suggestions[0].actions[0].resource
    MedicationRequest.model_validate(resource)
    assert resource["subject"]["reference"] == "Patient/pt-1" and card.suggestions[0].is_recommended


def test_opioid_family_cards_carry_mme():
    cards = by_topic(cards_for([lbp(), OXY, ALPRAZOLAM]))
    assert {cards[t].mme for t in ("opioid-risk", "opioid-benzodiazepine", "naloxone")} == {30}


def ago_date(days: int) -> str:
    from tests.fhir_builders import ago

    return ago(days)


def duration(value, unit="d"):
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def supplied(days, dispense):
    """An active alprazolam order written `days` ago with this dispenseRequest (clinical reference 0.9)."""
    return med_request("308047", "alprazolam 0.25 MG", authored_days=days) | {"dispenseRequest": dispense}


@pytest.mark.parametrize(
    ("med", "says", "asks"),
    [
        pytest.param(
            med_request("308047", "alprazolam 0.25 MG", authored_days=365),
            "last ordered",
            False,
            id="ordered-a-year-ago-is-not-yet-stale",
        ),
        pytest.param(
            med_request("308047", "alprazolam 0.25 MG", authored_days=366),
            "last ordered",
            True,
            id="active-order-last-written-over-12-months-ago-asks-if-still-taken",
        ),
        pytest.param(
            med_statement("197591", "diazepam 5 MG", start_days=3000),
            "last recorded",
            False,
            id="a-statement-is-last-recorded-and-never-called-stale",
        ),
        pytest.param(
            supplied(400, {"validityPeriod": {"start": ago_date(400), "end": ago_date(0)}}),
            "last ordered",
            False,
            id="old-order-still-valid-today-is-not-stale",
        ),
        pytest.param(
            supplied(400, {"validityPeriod": {"start": ago_date(400), "end": ago_date(1)}}),
            "last ordered",
            True,
            id="old-order-whose-validity-ended-yesterday-is-stale",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(40), "numberOfRepeatsAllowed": 9}),
            "last ordered",
            False,
            id="40-days-and-9-repeats-cover-400-days-to-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(40), "numberOfRepeatsAllowed": 8}),
            "last ordered",
            True,
            id="40-days-and-8-repeats-ended-40-days-ago",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(400)}),
            "last ordered",
            False,
            id="400-days-supply-written-400-days-ago-ends-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(399)}),
            "last ordered",
            True,
            id="399-days-supply-ended-yesterday",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(58, "wk")}),
            "last ordered",
            False,
            id="58-weeks-is-406-days-reaches-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(57, "wk")}),
            "last ordered",
            True,
            id="57-weeks-is-399-days-ended-yesterday",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(1, "a")}),
            "last ordered",
            True,
            id="one-year-supply-ended-35-days-ago",
        ),
        pytest.param(
            supplied(730, {"expectedSupplyDuration": duration(2, "a")}),
            "last ordered",
            False,
            id="two-year-supply-written-730-days-ago-ends-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(14, "mo")}),
            "last ordered",
            False,
            id="14-months-of-30-days-reach-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(13, "mo")}),
            "last ordered",
            True,
            id="13-months-of-30-days-ended-10-days-ago",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(9600, "h")}),
            "last ordered",
            False,
            id="9600-hours-are-400-days",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(400 * 1440 - 1440, "min")}),
            "last ordered",
            True,
            id="399-days-in-minutes-ended-yesterday",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(400), "numberOfRepeatsAllowed": "x"}),
            "last ordered",
            False,
            id="bad-repeat-count-read-as-none-400-days-still-reach-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(-500)}),
            "last ordered",
            True,
            id="negative-supply-is-no-supply",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": {"value": "many"}}),
            "last ordered",
            True,
            id="unreadable-supply-is-no-supply",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(500, "furlong")}),
            "last ordered",
            True,
            id="unknown-duration-unit-is-no-supply",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": {"value": 400, "unit": "d"}}),
            "last ordered",
            False,
            id="a-duration-with-only-its-unit-text-is-read",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(400 * 1440, "min")}),
            "last ordered",
            False,
            id="400-days-in-minutes-reach-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(0)}),
            "last ordered",
            True,
            id="zero-days-supply-is-no-supply",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(1), "numberOfRepeatsAllowed": 399}),
            "last ordered",
            False,
            id="1-day-and-399-repeats-reach-today",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(200), "numberOfRepeatsAllowed": True}),
            "last ordered",
            True,
            id="a-boolean-repeat-count-is-no-count",
        ),
        pytest.param(
            supplied(400, {"expectedSupplyDuration": duration(200), "numberOfRepeatsAllowed": -1}),
            "last ordered",
            True,
            id="a-negative-repeat-count-is-none",
        ),
        pytest.param(
            supplied(400, {"validityPeriod": {"start": ago_date(400)}, "expectedSupplyDuration": duration(400)}),
            "last ordered",
            False,
            id="validity-without-end-falls-back-to-the-supply",
        ),
        pytest.param(supplied(400, {"validityPeriod": "2026"}), "last ordered", True, id="validity-that-is-no-period"),
    ],
)
def test_benzodiazepine_named_with_its_last_order_date(med, says, asks):
    detail = by_topic(cards_for([lbp(), OXY, med]))["opioid-benzodiazepine"].detail
    assert says in detail
    assert ("still taking it?" in detail) is asks


def test_renewals_left_active_are_named_once_with_their_count():
    renewals = [
        med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"), authored_days=d) for d in (5, 35, 65)
    ]
    cards = by_topic(cards_for([lbp(), *renewals, ALPRAZOLAM]))
    benzo = cards["opioid-benzodiazepine"].detail
    assert f"Opioid: oxycodone 5 MG (3 orders, last ordered {ago_date(5)})." in benzo and benzo.count("oxycodone") == 1
    risk = cards["opioid-risk"].detail
    # one therapy renewed monthly and left active: counted once, and the card says how many orders were folded
    assert (
        "- oxycodone 5 MG (3 active orders of the same prescription, counted once: reconcile the medication "
        f"list; last ordered {ago_date(5)}): 5 mg x 4/day"
    ) in risk  # dated as on every card (0.10 item 9)
    assert "Total: 30 MME/day" in risk and risk.count("oxycodone 5 MG (") == 1


OXY_Q6H = dosage(1, "TAB", 1, 6, "h")  # oxycodone 5 mg q6h = 30 MME/day


@pytest.mark.parametrize(
    ("chart", "drafts", "total"),
    [
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", OXY_Q6H, authored_days=d) for d in (5, 35, 65, 95)],
            [],
            30,
            id="four-identical-renewals-count-once",
        ),
        pytest.param(
            [
                med_request("1049621", "oxycodone 5 MG", OXY_Q6H, authored_days=5),
                med_request("1049621", "oxycodone 5 MG", dosage(2, "TAB", 1, 6, "h"), authored_days=35),
            ],
            [],
            90,
            id="same-product-different-dose-is-summed",
        ),
        pytest.param(
            [
                med_request("1049621", "oxycodone 5 MG", OXY_Q6H, authored_days=5),
                med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 4, "h"), authored_days=35),
            ],
            [],
            75,
            id="same-product-different-timing-is-summed",
        ),
        pytest.param(
            [
                med_request("1049621", "oxycodone 5 MG", OXY_Q6H, authored_days=5),
                med_request("1049502", "12 HR oxycodone 10 MG ER", dosage(1, "TAB", 1, 12, "h"), authored_days=5),
            ],
            [],
            60,
            id="er-and-ir-products-are-summed",
        ),
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", OXY_Q6H, authored_days=5)],
            [med_request("1049621", "oxycodone 5 MG", OXY_Q6H, status="draft", rid="d1")],
            30,
            id="a-draft-identical-to-a-chart-order-renews-and-replaces-it",
        ),
    ],
)
def test_renewals_left_active_count_once_other_orders_add(chart, drafts, total):
    hook = "order-sign" if drafts else "patient-view"
    card = by_topic(cards_for([lbp(), *chart], hook=hook, drafts=drafts))["opioid-risk"]
    assert card.mme == total


def er(authored_days=3, status="active"):
    return med_request(
        "1049502", "12 HR oxycodone 10 MG ER", dosage(1, "TAB", 1, 12, "h"), status=status, authored_days=authored_days
    )


@pytest.mark.parametrize(
    ("resources", "drafts", "naive"),
    [
        pytest.param([er(authored_days=90)], [], True, id="er-first-ordered-90-days-ago-is-still-being-started"),
        pytest.param([er(authored_days=91)], [], False, id="er-first-ordered-91-days-ago-is-not-a-start"),
        pytest.param(
            [er(authored_days=900), er(authored_days=30)],
            [],
            False,
            id="er-taken-for-years-with-a-renewal-is-long-term-not-naive",
        ),
        pytest.param([], [er(status="draft")], True, id="er-draft-with-no-opioid-on-record-is-naive"),
        pytest.param(
            [med_request("1049621", "oxycodone 5 MG", authored_days=400)],
            [er(status="draft")],
            False,
            id="er-draft-beside-a-current-ir-opioid-started-long-ago-is-not-naive",
        ),
    ],
)
def test_opioid_naive_means_an_er_la_being_started_without_recent_opioids(resources, drafts, naive):
    hook = "order-sign" if drafts else "patient-view"
    card = by_topic(cards_for([lbp(), *resources], hook=hook, drafts=drafts))["opioid-risk"]
    assert ("opioid-naive" in card.detail) is naive
