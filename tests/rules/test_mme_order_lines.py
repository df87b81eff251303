"""Each opioid line of the MME worked example says what the order is (clinical reference 0.4, 0.10 items 1 and 19):
a draft, drafts each counted, renewals left active counted once, a renewal with or without a dose change; and for a
draft of another product of an ingredient already ordered, what the total would be if it replaced that order."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request
from tests.rules.test_mme_renewals_and_floors import OXY_5, OXY_IR_10, Q6H, draft

MORPHINE_15 = ("892582", "morphine sulfate 15 MG Oral Tablet")
OXY_5_LINE = "5 mg x 4/day = 20 mg/day x 1.5 = 30 MME/day"
UNDATED = {"authoredOn": None}


@pytest.mark.parametrize(
    ("chart", "drafts", "lines", "if_replaced"),
    [
        pytest.param(
            [],
            [draft(*OXY_5, Q6H, rid="d-1"), draft(*OXY_5, Q6H, rid="d-2")],
            [f"oxycodone hydrochloride 5 MG Oral Tablet (2 drafts, each counted): {OXY_5_LINE}"],
            [],
            id="two-identical-drafts-are-each-counted",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H, authored_days=5), med_request(*OXY_5, Q6H, authored_days=35)],
            [],
            [
                "oxycodone hydrochloride 5 MG Oral Tablet (2 active orders of the same prescription, counted once: "
                f"reconcile the medication list; last ordered 2026-11-22): {OXY_5_LINE}"
            ],
            [],
            id="two-active-renewals-counted-once-and-flagged-for-reconciliation",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H)],
            [],
            [f"oxycodone hydrochloride 5 MG Oral Tablet (last ordered 2026-11-22): {OXY_5_LINE}"],
            [],
            id="one-chart-order-only-its-date",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H)],
            [draft(*OXY_5, Q6H)],
            [
                "oxycodone hydrochloride 5 MG Oral Tablet (draft order: renewal of oxycodone hydrochloride 5 MG Oral "
                f"Tablet (last ordered 2026-11-22)): {OXY_5_LINE}"
            ],
            [],
            id="same-dose-renewal-says-no-dose-change",
        ),
        pytest.param(
            [med_request(*OXY_5, Q6H) | UNDATED],
            [draft(*OXY_5, Q6H)],
            [
                "oxycodone hydrochloride 5 MG Oral Tablet (draft order: renewal of oxycodone hydrochloride 5 MG Oral "
                f"Tablet): {OXY_5_LINE}"
            ],
            [],
            id="renewal-of-an-undated-chart-order-gives-no-date",
        ),
        pytest.param(
            [med_request(*OXY_IR_10, Q6H)],
            [draft(*OXY_5, dosage(1, "TAB", 1))],
            [
                "Oxycodone Hydrochloride 10 MG Oral Capsule (last ordered 2026-11-22): 10 mg x 4/day = 40 mg/day x 1.5 "
                "= 60 MME/day",
                "oxycodone hydrochloride 5 MG Oral Tablet (draft order): 5 mg x 1/day = 5 mg/day x 1.5 = 7.5 MME/day",
            ],
            [
                "oxycodone hydrochloride 5 MG Oral Tablet: if this draft replaces Oxycodone Hydrochloride 10 MG Oral "
                "Capsule, the total is 7.5 MME/day."
            ],
            id="another-oxycodone-product-drafted-total-if-it-replaces-the-chart-one-to-a-decimal",
        ),
        pytest.param(
            [med_request(*OXY_IR_10, Q6H), med_request(*OXY_5, Q6H)],
            [],
            [
                "Oxycodone Hydrochloride 10 MG Oral Capsule (last ordered 2026-11-22): 10 mg x 4/day = 40 mg/day x 1.5 "
                "= 60 MME/day",
                f"oxycodone hydrochloride 5 MG Oral Tablet (last ordered 2026-11-22): {OXY_5_LINE}",
            ],
            [],
            id="two-chart-oxycodone-products-no-draft-nothing-replaces",
        ),
        pytest.param(
            [med_request(*MORPHINE_15, Q6H)],
            [draft(*OXY_5, Q6H)],
            [
                "morphine sulfate 15 MG Oral Tablet (last ordered 2026-11-22): 15 mg x 4/day = 60 mg/day x 1 = 60 "
                "MME/day",
                f"oxycodone hydrochloride 5 MG Oral Tablet (draft order): {OXY_5_LINE}",
            ],
            [],
            id="oxycodone-drafted-beside-morphine-is-added-not-a-replacement",
        ),
    ],
)
def test_each_opioid_line_says_what_the_order_is(chart, drafts, lines, if_replaced):
    hook = "order-sign" if drafts else "patient-view"
    found = by_topic(cards_for([lbp(onset_days=200), *chart], hook=hook, drafts=drafts))
    detail = found["opioid-risk"].detail.splitlines()
    assert [x[2:] for x in detail if x.startswith("- ") and x.endswith(" MME/day")] == lines
    high = found["opioid-high-dose"].detail.splitlines() if "opioid-high-dose" in found else []
    assert [x[2:] for x in high if "if this draft replaces" in x] == if_replaced
