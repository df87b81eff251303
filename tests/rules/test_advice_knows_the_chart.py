"""Advice names what the patient already takes instead of suggesting it (clinical reference 0.10 item 14)."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, dosage, lbp, med_request, med_statement, patient

IBUPROFEN_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
DULOXETINE = ("596930", "duloxetine 30 MG Delayed Release Oral Capsule")
OXY = ("1049621", "oxycodone 5 MG Oral Tablet")
CYCLOBENZAPRINE = ("828348", "cyclobenzaprine hydrochloride 10 MG Oral Tablet")


def card(resources, topic, age=45):
    return by_topic(cards_for(resources, pt=patient(age=age))).get(topic)


@pytest.mark.parametrize(
    ("resources", "says", "never"),
    [
        pytest.param(
            [lbp(onset_days=9), med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), authored_days=30)],
            [
                f"Already on an NSAID: ibuprofen 600 MG Oral Tablet (last ordered {ago(30)})",
                "600 mg 3 times a day = 1,800 mg/day: no added benefit above 400 mg a dose",
                "do not add a second NSAID",
            ],
            ["If a drug is wanted"],
            id="current-ibuprofen-600-named-with-dose-and-date-above-400-a-dose",
        ),
        pytest.param(
            [lbp(onset_days=9), med_request(*IBUPROFEN_600, authored_days=30)],
            ["600 mg a unit, no structured dose: no added benefit above 400 mg a dose"],
            ["If a drug is wanted"],
            id="ibuprofen-600-without-a-sig-still-named-by-its-strength",
        ),
        pytest.param(
            [lbp(onset_days=9), med_statement(*NAPROXEN_500, dosage(1, "TAB", 2), start_days=40)],
            [f"Already on an NSAID: naproxen 500 MG Oral Tablet (last recorded {ago(40)})"],
            ["If a drug is wanted", "no added benefit"],
            id="naproxen-within-its-dose-named-without-a-warning",
        ),
        pytest.param(
            [lbp(onset_days=9)],
            ["If a drug is wanted: ibuprofen 400 mg"],
            ["Already on"],
            id="no-nsaid-taken-ibuprofen-suggested",
        ),
    ],
)
def test_nsaid_first_line_names_the_nsaid_already_taken(resources, says, never):
    found = card(resources, "nsaid-first-line")
    assert all(s in found.detail for s in says), found.detail
    assert not any(n in found.detail for n in never), found.detail
    assert bool(found.suggestions) is ("Already on" in never)  # a one-click order only when no NSAID is taken


@pytest.mark.parametrize(
    ("resources", "says", "never"),
    [
        pytest.param(
            [
                lbp(onset_days=200),
                med_request(*DULOXETINE, authored_days=10),
                med_request(*DULOXETINE, status="completed", authored_days=90),
            ],
            [
                f"Second-line drug duloxetine: already on duloxetine 30 MG Delayed Release Oral Capsule "
                f"(last ordered {ago(10)}), taken since {ago(90)}",
                "Second-line (ACP 2017): tramadol.",
            ],
            ["duloxetine or tramadol"],
            id="on-duloxetine-since-the-first-order-of-its-run-not-suggested-again",
        ),
        pytest.param(
            [lbp(onset_days=200), med_request(*OXY, dosage(1, "TAB", 4))],
            ["tramadol would add another opioid", "Second-line (ACP 2017): duloxetine."],
            ["or tramadol"],
            id="on-an-opioid-tramadol-not-offered",
        ),
        pytest.param(
            [lbp(onset_days=200), med_request(*IBUPROFEN_600, dosage(1, "TAB", 3), authored_days=30)],
            ["First-line drug, an NSAID: already on ibuprofen 600 MG Oral Tablet"],
            ["an NSAID first"],
            id="on-an-nsaid-named-as-the-first-line-drug",
        ),
        pytest.param(
            [lbp(onset_days=200)],
            ["an NSAID first", "Second-line (ACP 2017): duloxetine or tramadol."],
            ["already on"],
            id="nothing-taken-both-second-line-drugs-suggested",
        ),
    ],
)
def test_chronic_pain_options_name_the_drugs_already_taken(resources, says, never):
    found = card(resources, "chronic-pain-options")
    assert all(s in found.detail for s in says), found.detail
    assert not any(n in found.detail for n in never), found.detail


@pytest.mark.parametrize(
    ("resources", "says"),
    [
        pytest.param(
            [lbp(onset_days=5), med_request(*CYCLOBENZAPRINE, authored_days=3)],
            f"already on a muscle relaxant: cyclobenzaprine hydrochloride 10 MG Oral Tablet (last ordered "
            f"{ago(3)}); keep it time-limited",
            id="on-cyclobenzaprine-named-not-suggested",
        ),
        pytest.param([lbp(onset_days=5)], "a time-limited skeletal muscle relaxant", id="no-relaxant-taken-suggested"),
    ],
)
def test_second_line_names_the_muscle_relaxant_already_taken(resources, says):
    assert says in card(resources, "second-line").detail


@pytest.mark.parametrize(
    ("resources", "summary"),
    [
        pytest.param(
            [lbp(onset_days=9), med_request(*IBUPROFEN_600, dosage(1, "TAB", 3))],
            "Already on an NSAID: lowest dose, shortest course, stay active",
            id="on-an-nsaid-summary-says-so",
        ),
        pytest.param([lbp(onset_days=9)], "First line: NSAID plus staying active", id="no-nsaid-first-line-summary"),
    ],
)
def test_the_first_line_summary_knows_an_nsaid_is_taken(resources, summary):
    assert card(resources, "nsaid-first-line").summary == summary
