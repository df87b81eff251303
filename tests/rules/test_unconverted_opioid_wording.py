"""Opioids that CDC 2022 gives no MME factor (buprenorphine, meperidine: clinical reference 5.4 step 8) add nothing
to the total by rule: a card must not blame the dosing for a total it never computes, nor call the total an
underestimate for them. A dose that really could not be read still says so."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request, patient

BELBUCA = ("1716065", "buprenorphine 0.3 MG Buccal Film")
MEPERIDINE = ("861467", "meperidine 50 MG")
OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
UNREADABLE = {"text": "as directed"}  # a sig with no structured dose


def opioid_risk_detail(chart, drafts=()):
    hook = "order-sign" if drafts else "patient-view"
    found = by_topic(cards_for([lbp(onset_days=200), *chart], hook=hook, drafts=list(drafts), pt=patient(age=45)))
    return found["opioid-risk"].detail


@pytest.mark.parametrize(
    ("chart", "drafts"),
    [
        pytest.param([med_request(*BELBUCA, dosage(1, "{film}", 2))], (), id="belbuca-with-a-readable-dose"),
        pytest.param(
            [],
            [med_request(*BELBUCA, dosage(1, "{film}", 2), status="draft", rid="d-b")],
            id="belbuca-drafted-with-a-readable-dose",
        ),
        pytest.param([med_request(*MEPERIDINE, dosage(1, "TAB", 4))], (), id="meperidine-has-no-2022-factor-either"),
    ],
)
def test_only_unconverted_opioids_say_there_is_no_factor_not_that_the_dosing_failed(chart, drafts):
    detail = opioid_risk_detail(chart, drafts)
    assert "could not be computed" not in detail
    assert "No total daily MME: CDC 2022 gives none of these opioids an MME factor." in detail
    assert "not converted: CDC 2022 gives this opioid no MME factor" in detail


def test_an_unconverted_opioid_beside_a_counted_one_is_not_an_underestimate():
    detail = opioid_risk_detail(
        [med_request(*BELBUCA, dosage(1, "{film}", 2)), med_request(*OXY_5, dosage(1, "TAB", 4))]
    )
    assert "**Total: 30 MME/day**" in detail and "underestimated" not in detail


@pytest.mark.parametrize(
    "chart",
    [
        pytest.param(
            [med_request("7804", "oxycodone", {"text": "as directed"}), med_request(*BELBUCA)],
            id="an-unknown-strength-beside-buprenorphine-still-blames-the-dosing",
        ),
    ],
)
def test_a_dose_that_really_could_not_be_read_still_says_so(chart):
    detail = opioid_risk_detail(chart)
    assert "No total daily MME: CDC 2022" not in detail
