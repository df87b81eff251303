"""Advice that agrees with the safety cards beside it (issue 19, a clinician's second read): chronic-pain options do
not advise an NSAID where NSAIDs are contraindicated (4.1, 7.2), and the NSAID card does not advise acetaminophen
when the patient already takes its daily maximum (0.10 item 11)."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, ago, condition, dosage, lbp, med_request, observation, patient

HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
IBUPROFEN_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
APAP_500 = ("198440", "acetaminophen 500 MG Oral Tablet")


def drug_lines(resources):
    card = by_topic(cards_for([lbp(onset_days=200), *resources], pt=patient(age=45)))["chronic-pain-options"]
    return [line for line in card.detail.splitlines() if "NSAID" in line]


@pytest.mark.parametrize(
    ("resources", "said"),
    [
        pytest.param(
            [], ["- Drugs if needed: an NSAID first."], id="chronic-pain-without-contraindication-nsaid-first"
        ),
        pytest.param(
            [HEART_FAILURE],
            ["- NSAIDs are contraindicated for this patient (see the NSAID card)."],
            id="heart-failure-contraindicates-nsaids-so-none-is-advised",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), authored_days=20)],
            [
                "- NSAIDs are contraindicated for this patient (see the NSAID card); already on "
                f"ibuprofen 600 MG Oral Tablet (last ordered {ago(20)})."
            ],
            id="an-nsaid-taken-despite-heart-failure-is-named-not-endorsed-as-first-line",
        ),
    ],
)
def test_chronic_pain_options_advise_an_nsaid_only_where_one_may_be_taken(resources, said):
    assert drug_lines(resources) == said


USE_IT = "Use acetaminophen within its daily maximum, or nonpharmacologic care, instead."


@pytest.mark.parametrize(
    ("taken", "age", "last"),
    [
        pytest.param([], 45, USE_IT, id="no-acetaminophen-taken-use-it-within-its-maximum"),
        pytest.param([med_request(*APAP_500, dosage(2, "TAB", 2))], 45, USE_IT, id="2000-mg-taken-below-3000-use-it"),
        pytest.param(
            [med_request(*APAP_500, dosage(2, "TAB", 3))],
            45,
            "Acetaminophen is already at 3,000 mg/day, at its 3,000 mg/day maximum here: use nonpharmacologic care.",
            id="3000-mg-taken-is-its-maximum-no-more-advised",
        ),
        pytest.param(
            [med_request(*APAP_500, dosage(2, "TAB", 4))],
            45,
            "Acetaminophen is already at 4,000 mg/day, above its 3,000 mg/day maximum here: use nonpharmacologic care.",
            id="4000-mg-taken-is-above-its-3000-maximum-not-at-it",
        ),
    ],
)
def test_the_nsaid_card_advises_acetaminophen_only_below_its_daily_maximum(taken, age, last):
    cards = by_topic(cards_for([lbp(onset_days=200), HEART_FAILURE, *taken], pt=patient(age=age)))
    assert cards["nsaid-contraindicated"].detail.split("\n\n")[-1] == last


EGFR = "62238-1"


def second_line(resources):
    card = by_topic(cards_for([lbp(onset_days=200), *resources], pt=patient(age=45)))["chronic-pain-options"]
    return [line for line in card.detail.splitlines() if "uloxetine" in line or "tramadol" in line]


TRAMADOL_REDUCED = "- Second-line (ACP 2017): tramadol, immediate-release at a reduced dose."
BEERS = "Beers 2023 advises avoiding duloxetine and reducing tramadol."


@pytest.mark.parametrize(
    ("resources", "said"),
    [
        pytest.param([], ["- Second-line (ACP 2017): duloxetine or tramadol."], id="normal-kidneys-both-offered"),
        pytest.param(
            [observation(EGFR, 45, days=20)],
            ["- Second-line (ACP 2017): duloxetine or tramadol."],
            id="egfr-45-both-offered",
        ),
        pytest.param(
            [observation(EGFR, 30, days=20)],
            ["- Second-line (ACP 2017): duloxetine or tramadol."],
            id="egfr-30-is-not-below-30-both-offered",
        ),
        pytest.param(
            [observation(EGFR, 25, days=20)],
            [TRAMADOL_REDUCED, f"- Kidney function: eGFR 25 on {ago(20)} (below 30). {BEERS}"],
            id="egfr-25-duloxetine-avoided-tramadol-reduced-as-beers-2023-says-naming-the-lab",
        ),
        pytest.param(
            [condition(ICD, "N18.5", "Chronic kidney disease, stage 5", onset_days=400)],
            [
                TRAMADOL_REDUCED,
                "- Kidney function: severe kidney disease: Chronic kidney disease, stage 5 "
                f"(onset {ago(400)}). {BEERS}",
            ],
            id="ckd-5-is-severe-kidney-impairment-too-named-by-the-condition",
        ),
        pytest.param(
            [observation(EGFR, 25, days=20), med_request("596930", "duloxetine 30 MG", authored_days=20)],
            [
                f"- Second-line drug duloxetine: already on duloxetine 30 MG (last ordered {ago(20)}).",
                TRAMADOL_REDUCED,
                f"- Kidney function: eGFR 25 on {ago(20)} (below 30). {BEERS}",
            ],
            id="egfr-25-on-duloxetine-named-beside-the-beers-advice-against-it",
        ),
    ],
)
def test_second_line_drugs_follow_kidney_function(resources, said):
    assert second_line(resources) == said
