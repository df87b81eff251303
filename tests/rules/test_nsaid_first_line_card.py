"""nsaid-first-line as the clinician reads it (clinical reference section 4): for an NSAID already taken, its dose
and whether a dose is above what the guideline advises (ibuprofen 400 mg); for a caution, whether a proton-pump
inhibitor goes with it (a GI risk) or not (kidney)."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request, med_statement, observation, patient
from tests.fhir_builders import without_display as bare

IBU_400 = ("197805", "ibuprofen 400 MG Oral Tablet")
IBU_600 = ("197806", "ibuprofen 600 MG Oral Tablet")
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
KEEP = ". Keep to the lowest dose for the shortest time; do not add a second NSAID."


def first_line(*resources, age=45):
    return by_topic(cards_for([lbp(onset_days=9), *resources], pt=patient(age=age)))["nsaid-first-line"]


@pytest.mark.parametrize(
    ("meds", "said"),
    [
        pytest.param(
            [med_request(*IBU_600)],
            "ibuprofen 600 MG Oral Tablet (last ordered 2026-11-22); 600 mg a unit, no structured dose: "
            "no added benefit above 400 mg a dose",
            id="600-mg-tablet-without-a-dose-is-above-the-400-advised",
        ),
        pytest.param(
            [med_request(*IBU_400)],
            "ibuprofen 400 MG Oral Tablet (last ordered 2026-11-22); 400 mg a unit, no structured dose",
            id="400-mg-tablet-without-a-dose-is-what-is-advised",
        ),
        pytest.param(
            [med_request(*IBU_400, dosage(2, "TAB", 3))],
            "ibuprofen 400 MG Oral Tablet (last ordered 2026-11-22); 800 mg 3 times a day = 2,400 mg/day: "
            "no added benefit above 400 mg a dose",
            id="two-400-mg-tablets-a-dose-are-800-above-the-400-advised",
        ),
        pytest.param(
            [med_request("5640", "ibuprofen", dosage(800, "mg", 3))],
            "ibuprofen (last ordered 2026-11-22); 800 mg 3 times a day = 2,400 mg/day: "
            "no added benefit above 400 mg a dose",
            id="coded-by-ingredient-800-mg-a-dose-is-above-the-400-advised",
        ),
        pytest.param(
            [med_request("5640", "ibuprofen")],
            "ibuprofen (last ordered 2026-11-22)",
            id="coded-by-ingredient-without-a-dose-nothing-to-say-about-it",
        ),
        pytest.param(
            [med_request(*IBU_600, dosage(1, "TAB", 3)), med_request(*NAPROXEN_500, dosage(1, "TAB", 2))],
            "ibuprofen 600 MG Oral Tablet (last ordered 2026-11-22), naproxen 500 MG Oral Tablet (last ordered "
            "2026-11-22); 600 mg 3 times a day = 1,800 mg/day: no added benefit above 400 mg a dose; "
            "500 mg twice a day = 1,000 mg/day",
            id="two-nsaids-each-dose-said-once",
        ),
        pytest.param(
            [bare(med_request(IBU_600[0], "", dosage(1, "TAB", 3)))],
            "NSAID (last ordered 2026-11-22); 600 mg 3 times a day = 1,800 mg/day: "
            "no added benefit above 400 mg a dose",
            id="an-nsaid-without-display-is-named-nsaid",
        ),
    ],
)
def test_an_nsaid_already_taken_is_named_with_its_dose(meds, said):
    card = first_line(*meds)
    assert f"- Already on an NSAID: {said}{KEEP}" in card.detail.splitlines(), card.detail
    assert card.suggestions == ()  # no second NSAID offered


@pytest.mark.parametrize(
    ("resources", "age", "header"),
    [
        pytest.param([], 45, None, id="no-caution-no-caution-header"),
        pytest.param(
            [],
            70,
            "**Use with caution** (lowest dose, shortest course, with a proton-pump inhibitor):",
            id="age-70-a-gi-risk-with-a-ppi",
        ),
        pytest.param(
            [observation("62238-1", 45, days=20)],
            45,
            "**Use with caution** (lowest dose, shortest course):",
            id="egfr-45-a-kidney-caution-no-ppi",
        ),
    ],
)
def test_a_caution_says_whether_a_ppi_goes_with_the_nsaid(resources, age, header):
    card = first_line(*resources, age=age)
    lines = card.detail.splitlines()
    assert lines[0].startswith("Back pain: Low back pain")  # the cautions come after what the card advises
    assert [x for x in lines if x.startswith("**Use with caution**")] == ([header] if header else [])
    assert card.override_reasons == ()  # advice with nothing ordered: nothing to override


NO_BENEFIT = "; 600 mg a unit, no structured dose: no added benefit above 400 mg a dose"


@pytest.mark.parametrize(
    ("meds", "named"),
    [
        pytest.param(
            [med_request(*IBU_600) | {"authoredOn": None}],
            "ibuprofen 600 MG Oral Tablet",
            id="an-undated-order-no-dates",
        ),
        pytest.param(
            [med_statement(*IBU_600, start_days=30, end_days=-10)],
            "ibuprofen 600 MG Oral Tablet (last recorded 2026-10-28)",
            id="a-statement-ending-after-today-is-taken-now",
        ),
        pytest.param(
            [med_statement(*IBU_600, status="not-taken", start_days=200), med_request(*IBU_600)],
            "ibuprofen 600 MG Oral Tablet (last ordered 2026-11-22)",
            id="a-statement-that-it-was-not-taken-does-not-date-its-start",
        ),
        pytest.param(
            [med_request(*IBU_600, status="completed", authored_days=60), med_request(*IBU_600)],
            "ibuprofen 600 MG Oral Tablet (last ordered 2026-11-22), taken since 2026-09-28",
            id="an-earlier-completed-order-of-the-same-run-dates-its-start",
        ),
    ],
)
def test_an_nsaid_already_taken_is_dated_by_the_orders_that_mean_use(meds, named):
    assert f"- Already on an NSAID: {named}{NO_BENEFIT}{KEEP}" in first_line(*meds).detail.splitlines()
