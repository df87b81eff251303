"""A card about a drafted NSAID or opioid names the drafted dose and says when it is above what the guideline
advises; a drafted NSAID beside an active NSAID order is a duplicate (clinical reference 0.9, section 4)."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request, observation

IBUPROFEN_400 = ("197805", "ibuprofen 400 MG Oral Tablet")
IBUPROFEN_800 = ("197807", "ibuprofen 800 MG Oral Tablet")
IBUPROFEN = ("5640", "ibuprofen")  # the ingredient: a dose in mg needs no product strength
NAPROXEN_500 = ("198014", "naproxen 500 MG Oral Tablet")
MELOXICAM_15 = ("152695", "meloxicam 15 MG Oral Tablet")
OXYCODONE_5 = ("1049621", "oxycodone 5 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
EGFR_25 = observation("62238-1", 25, "mL/min/{1.73_m2}", days=20)


def draft(drug, dose, rid="d-nsaid"):
    return med_request(*drug, dose, status="draft", rid=rid)


def order_sign(resources, drafts):
    return by_topic(cards_for([lbp(onset_days=10), *resources], hook="order-sign", drafts=drafts))


@pytest.mark.parametrize(
    ("drafted", "named", "above"),
    [
        pytest.param(
            draft(IBUPROFEN_800, dosage(1, "TAB", 3)),
            "800 mg 3 times a day = 2,400 mg/day",
            ["800 mg a dose is above the 400 mg"],
            id="ibuprofen-800-a-dose-adds-no-benefit-above-400",
        ),
        pytest.param(
            draft(IBUPROFEN, dosage(401, "mg", 4)),
            "401 mg 4 times a day = 1,604 mg/day",
            ["401 mg a dose is above the 400 mg"],
            id="ibuprofen-401-mg-is-one-over-the-dose-limit",
        ),
        pytest.param(
            draft(IBUPROFEN, dosage(400, "mg", 9)),
            "400 mg 9 times a day = 3,600 mg/day",
            ["3,600 mg/day is above the 3,200 mg/day maximum"],
            id="ibuprofen-400-nine-times-is-over-3200",
        ),
        pytest.param(
            draft(IBUPROFEN, dosage(3201, "mg")),
            "3,201 mg once a day = 3,201 mg/day",
            ["3,201 mg a dose is above the 400 mg", "3,201 mg/day is above the 3,200 mg/day maximum"],
            id="ibuprofen-3201-mg-a-day-is-one-over-the-daily-limit",
        ),
        pytest.param(
            draft(NAPROXEN_500, dosage(1.5, "TAB", 2)),
            "750 mg twice a day = 1,500 mg/day",
            ["750 mg a dose is above the 500 mg", "1,500 mg/day is above the 1,000 mg/day maximum"],
            id="naproxen-750-twice-daily-is-over-250-500-twice-daily",
        ),
    ],
)
def test_drafted_nsaid_above_the_guideline_dose_is_named_at_order_sign(drafted, named, above):
    card = order_sign([], [drafted])["nsaid-first-line"]
    assert card.indicator is Indicator.WARNING
    assert card.summary == "NSAID order above the guideline dose"
    assert f"Drafted: {drafted['medicationCodeableConcept']['coding'][0]['display']}: {named}." in card.detail
    for reason in above:
        assert reason in card.detail
    assert card.detail.count("is above the") == len(above)
    suggestion = card.suggestions[0]
    assert [a.type for a in suggestion.actions] == ["delete", "create"]
    assert suggestion.actions[0].resource_id == "MedicationRequest/d-nsaid"


@pytest.mark.parametrize(
    "drafted",
    [
        pytest.param(draft(IBUPROFEN_400, dosage(1, "TAB", 4)), id="ibuprofen-400-four-times-a-day-is-the-advice"),
        pytest.param(draft(IBUPROFEN, dosage(400, "mg", 8)), id="ibuprofen-400-eight-times-is-exactly-3200"),
        pytest.param(draft(IBUPROFEN, dosage(400, "mg")), id="ibuprofen-exactly-400-mg-is-not-above"),
        pytest.param(draft(NAPROXEN_500, dosage(1, "{pill}", 2)), id="naproxen-500-twice-daily-is-within-the-advice"),
        pytest.param(draft(MELOXICAM_15, dosage(1, "TAB")), id="meloxicam-has-no-guideline-dose-to-compare"),
        pytest.param(draft(IBUPROFEN_800, None), id="a-draft-without-a-structured-dose-is-not-judged"),
    ],
)
def test_nsaid_draft_within_the_guideline_gets_no_card_at_order_sign(drafted):
    assert "nsaid-first-line" not in order_sign([], [drafted])


@pytest.mark.parametrize(
    ("chart", "duplicate"),
    [
        pytest.param(
            [med_request(*NAPROXEN_500, dosage(1, "TAB", 2), authored_days=20)],
            True,
            id="ibuprofen-draft-beside-active-naproxen-is-a-duplicate",
        ),
        pytest.param(
            [med_request(*NAPROXEN_500, dosage(1, "TAB", 2), status="stopped")],
            False,
            id="stopped-naproxen-is-no-duplicate",
        ),
        pytest.param(
            [med_request(*NAPROXEN_500, dosage(1, "TAB", 2), status="completed")],
            False,
            id="completed-naproxen-is-no-duplicate",
        ),
        pytest.param([], False, id="no-other-nsaid-no-duplicate"),
    ],
)
def test_drafted_nsaid_beside_an_active_nsaid_is_called_a_duplicate(chart, duplicate):
    cards = order_sign(chart, [draft(IBUPROFEN_400, dosage(1, "TAB", 4))])
    assert ("nsaid-first-line" in cards) is duplicate
    if duplicate:
        card = cards["nsaid-first-line"]
        assert card.summary == "Duplicate NSAID order"
        assert "**Duplicate NSAID:** already active: naproxen 500 MG Oral Tablet (last ordered" in card.detail
        assert [a.type for a in card.suggestions[0].actions] == ["delete"]


def test_patient_view_without_drafts_keeps_the_plain_first_line_advice():
    card = by_topic(cards_for([lbp(onset_days=10), med_request(*NAPROXEN_500, dosage(1, "TAB", 2))]))[
        "nsaid-first-line"
    ]
    assert card.indicator is Indicator.INFO and "Drafted" not in card.detail and "Duplicate" not in card.detail


def test_contraindicated_nsaid_card_names_the_drafted_dose_and_its_excess():
    card = order_sign([EGFR_25], [draft(IBUPROFEN_800, dosage(1, "TAB", 3))])["nsaid-contraindicated"]
    assert "ibuprofen 800 MG Oral Tablet (draft order: 800 mg 3 times a day = 2,400 mg/day)" in card.detail
    assert "800 mg a dose is above the 400 mg the guideline advises" in card.detail


def test_drafted_opioid_is_named_with_its_dose_beside_the_benzodiazepine():
    cards = order_sign(
        [med_request(*ALPRAZOLAM, authored_days=30)], [draft(OXYCODONE_5, dosage(2, "{pill}", 4), rid="d-oxy")]
    )
    assert (
        "Opioid: oxycodone 5 MG Oral Tablet (draft: 10 mg 4 times a day = 40 mg/day)."
        in cards["opioid-benzodiazepine"].detail
    )
    assert (
        "- oxycodone 5 MG Oral Tablet (draft order): 10 mg x 4/day = 40 mg/day x 1.5 = 60 MME/day"
        in cards["opioid-high-dose"].detail
    )


def test_a_duplicate_draft_without_a_readable_dose_is_still_called_a_duplicate():
    cards = order_sign([med_request(*NAPROXEN_500, dosage(1, "TAB", 2))], [draft(IBUPROFEN_800, dosage(5, "mL", 3))])
    detail = cards["nsaid-first-line"].detail
    assert detail.startswith("Drafted: ibuprofen 800 MG Oral Tablet (no structured dose).\n- **Duplicate NSAID:**")


def test_a_draft_above_the_dose_is_replaced_by_ibuprofen_400_for_this_patient():
    card = order_sign([], [draft(NAPROXEN_500, dosage(2, "TAB", 2))])["nsaid-first-line"]
    (suggestion,) = card.suggestions
    assert suggestion.label == (
        "Replace naproxen 500 MG Oral Tablet by ibuprofen 400 mg every 6 hours as needed, "
        "at most 4 a day (1,600 mg/day)"
    )
    remove, create = suggestion.actions
    assert remove.resource_id == "MedicationRequest/d-nsaid"
    order = create.resource
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "197805"
    assert order["subject"]["reference"] == "Patient/pt-1" and order["status"] == "draft"


def test_a_duplicate_draft_above_the_dose_is_removed_rather_than_replaced():
    card = order_sign([med_request(*NAPROXEN_500, dosage(1, "TAB", 2))], [draft(IBUPROFEN_800, dosage(1, "TAB", 3))])[
        "nsaid-first-line"
    ]
    assert card.summary == "Duplicate NSAID order above the guideline dose"
    assert [s.label for s in card.suggestions] == ["Remove the duplicate ibuprofen 800 MG Oral Tablet draft"]


def test_two_drafts_above_the_dose_each_get_their_suggestion():
    drafts = [draft(IBUPROFEN_800, dosage(1, "TAB", 3), rid="d1"), draft(NAPROXEN_500, dosage(2, "TAB", 2), rid="d2")]
    card = order_sign([], drafts)["nsaid-first-line"]
    assert [s.actions[0].resource_id for s in card.suggestions] == ["MedicationRequest/d1", "MedicationRequest/d2"]
    assert card.detail.count("Drafted: ") == 2


def test_at_order_select_every_nsaid_draft_is_judged_selected_or_not():
    """All drafts of an order-select are about to be signed together (clinical reference 0.10 item 19)."""
    drafts = [draft(IBUPROFEN_800, dosage(1, "TAB", 3), rid="d1"), draft(IBUPROFEN_400, dosage(1, "TAB", 4), rid="d2")]
    found = by_topic(
        cards_for([lbp(onset_days=10)], hook="order-select", drafts=drafts, selections=["MedicationRequest/d2"])
    )
    assert "nsaid-first-line" in found


@pytest.mark.parametrize(
    ("dose", "named"),
    [
        pytest.param(dosage(2, "{pill}", 4, 1, "d"), "10 mg 4 times a day = 40 mg/day", id="sandbox-pill-units"),
        pytest.param(dosage(10, "mg", 1, 12, "h"), "10 mg twice a day = 20 mg/day", id="mg-every-12-hours"),
        pytest.param(dosage(10, "mg", 1, 2, "d"), "10 mg every other day = 5 mg/day", id="every-other-day"),
        pytest.param(
            {
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}],
                "timing": {"code": {"coding": [{"code": "PRN"}]}},
            },
            "5 mg a dose",
            id="no-frequency-a-dose",
        ),
        pytest.param(dosage(0, "TAB", 4), None, id="zero-dose-not-named"),
        pytest.param(dosage(1, "mL", 4), None, id="volume-of-a-tablet-not-named"),
    ],
)
def test_how_a_drafted_opioid_dose_is_named(dose, named):
    cards = order_sign([med_request(*ALPRAZOLAM, authored_days=30)], [draft(OXYCODONE_5, dose, rid="d-oxy")])
    detail = cards["opioid-benzodiazepine"].detail
    expected = (
        f"Opioid: oxycodone 5 MG Oral Tablet (draft: {named})."
        if named
        else "Opioid: oxycodone 5 MG Oral Tablet (draft)."
    )
    assert expected in detail


def test_a_nasal_spray_dose_is_counted_in_actuations():
    spray = med_request(
        "886634",
        "butorphanol tartrate 1 MG/ACTUAT Metered Dose Nasal Spray",
        dosage(2, "{spray}", 1, 4, "h"),
        status="draft",
        rid="d-spray",
    )
    detail = order_sign([med_request(*ALPRAZOLAM, authored_days=30)], [spray])["opioid-benzodiazepine"].detail
    assert "(draft: 2 mg 6 times a day = 12 mg/day)" in detail


@pytest.mark.parametrize(
    ("unit", "named"),
    [
        pytest.param("mL", "(draft: 10 mg 4 times a day = 40 mg/day)", id="solution-by-millilitre"),
        pytest.param("L", "(draft: 10,000 mg 4 times a day = 40,000 mg/day)", id="solution-by-litre"),
        pytest.param("TAB", "(draft)", id="a-solution-is-not-counted-in-tablets"),
    ],
)
def test_a_solution_dose_is_its_volume_times_its_concentration(unit, named):
    solution = med_request(
        "1049604", "oxycodone hydrochloride 1 MG/ML Oral Solution", dosage(10, unit, 4), status="draft", rid="d-sol"
    )
    detail = order_sign([med_request(*ALPRAZOLAM, authored_days=30)], [solution])["opioid-benzodiazepine"].detail
    assert f"oxycodone hydrochloride 1 MG/ML Oral Solution {named}." in detail
