""" "Taken since" is the start of that drug's therapy: the run of its orders with no gap over 90 days that reaches
today (clinical reference 0.10 items 14 and 18), never the first order of any drug of the value set at any time.

A clinician found "taken since 2014-01-31" on Corrin Jast's chart (yearly one-off ibuprofen orders, all stopped,
then a current one in 2022) and naproxen "taken since" a stopped ibuprofen order on Lonnie Von's."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, lbp, med_request, patient

IBUPROFEN_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
IBU = IBUPROFEN_600[1]
NAP = NAPROXEN_500[1]


def old(drug, days, status="stopped", supply_days=None):
    """A chart order that has ended (stopped or completed), optionally with a supply window."""
    order = med_request(*drug, status=status, authored_days=days)
    if supply_days is not None:
        order["dispenseRequest"] = {
            "expectedSupplyDuration": {
                "value": supply_days,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
        }
    return order


CASES = [
    pytest.param(
        [
            *(old(IBUPROFEN_600, d) for d in (2800, 2435, 2070, 1705, 1340, 975, 610)),
            med_request(*IBUPROFEN_600, authored_days=30),
        ],
        f"{IBU} (last ordered {ago(30)})",
        id="yearly-stopped-one-off-orders-then-a-current-one-the-run-starts-at-the-current-one",
    ),
    pytest.param(
        [old(IBUPROFEN_600, 100), old(NAPROXEN_500, 60, "completed"), med_request(*NAPROXEN_500, authored_days=10)],
        f"{NAP} (last ordered {ago(10)}), taken since {ago(60)}",
        id="a-stopped-ibuprofen-before-naproxen-is-another-drug-naproxen-dated-by-its-own-first-order",
    ),
    pytest.param(
        [old(IBUPROFEN_600, 300), med_request(*NAPROXEN_500, authored_days=10)],
        f"{NAP} (last ordered {ago(10)})",
        id="an-old-stopped-ibuprofen-gives-no-start-to-a-single-naproxen-order",
    ),
    pytest.param(
        [
            *(old(IBUPROFEN_600, d, "completed") for d in (370, 310, 250, 190, 130, 70)),
            med_request(*IBUPROFEN_600, authored_days=10),
        ],
        f"{IBU} (last ordered {ago(10)}), taken since {ago(370)}",
        id="renewals-every-60-days-are-one-run-since-its-first-order",
    ),
    pytest.param(
        [
            old(IBUPROFEN_600, 400, "completed"),
            *(old(IBUPROFEN_600, d, "completed") for d in (200, 140)),
            med_request(*IBUPROFEN_600, authored_days=80),
        ],
        f"{IBU} (last ordered {ago(80)}), taken since {ago(200)}",
        id="a-200-day-gap-ends-the-earlier-run-the-start-is-after-it",
    ),
    pytest.param(
        [old(IBUPROFEN_600, 100, "completed"), med_request(*IBUPROFEN_600, authored_days=10)],
        f"{IBU} (last ordered {ago(10)}), taken since {ago(100)}",
        id="a-gap-of-exactly-90-days-keeps-the-run",
    ),
    pytest.param(
        [old(IBUPROFEN_600, 101, "completed"), med_request(*IBUPROFEN_600, authored_days=10)],
        f"{IBU} (last ordered {ago(10)})",
        id="a-gap-of-91-days-starts-a-new-run-at-the-current-order",
    ),
    pytest.param(
        [old(IBUPROFEN_600, 200, "completed", supply_days=120), med_request(*IBUPROFEN_600, authored_days=10)],
        f"{IBU} (last ordered {ago(10)}), taken since {ago(200)}",
        id="the-gap-counts-from-the-end-of-a-120-day-supply-70-days-keeps-the-run",
    ),
    pytest.param(
        [
            old(IBUPROFEN_600, 100, "completed"),
            med_request(*IBUPROFEN_600, authored_days=20),
            med_request(*NAPROXEN_500, authored_days=10),
        ],
        f"{IBU} (last ordered {ago(20)}), taken since {ago(100)}, {NAP} (last ordered {ago(10)})",
        id="two-current-nsaids-each-dated-by-its-own-run-the-new-naproxen-has-no-earlier-start",
    ),
]


@pytest.mark.parametrize(("chart", "named"), CASES)
def test_nsaid_first_line_dates_the_nsaid_by_its_therapy_run(chart, named):
    card = by_topic(cards_for([lbp(onset_days=9), *chart], pt=patient(age=45)))["nsaid-first-line"]
    assert f"Already on an NSAID: {named};" in card.detail, card.detail


@pytest.mark.parametrize(("chart", "named"), CASES)
def test_chronic_pain_options_date_the_nsaid_by_its_therapy_run(chart, named):
    card = by_topic(cards_for([lbp(onset_days=200), *chart], pt=patient(age=45)))["chronic-pain-options"]
    assert f"- First-line drug, an NSAID: already on {named}." in card.detail, card.detail
