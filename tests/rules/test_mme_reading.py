"""How each opioid order is read into MME/day, as the card's worked line shows it (clinical reference 5.4, 0.10
item 3). An order whose MME cannot be worked out beside one that can (5.4 step 9): the card names why, the total is
the computed orders' exact sum (never "at least", which means an order was counted at its floor), and says it may be
underestimated unless the drug simply has no CDC 2022 factor."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request

OXY_10_TID = med_request("1049683", "oxycodone 10 MG", dosage(1, "TAB", 3))  # 45 MME/day
UNDER = " (may be underestimated: some doses could not be computed)"


@pytest.mark.parametrize(
    ("other", "why", "underestimated"),
    [
        pytest.param(
            med_request("2118728", "acetaminophen 325 MG / benzhydrocodone 4.08 MG Oral Tablet", dosage(1, "TAB", 4)),
            "ingredient strength unknown; MME not computed",
            True,
            id="benzhydrocodone-product-without-a-known-strength-is-not-guessed",
        ),
        pytest.param(
            med_request("861467", "meperidine 50 MG", dosage(1, "TAB", 4)),
            "not converted: CDC 2022 gives this opioid no MME factor",
            False,
            id="meperidine-has-no-factor-so-the-total-is-not-an-underestimate",
        ),
        pytest.param(
            med_request("310295", "fentanyl 0.2 MG Oral Lozenge", dosage(1, "{lozenge}", 4)),
            "not converted (non-transdermal fentanyl has no factor)",
            False,
            id="fentanyl-lozenge-has-no-factor-only-patches-do",
        ),
        pytest.param(
            med_request("7804", "oxycodone", dosage(0, "mg", 2)),
            "dose is not a positive number; MME not computed",
            True,
            id="a-zero-dose-is-a-data-error-not-zero-mme",
        ),
        pytest.param(
            med_request("245134", "fentanyl 25 mcg/h patch", dosage(25, "mg", 1, 72, "h")),
            "no usable dose or unit; MME not computed",
            True,
            id="fentanyl-patch-dosed-in-mg-is-no-rate",
        ),
        pytest.param(
            med_request("7804", "oxycodone", {"text": "as directed"}),
            "no structured dose; MME not computed",
            True,
            id="ingredient-without-strength-or-dose-is-not-counted",
        ),
        pytest.param(
            med_request("1049621", "oxycodone 5 MG", dosage(5, "mL", 4)),
            "dose unit not understood; MME not computed",
            True,
            id="millilitres-of-a-tablet-are-not-understood",
        ),
        pytest.param(
            med_request(
                "7804",
                "oxycodone",
                {
                    "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}],
                    "timing": {"code": {"coding": [{"code": "PRN"}]}},
                },
            ),
            "no structured frequency; MME not computed",
            True,
            id="ingredient-dose-with-an-unknown-timing-code-has-no-floor",
        ),
    ],
)
def test_an_order_not_computed_leaves_the_total_exact(other, why, underestimated):
    card = by_topic(cards_for([lbp(), OXY_10_TID, other]))["opioid-risk"]
    assert why in card.detail, card.detail
    assert card.mme == 45
    assert f"- **Total: 45 MME/day**{UNDER if underestimated else ''}\n" in card.detail + "\n", card.detail


def timing(frequency: int) -> dict:
    return {"timing": {"repeat": {"frequency": frequency, "period": 1, "periodUnit": "d"}}}


TWO_TABLETS = {"doseAndRate": [{"doseQuantity": {"value": 2, "unit": "TAB"}}]}


@pytest.mark.parametrize(
    ("med", "line", "total"),
    [
        pytest.param(
            med_request("1049621", "oxycodone 5 MG", timing(4)),
            "no usable dose: counted at its floor, 1 unit x 5 mg x 4/day = 20 mg/day x 1.5 = 30 MME/day",
            "at least 30",
            id="no-dose-but-4-a-day-is-one-tablet-4-times-a-lower-bound",
        ),
        pytest.param(
            med_request("1049543", "12 HR oxycodone 15 MG", timing(1)),
            "no usable dose: counted at its floor, 1 unit x 15 mg x 1/day = 15 mg/day x 1.5 = 22.5 MME/day",
            "at least 22.5",
            id="12-hour-product-ordered-once-a-day-is-once-not-its-twice-a-day-floor",
        ),
        pytest.param(
            med_request("245134", "fentanyl 25 mcg/h patch", dosage(2, "PATCH", 1, 72, "h")),
            "50 mcg/h x 2.4 = 120 MME/day",
            "120",
            id="two-25-mcg-patches-worn-are-50-mcg-per-hour",
        ),
        pytest.param(
            med_request("1049683", "oxycodone 10 MG", TWO_TABLETS),
            "no timing: 20 mg x 1/day = 20 mg/day x 1.5 = 30 MME/day",
            "30",
            id="a-dose-without-timing-is-once-a-day-exactly",
        ),
        pytest.param(
            med_request(
                "1049683", "oxycodone 10 MG", TWO_TABLETS | {"timing": {"code": {"coding": [{"code": "PRN"}]}}}
            ),
            "no usable timing: counted at its floor, 20 mg x 1/day = 20 mg/day x 1.5 = 30 MME/day",
            "at least 30",
            id="as-needed-without-frequency-is-a-floor-of-once-a-day",
        ),
    ],
)
def test_the_worked_line_says_how_the_order_was_read(med, line, total):
    detail = by_topic(cards_for([lbp(), med]))["opioid-risk"].detail
    assert f"(last ordered 2026-11-22): {line}\n- **Total: {total} MME/day**" in detail, detail


def test_a_fentanyl_order_without_product_or_dose_is_not_computed():
    detail = by_topic(cards_for([lbp(), med_request("4337", "fentanyl")]))["opioid-risk"].detail
    assert "fentanyl (last ordered 2026-11-22): no usable dose or unit; MME not computed" in detail
