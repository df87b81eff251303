"""How a structured dose is read (clinical reference 5.4 steps 3-4), on the cards that show it: a rate sent as
rateQuantity, a doseAndRate entry without a quantity passed over, a dose without a unit taken as units of the
product, a dose without timing or with only event dates taken once a day; a renewal names the chart order it renews
by the most recent order date; an opioid overdose stays a naloxone risk after it resolved."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, ago, condition, dosage, lbp, med_request
from tests.rules.test_mme import mme_of

TID = {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}
OXY_5 = ("1049621", "oxycodone 5 MG Oral Tablet")


@pytest.mark.parametrize(
    ("med", "mme"),
    [
        pytest.param(
            med_request(
                "245134",
                "fentanyl 25 mcg/h patch",
                {"doseAndRate": [{"rateQuantity": {"value": 25, "unit": "ug/h"}}], "timing": TID},
            ),
            60,
            id="fentanyl-rate-sent-as-rate-quantity-25-mcg-h-is-60",
        ),
        pytest.param(
            med_request(
                "1049683",
                "oxycodone 10 MG",
                {
                    "doseAndRate": [{"type": {"text": "ordered"}}, {"doseQuantity": {"value": 1, "unit": "TAB"}}],
                    "timing": TID,
                },
            ),
            45,
            id="an-entry-without-quantity-is-passed-over-the-next-read",
        ),
        pytest.param(
            med_request("1049683", "oxycodone 10 MG", {"doseAndRate": [{"doseQuantity": {"value": 1}}], "timing": TID}),
            45,
            id="a-dose-without-unit-is-units-of-the-product",
        ),
    ],
)
def test_how_the_dose_is_read(med, mme):
    assert mme_of(med) == mme


@pytest.mark.parametrize(
    "timing",
    [
        pytest.param(None, id="no-timing-once-a-day"),
        pytest.param({"event": [ago(1)]}, id="only-event-dates-once-a-day"),
    ],
)
def test_acetaminophen_without_a_frequency_counts_once_a_day(timing):
    dose = {"doseAndRate": [{"doseQuantity": {"value": 2, "unit": "TAB"}}]} | ({"timing": timing} if timing else {})
    chart = [condition(ICD, "I50.9", "Heart failure"), med_request("198440", "acetaminophen 500 MG Oral Tablet", dose)]
    detail = by_topic(cards_for([lbp(onset_days=9), *chart]))["acetaminophen-alternative"].detail
    assert (
        "Acetaminophen already taken, counted toward the daily total: acetaminophen 500 MG Oral Tablet (last ordered "
        "2026-11-22): 1,000 mg/day."
    ) in detail.splitlines()


def test_a_renewal_names_the_most_recent_chart_order():
    chart = [med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=d) for d in (35, 5, 65)]
    draft = med_request(*OXY_5, dosage(1, "TAB", 4), status="draft", rid="d-1")
    detail = by_topic(cards_for([lbp(onset_days=200), *chart], hook="order-sign", drafts=[draft]))["opioid-risk"].detail
    assert "(draft order: renewal of oxycodone 5 MG Oral Tablet (last ordered 2026-11-22))" in detail


def test_an_opioid_overdose_that_resolved_is_still_a_naloxone_risk():
    overdose = condition(
        ICD, "T40.2X1A", "Poisoning by other opioids", status="resolved", abatement_days=100, onset_days=200
    )
    found = by_topic(cards_for([lbp(onset_days=200), med_request(*OXY_5, dosage(1, "TAB", 4)), overdose]))
    assert "- Poisoning by other opioids (onset 2026-05-11)" in found["naloxone"].detail.splitlines()


def test_an_orders_mme_kept_per_product_and_dose_is_never_another_orders():
    """The MME of an order is kept per process by its product codes and dosage JSON (rules/_mme.py): the same product
    at another dose, another product at the same dose, and a draft of it are each read as themselves, cold or warm."""
    from cds_service.knowledge import load

    bid = {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}
    three_a_day = med_request(
        "1049683", "oxycodone 10 MG", {"doseAndRate": [{"doseQuantity": {"value": 1}}], "timing": TID}
    )
    twice_a_day = med_request(
        "1049683", "oxycodone 10 MG", {"doseAndRate": [{"doseQuantity": {"value": 1}}], "timing": bid}
    )
    five_mg = med_request(*OXY_5, {"doseAndRate": [{"doseQuantity": {"value": 1}}], "timing": TID})
    for round_ in ("cold", "warm"):
        if round_ == "cold":
            load().mme_worked.clear()
        assert (mme_of(three_a_day), mme_of(twice_a_day), mme_of(five_mg)) == (45, 30, 22.5), round_
    assert mme_of(three_a_day, twice_a_day) == 75
