"""MME calculator (clinical reference 5.4, CDC 2022 factors) and opioid-high-dose (5.5)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, RX, condition, dosage, lbp, med_request, med_statement


def mme_of(*meds):
    cards = by_topic(cards_for([lbp(), *meds]))
    card = cards.get("opioid-risk")
    return card.mme if card else "no-card"


@pytest.mark.parametrize(
    ("med", "expected"),
    [
        pytest.param(
            med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h")), 30, id="oxycodone-5mg-q6h-is-30"
        ),
        pytest.param(
            med_request("245134", "fentanyl 25 mcg/h patch", dosage(1, "PATCH", 1, 72, "h")),
            60,
            id="fentanyl-25mcg-patch-is-60-whatever-the-change-interval",
        ),
        pytest.param(
            med_request("4337", "fentanyl", dosage(25, "ug/h", 1, 72, "h")), 60, id="fentanyl-dose-sent-as-mcg-per-hour"
        ),
        pytest.param(
            med_request("864706", "methadone 10 MG", dosage(1, "TAB", 3, 1, "d")),
            141,
            id="methadone-10mg-tid-is-141-single-2022-factor",
        ),
        pytest.param(
            med_request("897696", "hydromorphone 2 MG", dosage(1, "TAB", 1, 4, "h")),
            60,
            id="hydromorphone-2mg-q4h-is-60-factor-5",
        ),
        pytest.param(
            med_request("857002", "hydrocodone/APAP 5/325", dosage(1, "TAB", 1, 4, "h", dose_high=2, frequency_max=1)),
            60,
            id="hydrocodone-5-1-to-2-tabs-q4h-prn-uses-range-top-60",
        ),
        pytest.param(
            med_request("825411", "tapentadol 50 MG", dosage(1, "TAB", 1, 6, "h")), 80, id="tapentadol-50-q6h-80"
        ),
        pytest.param(med_request("835603", "tramadol 50 MG", dosage(1, "TAB", 3, 1, "d")), 30, id="tramadol-50-tid-30"),
        pytest.param(
            med_request("891888", "morphine ER 30 MG", dosage(1, "TAB", 1, 12, "h")), 60, id="morphine-er-30-q12h"
        ),
        pytest.param(
            med_request("993781", "APAP/codeine 300/30", dosage(1, "TAB", 4, 1, "d")),
            18,
            id="codeine-30-qid-factor-0.15",
        ),
        pytest.param(
            med_request("7814", "oxymorphone", dosage(10, "mg", 2, 1, "d")),
            60,
            id="oxymorphone-by-ingredient-with-mg-dose",
        ),
        pytest.param(
            med_request("7804", "oxycodone", dosage(10000, "ug", 2, 1, "d")), 30, id="micrograms-converted-to-mg"
        ),
        pytest.param(med_request("7804", "oxycodone", dosage(0.01, "g", 2, 1, "d")), 30, id="grams-converted-to-mg"),
        pytest.param(
            med_request("7804", "oxycodone", dosage(10, "mg", 2, 1, "wk")),
            4.3,
            id="weekly-period-rounded-to-one-decimal",
        ),
        pytest.param(
            med_request("904870", "buprenorphine patch", dosage(1, "PATCH", 1, 7, "d")),
            None,
            id="transdermal-buprenorphine-not-converted-null",
        ),
        pytest.param(
            med_request("1049621", "oxycodone 5 MG"),
            7.5,
            id="free-text-only-sig-with-known-strength-is-a-floor-of-one-tablet-a-day",
        ),
        pytest.param(
            med_request("861467", "meperidine 50 MG", dosage(1, "TAB", 4, 1, "d")),
            None,
            id="meperidine-has-no-2022-factor",
        ),
    ],
)
def test_mme_per_drug(med, expected):
    assert mme_of(med) == expected


def test_timing_code_bid():
    med = med_request(
        "1049683",
        "oxycodone 10 MG",
        {
            "timing": {"code": {"coding": [{"code": "BID"}]}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}],
        },
    )
    assert mme_of(med) == 30


def test_time_of_day_counts_administrations():
    med = med_request(
        "1049683",
        "oxycodone 10 MG",
        {
            "timing": {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}],
        },
    )
    assert mme_of(med) == 30


def test_dose_without_timing_is_once_a_day():
    med = med_request("1049683", "oxycodone 10 MG", {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]})
    assert mme_of(med) == 15


def test_statement_based_on_request_counts_once():
    req = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"), rid="mr-oxy")
    stmt = med_statement("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"), based_on="MedicationRequest/mr-oxy")
    assert mme_of(req, stmt) == 30


def test_active_statement_with_same_code_as_active_request_counts_once():
    req = med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"))
    stmt = med_statement("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h"))
    assert mme_of(req, stmt) == 30


def test_two_different_opioids_add_up():
    assert (
        mme_of(
            med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h")),
            med_request("245134", "fentanyl patch", dosage(1, "PATCH", 1, 72, "h")),
        )
        == 90
    )


def test_partial_total_says_it_may_be_underestimated():
    card = by_topic(
        cards_for(
            [
                lbp(),
                med_request("1049621", "oxycodone 5 MG", dosage(1, "TAB", 1, 6, "h")),
                med_request("7804", "oxycodone"),
            ]
        )
    )["opioid-risk"]  # no strength: no floor
    assert card.mme == 30 and "underestimated" in card.detail


def test_contained_medication_reference_is_resolved():
    med = med_request("x", "x", dosage(1, "TAB", 1, 6, "h"))
    del med["medicationCodeableConcept"]
    med["contained"] = [
        {
            "resourceType": "Medication",
            "id": "m1",
            "code": {"coding": [{"system": RX, "code": "1049621", "display": "oxycodone 5 MG"}]},
        }
    ]
    med["medicationReference"] = {"reference": "#m1"}
    assert mme_of(med) == 30


def test_stopped_and_completed_opioids_do_not_count():
    assert (
        mme_of(
            med_request("1049621", "oxy", dosage(1, "TAB", 1, 6, "h"), status="completed"),
            med_request("1049621", "oxy", dosage(1, "TAB", 1, 6, "h"), status="stopped"),
        )
        == "no-card"
    )


def test_ended_statement_does_not_count():
    assert mme_of(med_statement("1049621", "oxy", dosage(1, "TAB", 1, 6, "h"), end_days=1)) == "no-card"


def high_dose(mg_morphine_per_day):
    med = med_request("7052", "morphine", dosage(mg_morphine_per_day, "mg", 1, 1, "d"))
    card = by_topic(cards_for([lbp(), med])).get("opioid-high-dose")
    return card.indicator if card else None


@pytest.mark.parametrize(
    ("mme", "expected"),
    [
        pytest.param(49.9, None, id="49.9-mme-below-warning-no-card"),
        pytest.param(50, Indicator.WARNING, id="50-mme-pause-and-reassess-warning"),
        pytest.param(89.9, Indicator.WARNING, id="89.9-mme-still-warning"),
        pytest.param(90, Indicator.CRITICAL, id="90-mme-taper-threshold-critical"),
    ],
)
def test_high_dose_thresholds(mme, expected):
    assert high_dose(mme) == expected


def test_high_dose_card_carries_mme_and_names_the_drug():
    med = med_request("1049683", "oxycodone hydrochloride 10 MG Oral Tablet", dosage(1, "TAB", 1, 4, "h"))
    card = by_topic(cards_for([lbp(), med]))["opioid-high-dose"]
    assert card.mme == 90 and "oxycodone hydrochloride 10 MG" in card.detail and "1.5" in card.detail


def test_active_cancer_suppresses_opioid_cards():
    med = med_request("7052", "morphine", dosage(120, "mg", 1, 1, "d"))
    cards = by_topic(cards_for([lbp(), med, condition(ICD, "C61")]))
    assert not {"opioid-high-dose", "opioid-risk", "naloxone"} & set(cards)


# 5.4 step 4: every countable unit is tablets x strength (oxycodone 5 MG tablet, 2 units QID = 40 mg = 60 MME/day).
COUNTABLE = [
    "1",
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "pill",
    "pills",
    "patch",
    "patches",
    "film",
    "films",
    "each",
    "ea",
    "unit",
    "units",
    "spray",
    "lozenge",
    "suppository",
    "ertab",
    "ercap",
    "chewtab",
    "ortab",
    "drtab",
    "sltab",
    "tpatch",
    "supp",
    "loz",
    "troche",
]


@pytest.mark.parametrize(
    "unit",
    [
        *[pytest.param(u, id=f"listed-unit-{u}") for u in COUNTABLE],
        pytest.param("{pill}", id="sandbox-ucum-annotation-pill"),
        pytest.param("{tbl}", id="ucum-annotation-tbl"),
        pytest.param("{dose}", id="any-ucum-annotation-dose"),
        pytest.param("TAB", id="v3-orderable-drug-form-code-upper-case"),
        pytest.param(" Tablets ", id="plain-word-any-case-padded"),
    ],
)
def test_countable_units_are_units_times_strength(unit):
    assert mme_of(med_request("1049621", "oxycodone 5 MG", dosage(2, unit, 4, 1, "d"))) == 60


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param("{}", id="empty-annotation-is-not-a-unit"),
        pytest.param("pil", id="misspelt-word-not-guessed"),
        pytest.param("mL", id="volume-of-a-tablet-product-not-converted"),
        pytest.param("kg", id="unknown-mass-unit"),
    ],
)
def test_units_that_do_not_count_give_no_number(unit):
    assert mme_of(med_request("1049621", "oxycodone 5 MG", dosage(2, unit, 4, 1, "d"))) is None


def test_sandbox_draft_of_120_mme_beside_a_benzodiazepine_is_a_critical_high_dose():
    """The CDS Hooks sandbox's Rx View writes every dose as UCUM {pill} and sends the order as a draft."""
    draft = med_request(
        "1049621",
        "oxycodone hydrochloride 5 MG Oral Tablet",
        status="draft",
        dose={
            "timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 4,
                        "unit": "{pill}",
                        "system": "http://unitsofmeasure.org",
                        "code": "{pill}",
                    }
                }
            ],
        },
    )
    benzo = med_request("308047", "alprazolam 0.25 MG", authored_days=400)
    cards = by_topic(cards_for([lbp(), benzo], hook="order-sign", drafts=[draft]))
    assert cards["opioid-high-dose"].mme == 120 and cards["opioid-high-dose"].indicator == Indicator.CRITICAL


@pytest.mark.parametrize(
    "dose",
    [
        pytest.param(dosage(-1, "mg", 1, 1, "d"), id="negative-dose-found-by-hypothesis"),
        pytest.param(dosage(0, "mg", 1, 1, "d"), id="zero-dose"),
        pytest.param(dosage(5, "mg", -2, 1, "d"), id="negative-frequency"),
        pytest.param(dosage(5, "mg", 1, -1, "d"), id="negative-period"),
    ],
)
def test_a_dose_that_is_not_positive_gives_no_number(dose):
    assert mme_of(med_request("7804", "oxycodone", dose)) is None


def oxy_10(timing):
    """oxycodone 10 mg (15 MME a tablet) one tablet per administration, with this timing."""
    dose = {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]}
    return med_request("1049683", "oxycodone 10 MG", dose | ({"timing": timing} if timing is not None else {}))


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        pytest.param({"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}, 45, id="every-8-hours-is-3-a-day"),
        pytest.param({"repeat": {"period": 8, "periodUnit": "h"}}, 45, id="period-without-frequency-is-once-a-period"),
        pytest.param(
            {"repeat": {"frequency": 2, "frequencyMax": 3, "period": 1, "periodUnit": "d"}},
            45,
            id="up-to-3-a-day-counts-the-most",
        ),
        pytest.param({"repeat": {"frequency": 2, "period": 1}}, 30, id="period-without-unit-is-days"),
        pytest.param({"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}, 2.1, id="once-a-week"),
        pytest.param({"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}, 7.5, id="every-other-day"),
        pytest.param({"repeat": {"frequency": 3}}, 45, id="frequency-without-period-is-per-day"),
        pytest.param({"repeat": {"frequency": 2, "frequencyMax": 4}}, 60, id="frequency-max-without-period"),
        pytest.param({"repeat": {"timeOfDay": ["08:00:00", "14:00:00", "20:00:00"]}}, 45, id="three-times-of-day"),
        pytest.param({"code": {"coding": [{"code": "tid"}]}}, 45, id="timing-code-in-lower-case"),
        pytest.param({"code": {"coding": [{"code": "Q4H"}]}}, 90, id="q4h-code-is-6-a-day"),
        pytest.param(
            {"code": {"coding": [{"display": "as directed"}, {"code": "QID"}]}},
            60,
            id="a-coding-without-code-is-passed-over",
        ),
        pytest.param({"code": {"coding": [{"code": "PRN"}]}}, 15, id="unknown-timing-code-is-a-floor-of-once-a-day"),
        pytest.param({"repeat": {"count": 10}}, 15, id="repeat-without-frequency-is-a-floor-of-once-a-day"),
        pytest.param(
            {"repeat": {"frequency": 1, "period": 8, "periodUnit": "mg"}},
            15,
            id="a-period-unit-that-is-no-time-is-a-floor-of-once-a-day",
        ),
        pytest.param({"event": ["2026-11-20"]}, 15, id="timing-with-only-events-is-once-a-day"),
        pytest.param(None, 15, id="no-timing-is-once-a-day"),
    ],
)
def test_administrations_per_day_from_the_timing(timing, expected):
    assert mme_of(oxy_10(timing)) == expected


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        *[
            pytest.param(
                {"code": {"coding": [{"code": code}]}}, mme, id=f"timing-code-{code}-read-exactly-not-at-the-floor"
            )
            for code, mme in (
                ("QD", 15),
                ("BID", 30),
                ("TID", 45),
                ("QID", 60),
                ("Q4H", 90),
                ("Q6H", 60),
                ("Q8H", 45),
                ("Q12H", 30),
                ("QOD", 7.5),
                ("AM", 15),
                ("PM", 15),
                ("QAM", 15),
                ("QPM", 15),
                ("QHS", 15),
            )
        ],
        pytest.param({"repeat": {"frequency": 1, "period": 86400, "periodUnit": "s"}}, 15, id="period-in-seconds"),
        pytest.param({"repeat": {"frequency": 1, "period": 1440, "periodUnit": "min"}}, 15, id="period-in-minutes"),
        pytest.param({"repeat": {"frequency": 30, "period": 1, "periodUnit": "mo"}}, 15, id="thirty-a-month"),
        pytest.param({"repeat": {"frequency": 365, "period": 1, "periodUnit": "a"}}, 15, id="365-a-year"),
    ],
)
def test_every_timing_code_and_period_unit(timing, expected):
    """Once a day read from the code or unit is an exact total, not the floor an unread timing falls back to."""
    card = by_topic(cards_for([lbp(), oxy_10(timing)]))["opioid-risk"]
    assert card.mme == expected
    assert f"**Total: {expected:g} MME/day**" in card.detail, card.detail


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        pytest.param(10, "mg", id="mg"),
        pytest.param(10, "milligram", id="milligram-spelt-out"),
        pytest.param(10000, "ug", id="ucum-ug"),
        pytest.param(10000, "mcg", id="mcg"),
        pytest.param(10000, "microgram", id="microgram-spelt-out"),
        pytest.param(0.01, "g", id="grams"),
    ],
)
def test_every_mass_unit_is_converted_to_mg(value, unit):
    med = med_request("1049683", "oxycodone 10 MG", dosage(value, unit, 1, 1, "d"))
    assert mme_of(med) == 15


@pytest.mark.parametrize("unit", ["ug/h", "mcg/h", "ug/hr", "mcg/hr", "mcg/h(r)"])
def test_every_fentanyl_rate_unit(unit):
    assert mme_of(med_request("4337", "fentanyl", dosage(25, unit, 1, 72, "h"))) == 60


def test_a_draft_sent_with_status_active_still_counts():
    """Some EHRs send the order being signed as status active rather than draft."""
    draft = med_request("1049621", "oxycodone 5 MG", dosage(2, "TAB", 4), status="active", rid="d-1")
    cards = by_topic(cards_for([lbp()], hook="order-sign", drafts=[draft]))
    assert cards["opioid-risk"].mme == 60
