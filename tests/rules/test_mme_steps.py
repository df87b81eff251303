"""Several dosage instructions on one opioid order (clinical reference 0.10 item 7), at their edges: which are steps
and which one regimen taken together, which step is in effect today, and how a step's length is read."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, dosage, lbp, med_request
from tests.rules.test_mme_renewals_and_floors import OXY_5, instruction

TRAMADOL_50 = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
ONE_Q6H = "5 mg x 4/day = 20 mg/day x 1.5 = 30 MME/day"
TWO_Q6H = "10 mg x 4/day = 40 mg/day x 1.5 = 60 MME/day"


def lasting(d, value, unit=None, code=None):
    d["timing"]["repeat"]["boundsDuration"] = {k: v for k, v in (("value", value), ("unit", unit), ("code", code)) if v}
    return d


def from_day(d, start):
    d["timing"]["repeat"]["boundsPeriod"] = {"start": ago(start)}
    return d


def order_taken(instructions, authored=5, code=OXY_5):
    med = med_request(*code, authored_days=authored)
    med["dosageInstruction"] = instructions
    return med


@pytest.mark.parametrize(
    ("instructions", "authored", "note"),
    [
        pytest.param(
            [instruction(1, 24), instruction(2, 24)],
            5,
            "together: 5 mg x 1/day = 5 mg/day x 1.5 = 7.5 MME/day + 10 mg x 1/day = 10 mg/day x 1.5 = 15 MME/day",
            id="one-tablet-and-two-more-a-day-taken-together-add-up",
        ),
        pytest.param(
            [lasting(instruction(2, 6, sequence=1), 1, unit="wk"), instruction(1, 6, sequence=2, days=14)],
            10,
            f"the step in effect today: {ONE_Q6H}",
            id="a-first-step-of-one-week-given-as-a-unit-only-day-10-is-step-2",
        ),
        pytest.param(
            [lasting(instruction(2, 6, sequence=1), 1, unit="week", code="wk"), instruction(1, 6, sequence=2, days=14)],
            10,
            f"the step in effect today: {ONE_Q6H}",
            id="the-ucum-code-wk-is-read-before-the-unit-text-week",
        ),
        pytest.param(
            [lasting(instruction(2, 6, sequence=1), 1, unit="cycle"), instruction(1, 6, sequence=2, days=14)],
            10,
            f"the step in effect today is unclear, the highest: {TWO_Q6H}",
            id="a-step-length-in-no-unit-of-time-leaves-the-step-unclear-the-highest-counts",
        ),
        pytest.param(
            [instruction(1, 6, sequence=2, days=7), instruction(2, 6, sequence=1, days=7)],
            3,
            f"the step in effect today: {TWO_Q6H}",
            id="steps-sent-out-of-order-are-taken-by-sequence-day-3-is-step-1",
        ),
        pytest.param(
            [instruction(2, 6, sequence=1, days=7), instruction(1, 6, sequence=2, days=7)],
            7,
            f"the step in effect today: {ONE_Q6H}",
            id="a-7-day-step-started-7-days-ago-has-ended-step-2-today",
        ),
        pytest.param(
            [from_day(instruction(1, 6), 20), from_day(instruction(2, 6), 10)],
            5,
            f"together: {ONE_Q6H} + {TWO_Q6H}",
            id="open-ended-periods-are-no-steps-taken-together",
        ),
        pytest.param(
            [instruction(2, 6, period=(20, 10)), instruction(1, 6, period=(10, -10))],
            5,
            f"together: {TWO_Q6H} + {ONE_Q6H}",
            id="periods-sharing-a-day-overlap-taken-together",
        ),
        pytest.param(
            [instruction(2, 6, period=(20, 5)), instruction(1, 6, period=(10, -10))],
            5,
            f"together: {TWO_Q6H} + {ONE_Q6H}",
            id="overlapping-periods-taken-together",
        ),
        pytest.param(
            [instruction(2, 6, period=(20, 1)), instruction(1, 6, period=(0, -10))],
            5,
            f"the step in effect today: {ONE_Q6H}",
            id="a-step-whose-period-starts-today-is-in-effect",
        ),
        pytest.param(
            [instruction(1, 6, period=(20, 0)), instruction(2, 6, period=(-1, -10))],
            5,
            f"the step in effect today: {ONE_Q6H}",
            id="a-step-whose-period-ends-today-is-still-in-effect",
        ),
        pytest.param(
            [instruction(1, 336, sequence=1), dosage(5, "mL", 4) | {"sequence": 2}],
            5,
            "the step in effect today is unclear, the highest: 5 mg x 0.0714286/day = 0.357143 mg/day x 1.5 = "
            "0.535714 MME/day",
            id="unclear-step-the-highest-computable-one-not-the-one-that-cannot-be-read",
        ),
    ],
)
def test_which_instruction_counts_today(instructions, authored, note):
    detail = by_topic(cards_for([lbp(onset_days=200), order_taken(instructions, authored)]))["opioid-risk"].detail
    assert any(x.startswith("- oxycodone") and x.endswith(f"): {note}") for x in detail.splitlines()), detail


def test_one_instruction_not_computed_leaves_the_regimen_uncounted_and_the_total_exact():
    other = med_request("1049683", "oxycodone 10 MG", dosage(1, "TAB", 3))
    card = by_topic(cards_for([lbp(onset_days=200), order_taken([instruction(1, 24), dosage(5, "mL", 4)]), other]))[
        "opioid-risk"
    ]
    line = "(last ordered 2026-11-22): 5 mg x 1/day = 5 mg/day x 1.5 = 7.5 MME/day + dose unit not understood"
    assert f"{line}; MME not computed\n" in card.detail
    assert "- **Total: 45 MME/day** (may be underestimated: some doses could not be computed)" in card.detail


def test_tramadol_taken_in_two_instructions_counts_both_toward_its_label_maximum():
    med = order_taken([instruction(5, 24), instruction(5, 24)], code=TRAMADOL_50)
    detail = by_topic(cards_for([lbp(onset_days=200), med]))["opioid-risk"].detail
    assert "- **Total: 100 MME/day**" in detail
    assert "- Tramadol 500 mg/day is above the label maximum of 400 mg/day" in detail
