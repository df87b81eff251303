"""Which advice a chart allows at all (clinical reference 0.10 items 12, 13, 16): hospice care returns only the
harm of an NSAID being taken or ordered, an urgent red flag silences wait-and-see advice, and a code that says chronic
makes the episode chronic whatever its dates."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, dosage, lbp, med_request, observation, patient, service_request

IBUPROFEN = ("197806", "ibuprofen 600 MG Oral Tablet")
OXY = ("1049621", "oxycodone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
PREDNISONE = ("312617", "prednisone 5 MG Oral Tablet")
GABAPENTIN = ("310431", "gabapentin 100 MG Oral Capsule")
HOSPICE = condition(ICD, "Z51.5", "Encounter for palliative care", onset_days=30)
HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
CAUDA_EQUINA = condition(SCT, "192970008", "Cauda equina syndrome", onset_days=2)
CANCER = condition(ICD, "C61", "Prostate cancer", onset_days=400)
WAIT_AND_SEE = {
    "nsaid-first-line",
    "second-line",
    "chronic-pain-options",
    "depression-screening",
    "radicular-pain",
    "imaging-overuse",
}


def topics(resources, hook="patient-view", drafts=None, age=45):
    return {c.topic: c.indicator for c in cards_for(resources, hook=hook, drafts=drafts or [], pt=patient(age=age))}


def draft(drug, dose=None, rid="d1"):
    return med_request(*drug, dose, status="draft", rid=rid)


@pytest.mark.parametrize(
    ("resources", "hook", "drafts", "expected"),
    [
        pytest.param(
            [lbp(onset_days=5), HOSPICE],
            "patient-view",
            [],
            {},
            id="hospice-acute-pain-no-advice-no-one-click-ibuprofen",
        ),
        pytest.param(
            [lbp(onset_days=200), HOSPICE, med_request(*OXY, dosage(2, "TAB", 4)), med_request(*ALPRAZOLAM)],
            "patient-view",
            [],
            {},
            id="hospice-opioid-benzodiazepine-goals-of-care-differ-silent",
        ),
        pytest.param(
            [lbp(onset_days=5), HOSPICE, HEART_FAILURE],
            "patient-view",
            [],
            {},
            id="hospice-contraindication-without-nsaid-in-play-is-silent",
        ),
        pytest.param(
            [lbp(onset_days=5), HOSPICE, HEART_FAILURE, med_request(*IBUPROFEN, dosage(1, "TAB", 3))],
            "patient-view",
            [],
            {"nsaid-contraindicated": Indicator.CRITICAL},
            id="hospice-current-nsaid-with-heart-failure-harm-is-shown",
        ),
        pytest.param(
            [lbp(onset_days=5), HOSPICE, HEART_FAILURE],
            "order-sign",
            [draft(IBUPROFEN)],
            {"nsaid-contraindicated": Indicator.CRITICAL},
            id="hospice-nsaid-draft-with-heart-failure-shown",
        ),
        pytest.param(
            [lbp(onset_days=5), HOSPICE],
            "order-sign",
            [draft(PREDNISONE)],
            {},
            id="hospice-steroid-draft-not-second-guessed",
        ),
        pytest.param(
            [lbp(onset_days=5), condition(SCT, "385763009", "Hospice care")],
            "patient-view",
            [],
            {},
            id="hospice-snomed-code-silent",
        ),
        pytest.param(
            [lbp(onset_days=5), service_request(SCT, "385763009", "Hospice care", status="active")],
            "patient-view",
            [],
            {},
            id="active-hospice-order-silent",
        ),
    ],
)
def test_hospice_returns_only_the_harm_of_an_nsaid_in_play(resources, hook, drafts, expected):
    assert topics(resources, hook, drafts, age=84) == expected


@pytest.mark.parametrize(
    ("resources", "age", "present", "silenced"),
    [
        pytest.param(
            [lbp(onset_days=5), CAUDA_EQUINA],
            45,
            {"red-flags"},
            {"nsaid-first-line", "second-line"},
            id="cauda-equina-acute-no-nsaid-first-or-wait-1-2-weeks",
        ),
        pytest.param(
            [lbp(onset_days=200), CAUDA_EQUINA],
            45,
            {"red-flags"},
            {"chronic-pain-options", "depression-screening", "nsaid-first-line"},
            id="cauda-equina-chronic-no-exercise-or-screening-advice",
        ),
        pytest.param(
            [
                condition(SCT, "23056005", "Sciatica", onset_days=10),
                condition(ICD, "M21.371", "Foot drop, right foot", onset_days=3),
            ],
            45,
            {"red-flags"},
            {"radicular-pain", "second-line"},
            id="new-foot-drop-no-conservative-sciatica-advice",
        ),
        pytest.param(
            [lbp(onset_days=5), observation("8310-5", 39.0, "Cel", days=1)],
            45,
            {"red-flags"},
            {"nsaid-first-line", "second-line"},
            id="fever-tier-a-no-wait-and-see",
        ),
        pytest.param(
            [lbp(onset_days=5), CAUDA_EQUINA, HEART_FAILURE, med_request(*IBUPROFEN, dosage(1, "TAB", 3))],
            45,
            {"red-flags", "nsaid-contraindicated", "acetaminophen-alternative"},
            set(),
            id="cauda-equina-keeps-drug-safety-nsaid-harm",
        ),
        pytest.param(
            [lbp(onset_days=200), CAUDA_EQUINA, med_request(*OXY, dosage(4, "TAB", 4)), med_request(*ALPRAZOLAM)],
            45,
            {"red-flags", "opioid-benzodiazepine", "opioid-high-dose", "opioid-risk"},
            set(),
            id="cauda-equina-keeps-opioid-safety-cards",
        ),
        pytest.param(
            [lbp(onset_days=5), CAUDA_EQUINA, med_request(*PREDNISONE, authored_days=2)],
            45,
            {"red-flags", "not-recommended-treatment"},
            set(),
            id="cauda-equina-keeps-not-recommended",
        ),
    ],
)
def test_an_urgent_red_flag_silences_wait_and_see_advice(resources, age, present, silenced):
    found = topics(resources, age=age)
    assert present <= set(found) and found["red-flags"] is Indicator.CRITICAL
    assert not (set(found) & WAIT_AND_SEE), found  # `silenced`: what the same chart got before (all wait-and-see)
    assert silenced <= WAIT_AND_SEE


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [lbp(onset_days=5), CANCER],
            {"red-flags", "nsaid-first-line", "second-line"},
            id="tier-b-cancer-history-is-a-work-up-not-an-emergency-advice-stays",
        ),
        pytest.param([lbp(onset_days=5)], {"nsaid-first-line", "second-line"}, id="no-red-flag-advice-stays"),
    ],
)
def test_tier_b_red_flags_leave_the_advice(resources, expected):
    assert expected <= set(topics(resources))


@pytest.mark.parametrize(
    ("back_pain", "expected"),
    [
        pytest.param(
            condition(SCT, "278860009", "Chronic low back pain", onset_days=20),
            "chronic",
            id="coded-chronic-low-back-pain-recorded-20-days-ago-is-chronic",
        ),
        pytest.param(
            condition(SCT, "134407002", "Chronic back pain", onset_days=None, recorded_days=3),
            "chronic",
            id="coded-chronic-back-pain-recorded-3-days-ago-is-chronic",
        ),
        pytest.param(
            condition(SCT, "278860009", "Chronic low back pain", onset_days=None),
            "chronic",
            id="coded-chronic-undated-is-chronic",
        ),
        pytest.param(
            condition(SCT, "279039007", "Low back pain", onset_days=20),
            "acute",
            id="plain-low-back-pain-follows-its-dates",
        ),
        pytest.param(
            condition(SCT, "278862001", "Acute low back pain", onset_days=100),
            "chronic",
            id="coded-acute-but-100-days-old-follows-its-dates",
        ),
    ],
)
def test_a_code_that_says_chronic_makes_the_episode_chronic(back_pain, expected):
    found = by_topic(cards_for([back_pain]))
    if expected == "chronic":
        assert "second-line" not in found and "(acute)" not in "".join(c.detail for c in found.values())
        assert "Chronic back pain" in found["chronic-pain-options"].summary
        assert "depression-screening" in found and "duloxetine" in found["chronic-pain-options"].detail
    else:
        assert "second-line" in found and "chronic-pain-options" not in found


def test_coded_chronic_pain_dated_recently_is_not_early_imaging():
    found = by_topic(
        cards_for(
            [condition(SCT, "278860009", "Chronic low back pain", onset_days=10)],
            hook="order-sign",
            drafts=[service_request("http://www.ama-assn.org/go/cpt", "72148", "MRI lumbar spine", rid="d-mri")],
        )
    )
    assert "imaging-overuse" not in found
