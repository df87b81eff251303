"""Findings of a fourth clinician read (stop 10), each case named for its reasoning: a renewal counted beside the
order it renews, a drug the patient takes offered as an addition, advice beside a card that forbids it."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, dosage, lbp, med_request, patient

OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
LORAZEPAM = ("197901", "lorazepam 1 MG Oral Tablet")
TRAMADOL_50 = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
ANXIETY = (ICD, "F41.1")


def cards(chart, drafts=(), age=55):
    hook = "order-sign" if drafts else "patient-view"
    return by_topic(cards_for(list(chart), hook=hook, drafts=list(drafts), pt=patient(age=age)))


def test_a_benzodiazepine_renewal_replaces_the_chart_order_on_every_card():
    """0.10 item 1: a renewal replaces the order it renews in every count; listed beside it, it reads as two
    benzodiazepines (and two naloxone risk factors)."""
    found = cards(
        [
            lbp(onset_days=120),
            med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=30),
            med_request(*LORAZEPAM, dosage(1, "TAB", 2), authored_days=25, reason=ANXIETY),
        ],
        [med_request(*LORAZEPAM, dosage(1, "TAB", 2), status="draft", rid="d-lz", reason=ANXIETY)],
    )
    benzo = found["opioid-benzodiazepine"].detail
    listed = benzo.split("Benzodiazepine: ")[1].split(".\n")[0]
    assert listed.startswith("lorazepam 1 MG Oral Tablet (draft, renewal of lorazepam") and "orders" not in listed
    assert listed.count("), ") == 0  # one drug listed, not the chart order beside its renewal
    assert found["naloxone"].detail.count("- benzodiazepine:") == 1


@pytest.mark.parametrize(
    ("opioids", "says"),
    [
        pytest.param(
            [med_request(*TRAMADOL_50, dosage(1, "TAB", 4), authored_days=20)],
            "already on tramadol",
            id="on-tramadol-tramadol-is-named-as-taken-not-as-a-second-opioid",
        ),
        pytest.param(
            [med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=20)],
            "tramadol would add another opioid",
            id="on-oxycodone-tramadol-would-be-a-second-opioid",
        ),
    ],
)
def test_chronic_options_do_not_offer_tramadol_as_an_addition_to_tramadol(opioids, says):
    detail = cards([lbp(onset_days=400), *opioids])["chronic-pain-options"].detail
    assert says in detail
    if says == "already on tramadol":
        assert "would add a second opioid" not in detail
