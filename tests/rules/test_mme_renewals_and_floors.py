"""MME at the bedside (clinical reference 0.10 items 1, 2, 3, 19): a renewal replaces the chart order it renews, a
draft starts today, an order without usable dosing is counted at a floor, and unselected drafts count."""

import pytest

from cds_service.cards import Indicator, to_json
from cds_service.knowledge import load
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, dosage, lbp, med_request, med_statement

OXY_ER_10 = ("1049502", "12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet")
OXY_ER_60 = ("1049593", "12 HR Oxycodone Hydrochloride 60 MG Extended Release Oral Tablet")
OXY_IR_10 = ("1049717", "Oxycodone Hydrochloride 10 MG Oral Capsule")
OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
TID = dosage(1, "TAB", 3, 1, "d")
Q6H = dosage(1, "TAB", 1, 6, "h")
Q12H = dosage(1, "TAB", 1, 12, "h")


def draft(code, display, dose=None, rid="draft-1"):
    return med_request(code, display, dose, status="draft", rid=rid, authored_days=400)


def cards(chart, drafts=(), hook=None, **kw):
    hook = hook or ("order-sign" if drafts else "patient-view")
    return by_topic(cards_for([lbp(onset_days=200), *chart], hook=hook, drafts=list(drafts), **kw))


@pytest.mark.parametrize(
    ("chart", "drafts", "total", "tier"),
    [
        pytest.param(
            [med_request(*OXY_ER_10, TID), med_request(*OXY_ER_60, Q12H)],
            [draft(*OXY_ER_10, TID)],
            225,
            Indicator.CRITICAL,
            id="identical-er-renewal-replaces-its-chart-order-225-not-270",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H)], [draft(*OXY_5, Q6H)], 30, None, id="a-30-mme-refill-stays-30-and-raises-no-tier"
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=d) for d in (5, 35, 65)],
            [draft(*OXY_5, Q6H)],
            30,
            None,
            id="a-refill-replaces-every-active-renewal-of-the-same-product",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H)],
            [draft(*OXY_5, dosage(2, "TAB", 1, 6, "h"))],
            60,
            Indicator.WARNING,
            id="same-code-other-dose-is-a-renewal-with-the-drafts-dose",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H)],
            [draft(*OXY_IR_10, Q6H)],
            90,
            Indicator.CRITICAL,
            id="same-ingredient-other-product-is-summed",
        ),
    ],
)
def test_a_renewal_replaces_the_chart_order_it_renews(chart, drafts, total, tier):
    found = cards(chart, drafts)
    assert found["opioid-risk"].mme == total
    assert (found["opioid-high-dose"].indicator if "opioid-high-dose" in found else None) == tier
    if tier is None:
        assert "naloxone" not in found  # a refill of 30 MME is no new overdose risk


def test_the_card_says_a_renewal_and_a_dose_change():
    detail = cards([med_request(*OXY_5, Q6H, authored_days=20)], [draft(*OXY_5, dosage(2, "TAB", 1, 6, "h"))])[
        "opioid-high-dose"
    ].detail
    assert "renewal of oxycodone hydrochloride 5 MG Oral Tablet (last ordered" in detail and "dose changed" in detail


def test_another_product_of_the_same_ingredient_says_the_total_if_it_replaces_the_chart_order():
    detail = cards([med_request(*OXY_5, Q6H)], [draft(*OXY_IR_10, Q6H)])["opioid-high-dose"].detail
    assert "if this draft replaces oxycodone hydrochloride 5 MG Oral Tablet" in detail
    assert "the total is 60 MME/day" in detail


@pytest.mark.parametrize(
    ("med", "total", "floored"),
    [
        pytest.param(med_request(*OXY_ER_60), 180, True, id="12-hr-product-without-sig-is-at-least-2-a-day"),
        pytest.param(
            med_request("1049593", "oxycodone ER"), 180, True, id="12-hr-read-from-the-rxnorm-name-not-the-chart-text"
        ),
        pytest.param(med_request(*OXY_IR_10), 15, True, id="other-product-without-sig-is-at-least-1-a-day"),
        pytest.param(
            med_request("245134", "fentanyl 25 mcg/h patch"), 60, True, id="patch-without-sig-is-one-patch-worn"
        ),
        pytest.param(
            med_request(*OXY_ER_60, {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]}),
            180,
            False,
            id="12-hr-dose-without-timing-is-2-a-day",
        ),
        pytest.param(med_request(*OXY_IR_10, Q6H), 60, False, id="structured-dose-is-exact"),
        pytest.param(med_request("7804", "oxycodone"), None, False, id="no-strength-known-no-floor"),
    ],
)
def test_an_order_without_usable_dosing_counts_at_its_floor(med, total, floored):
    card = cards([med])["opioid-risk"]
    assert (card.mme, card.mme_lower_bound) == (total, floored)


def test_a_lower_bound_decides_the_tier_and_says_at_least_in_summary_detail_and_extension():
    found = cards([med_request(*OXY_ER_60), med_request(*OXY_IR_10)])
    high = found["opioid-high-dose"]
    assert high.indicator is Indicator.CRITICAL and high.summary == "High opioid dose: at least 195 MME/day"
    assert "counted at its floor" in high.detail and high.detail.count("counted at its floor") == 2
    extension = to_json(high, load())["extension"]
    assert {k: v for k, v in extension.items() if k.startswith("org.backpain-cds.mme")} == {
        "org.backpain-cds.mme-per-day": 195,
        "org.backpain-cds.mme-lower-bound": True,
    }
    assert "at least 195 MME/day" in found["naloxone"].detail


def test_an_exact_total_carries_no_lower_bound_key():
    card = cards([med_request(*OXY_IR_10, Q6H)])["opioid-high-dose"]
    extension = to_json(card, load())["extension"]
    assert {k: v for k, v in extension.items() if k.startswith("org.backpain-cds.mme")} == {
        "org.backpain-cds.mme-per-day": 60
    }


@pytest.mark.parametrize(
    ("chart", "naive", "long_term"),
    [
        pytest.param([], True, False, id="er-draft-authored-long-ago-starts-today-so-it-is-an-opioid-naive-start"),
        pytest.param(
            [med_statement(*OXY_5, start_days=60)],
            False,
            False,
            id="er-draft-beside-recent-opioid-use-is-not-naive-and-not-long-term",
        ),
    ],
)
def test_a_draft_starts_today_whatever_its_authored_on(chart, naive, long_term):
    detail = cards(chart, [draft(*OXY_ER_10, Q12H)])["opioid-risk"].detail
    assert ("opioid-naive" in detail, "Long-term" in detail) == (naive, long_term)


def test_unselected_drafts_count_at_order_select():
    """All drafts of an order-select are about to be signed together (0.10 item 19)."""
    drafts = [
        draft(*OXY_IR_10, Q6H, rid="d-oxy"),
        med_request("308047", "alprazolam 0.25 MG Oral Tablet", status="draft", rid="d-benzo"),
    ]
    found = cards([], drafts, hook="order-select", selections=["MedicationRequest/d-benzo"])
    assert found["opioid-high-dose"].mme == 60 and "opioid-risk" in found and "opioid-benzodiazepine" in found


def instruction(tablets, hours, sequence=None, period=None, days=None):
    d = dosage(tablets, "TAB", 1, hours, "h")
    if sequence is not None:
        d["sequence"] = sequence
    if period is not None:
        d["timing"]["repeat"]["boundsPeriod"] = {"start": ago(period[0]), "end": ago(period[1])}
    if days is not None:
        d["timing"]["repeat"]["boundsDuration"] = {"value": days, "unit": "d", "code": "d"}
    return d


@pytest.mark.parametrize(
    ("instructions", "authored", "total"),
    [
        pytest.param(
            [instruction(1, 24), instruction(2, 24)],
            5,
            22.5,
            id="one-in-the-morning-and-two-at-bedtime-together-are-3-a-day",
        ),
        pytest.param(
            [instruction(2, 6, sequence=1, days=7), instruction(1, 6, sequence=2, days=7)],
            3,
            60,
            id="taper-step-1-is-in-effect-on-day-3",
        ),
        pytest.param(
            [instruction(2, 6, sequence=1, days=7), instruction(1, 6, sequence=2, days=7)],
            10,
            30,
            id="taper-step-2-is-in-effect-on-day-10-counted-from-the-end-of-step-1",
        ),
        pytest.param(
            [instruction(2, 6, period=(20, 11)), instruction(1, 6, period=(10, -10))],
            30,
            30,
            id="bounds-that-do-not-overlap-are-steps-today-is-in-the-second",
        ),
        pytest.param(
            [instruction(1, 6, sequence=1), instruction(2, 6, sequence=2)],
            5,
            60,
            id="steps-whose-current-one-cannot-be-told-count-the-highest",
        ),
    ],
)
def test_several_dosage_instructions_are_steps_or_one_regimen(instructions, authored, total):
    med = med_request(*OXY_5, authored_days=authored)
    med["dosageInstruction"] = instructions
    assert cards([med])["opioid-risk"].mme == total


def renewal_lines(chart, drafts):
    found = cards(chart, drafts)
    return [
        line for c in found.values() if c.topic == "opioid-risk" for line in c.detail.splitlines() if "draft" in line
    ]


@pytest.mark.parametrize(
    ("chart", "drafts", "said"),
    [
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=20)],
            [draft(*OXY_5, Q6H)],
            f"(draft order: renewal of {OXY_5[1]} (last ordered {ago(20)})): ",
            id="the-same-dose-is-a-renewal-without-a-dose-change",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=20)],
            [draft(*OXY_5, dosage(2, "TAB", 1, 6, "h"))],
            f"(draft order: renewal of {OXY_5[1]} (last ordered {ago(20)}), dose changed): ",
            id="another-dose-is-a-renewal-with-a-dose-change",
        ),
        pytest.param(
            [med_request(*OXY_ER_60, authored_days=20)],
            [draft(*OXY_ER_60, Q12H)],
            f"(draft order: renewal of {OXY_ER_60[1]} (last ordered {ago(20)}), which had no structured dose): ",
            id="a-chart-order-without-a-dose-says-so-since-the-total-no-longer-counts-its-floor",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=20)],
            [draft(*OXY_5, Q6H | {"text": "1 tablet every 6 hours as needed for pain"})],
            f"(draft order: renewal of {OXY_5[1]} (last ordered {ago(20)})): ",
            id="the-same-dose-with-a-sig-text-added-is-no-dose-change",
        ),
        pytest.param(
            [med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h"), authored_days=20)],
            [draft(*OXY_5, dosage(1, "tablet", 1, 6, "h"))],
            f"(draft order: renewal of {OXY_5[1]} (last ordered {ago(20)})): ",
            id="the-same-dose-with-its-unit-spelt-tablet-not-tab-is-no-dose-change",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=20)],
            [draft(*OXY_5, dosage(1, "TAB", 1, 4, "h"))],
            f"(draft order: renewal of {OXY_5[1]} (last ordered {ago(20)}), dose changed): ",
            id="every-4-hours-instead-of-6-is-a-dose-change",
        ),
    ],
)
def test_a_renewal_says_a_dose_changed_only_when_the_chart_order_had_another_dose(chart, drafts, said):
    (line,) = renewal_lines(chart, drafts)
    assert said in line


def test_a_renewal_draft_already_replaces_its_order_so_no_other_replacement_is_offered():
    """The draft renews the ER order; 'if this draft replaces' the IR capsule beside it is no real choice (0.10 item
    1 gives that line to a draft of another product, which is summed)."""
    chart = [med_request(*OXY_ER_60, authored_days=20), med_request(*OXY_IR_10, Q6H, authored_days=20)]
    detail = cards(chart, [draft(*OXY_ER_60, Q12H)])["opioid-high-dose"].detail
    assert "if this draft replaces" not in detail
    assert "**Total: 240 MME/day**" in detail
