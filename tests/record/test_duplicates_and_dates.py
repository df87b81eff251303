"""What the record counts once and how it dates the patient (clinical reference 0.4): a MedicationStatement that
repeats a MedicationRequest counts once, the request kept; age turns on the birthday itself; a result taken today is
the latest one."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import TODAY, dosage, lbp, med_request, med_statement, observation

OXY_5 = ("1049621", "oxycodone 5 MG Oral Tablet")
Q6H = dosage(1, "TAB", 1, 6, "h")  # 30 MME/day
TWO_Q6H = dosage(2, "TAB", 1, 6, "h")  # 60 MME/day
MORPHINE_15 = ("892582", "morphine sulfate 15 MG Oral Tablet")


def mme(*meds):
    return by_topic(cards_for([lbp(), *meds]))["opioid-risk"].mme


@pytest.mark.parametrize(
    ("meds", "expected"),
    [
        pytest.param(
            [
                med_request(*OXY_5, Q6H, rid="mr-oxy"),
                med_statement(*OXY_5, TWO_Q6H, based_on="MedicationRequest/mr-oxy"),
            ],
            30,
            id="statement-based-on-the-order-counts-once-with-the-order's-dose",
        ),
        pytest.param(
            [
                med_request(*OXY_5, Q6H, rid="mr-oxy"),
                med_statement("7804", "oxycodone", TWO_Q6H, based_on="MedicationRequest/mr-oxy"),
            ],
            30,
            id="statement-based-on-the-order-counts-once-even-coded-by-ingredient",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H), med_statement(*OXY_5, TWO_Q6H)],
            30,
            id="active-statement-of-the-same-product-as-an-active-order-counts-once",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, status="on-hold"), med_statement(*OXY_5, TWO_Q6H)],
            60,
            id="an-order-on-hold-does-not-stand-for-the-statement-of-what-is-taken",
        ),
        pytest.param(
            [
                med_request(*OXY_5, Q6H),
                med_statement(*OXY_5, TWO_Q6H),
                med_statement(*MORPHINE_15, dosage(1, "TAB", 2)),
            ],
            60,
            id="a-statement-after-a-duplicate-still-counts",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H), med_statement(*MORPHINE_15, dosage(1, "TAB", 2))],
            60,
            id="statement-of-another-drug-is-no-duplicate",
        ),
    ],
)
def test_a_statement_repeating_an_order_counts_once(meds, expected):
    assert mme(*meds) == expected


@pytest.mark.parametrize(
    ("born", "age"),
    [
        pytest.param(TODAY.replace(year=TODAY.year - 65), 65, id="65th-birthday-today-is-65"),
        pytest.param(TODAY.replace(year=TODAY.year - 65, day=TODAY.day + 1), 64, id="65th-birthday-tomorrow-is-64"),
        pytest.param(TODAY.replace(year=TODAY.year - 65, month=12, day=1), 64, id="birthday-next-month-is-64"),
    ],
)
def test_age_turns_on_the_birthday(born, age):
    pt = {"resourceType": "Patient", "id": "pt-1", "birthDate": born.isoformat()}
    detail = by_topic(cards_for([lbp(), med_request(*OXY_5, Q6H)], pt=pt))["opioid-risk"].detail
    assert ("age 65" in detail) is (age == 65), detail


@pytest.mark.parametrize(
    ("days", "caution"),
    [
        pytest.param(0, True, id="egfr-45-measured-today-is-a-kidney-caution"),
        pytest.param(-1, False, id="egfr-dated-tomorrow-is-not-read"),
    ],
)
def test_a_result_taken_today_counts(days, caution):
    card = by_topic(cards_for([lbp(onset_days=9), observation("62238-1", 45, days=days)]))["nsaid-first-line"]
    assert ("eGFR" in card.detail) is caution
