"""Each guideline threshold at its edge: the last value that fires and the first that does not (and so every
threshold moved by one fails a case here or beside its rule; `scripts/threshold_mutation.py` checks that)."""

import pytest

from cds_service.rules._wording import ago
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import SCT, condition, dosage, lbp, med_request, observation, patient

EGFR = "62238-1"
OXY_5 = ("1049621", "oxycodone 5 MG Oral Tablet")
MORPHINE_15 = ("892582", "morphine sulfate 15 MG Oral Tablet")
NALOXONE_SPRAY = ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
EVERY_4H = dosage(2, "TAB", 1, 4, "h")  # 2 tablets 6 times a day


def cards(*resources, **kw):
    return by_topic(cards_for([lbp(onset_days=200), *resources], **kw))


@pytest.mark.parametrize(
    ("egfr", "days", "caution"),
    [
        pytest.param(59, 30, True, id="egfr-59-below-60-is-a-caution"),
        pytest.param(60, 30, False, id="egfr-60-is-no-caution"),
        pytest.param(45, 365, True, id="egfr-365-days-old-still-counts"),
        pytest.param(45, 366, False, id="egfr-366-days-old-is-ignored"),
    ],
)
def test_egfr_30_to_59_within_a_year_is_an_nsaid_caution(egfr, days, caution):
    card = cards(observation(EGFR, egfr, "mL/min/{1.73_m2}", days=days))["nsaid-first-line"]
    assert ("eGFR" in card.detail) is caution


@pytest.mark.parametrize(
    ("days", "contraindicated"),
    [
        pytest.param(294, True, id="pregnancy-status-42-weeks-ago-counts"),
        pytest.param(295, False, id="pregnancy-status-42-weeks-and-a-day-ago-is-too-old"),
    ],
)
def test_pregnancy_status_within_42_weeks_contraindicates_nsaids(days, contraindicated):
    found = cards(observation("82810-3", None, days=days, value_code=(SCT, "77386006")))
    assert ("nsaid-contraindicated" in found) is contraindicated


@pytest.mark.parametrize(
    ("alt", "hepatic"),
    [
        pytest.param(120, False, id="alt-120-without-range-is-not-above-120"),
        pytest.param(121, True, id="alt-121-without-range-is-hepatic-risk"),
    ],
)
def test_alt_over_120_without_a_range_lowers_the_acetaminophen_cap(alt, hepatic):
    card = cards(
        condition("http://hl7.org/fhir/sid/icd-10-cm", "I50.9", "Heart failure"),
        observation("1742-6", alt, "U/L", days=10),
    )["acetaminophen-alternative"]
    assert ("2,000" in card.summary) is hepatic


@pytest.mark.parametrize(
    ("since", "long_term"),
    [
        pytest.param(91, True, id="opioid-since-91-days-is-long-term"),
        pytest.param(90, False, id="opioid-since-90-days-is-not-yet-long-term"),
    ],
)
def test_long_term_opioid_therapy_from_91_days(since, long_term):
    detail = cards(med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=since))["opioid-risk"].detail
    assert ("Long-term therapy" in detail) is long_term


@pytest.mark.parametrize(
    ("score", "named"),
    [
        pytest.param(10, True, id="phq9-10-is-an-opioid-risk-factor"),
        pytest.param(9, False, id="phq9-9-is-not"),
    ],
)
def test_phq9_of_10_is_named_as_an_opioid_risk_factor(score, named):
    detail = cards(med_request(*OXY_5, dosage(1, "TAB", 4)), observation("44261-6", score, days=20))[
        "opioid-risk"
    ].detail
    assert ("PHQ-9" in detail) is named


@pytest.mark.parametrize(
    ("tablets_a_day", "card"),
    [
        pytest.param(3.4, True, id="morphine-51-mme-is-a-naloxone-risk"),
        pytest.param(3.3, False, id="morphine-49.5-mme-alone-is-no-naloxone-risk"),
    ],
)
def test_naloxone_offered_from_50_mme(tablets_a_day, card):
    # 15 mg x 3.4 = 51 MME; 15 mg x 3.3 = 49.5 MME (morphine factor 1), age 40 and no other risk factor
    dose = {
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": tablets_a_day, "unit": "TAB"}}],
    }
    found = cards(med_request(*MORPHINE_15, dose), pt=patient(age=40))
    assert ("naloxone" in found) is card


@pytest.mark.parametrize(
    ("ordered", "card"),
    [
        pytest.param(730, False, id="naloxone-ordered-730-days-ago-is-on-record"),
        pytest.param(731, True, id="naloxone-ordered-731-days-ago-is-not"),
    ],
)
def test_a_naloxone_order_within_24_months_counts_as_on_record(ordered, card):
    found = cards(
        med_request(*OXY_5, dosage(4, "TAB", 4)),
        med_request(*NALOXONE_SPRAY, status="completed", authored_days=ordered),
    )
    assert ("naloxone" in found) is card


@pytest.mark.parametrize(
    ("days", "said"),
    [
        pytest.param(471, "15 months ago", id="471-days-are-15.47-months"),
        pytest.param(1461, "4 years ago", id="1461-days-are-4-years-of-365.25-days"),
        pytest.param(1826, "4 years ago", id="1826-days-are-4.999-years"),
    ],
)
def test_month_and_year_lengths_in_durations(days, said):
    assert ago(days) == said


@pytest.mark.parametrize(
    ("age", "named"),
    [
        pytest.param(65, True, id="age-65-is-an-opioid-risk-factor"),
        pytest.param(64, False, id="age-64-is-not"),
    ],
)
def test_age_65_is_named_as_an_opioid_risk_factor(age, named):
    detail = cards(med_request(*OXY_5, dosage(1, "TAB", 4)), pt=patient(age=age))["opioid-risk"].detail
    assert (f"age {age}" in detail) is named


@pytest.mark.parametrize(
    ("age", "named"),
    [
        pytest.param(65, True, id="age-65-muscle-relaxants-are-beers-listed"),
        pytest.param(64, False, id="age-64-no-beers-note"),
    ],
)
def test_muscle_relaxants_flagged_from_65_on_the_second_line_card(age, named):
    card = by_topic(cards_for([lbp(onset_days=10)], pt=patient(age=age)))["second-line"]
    assert ("Beers criteria" in card.detail) is named


def red_flag_lines(*resources):
    card = by_topic(cards_for([lbp(onset_days=10), *resources])).get("red-flags")
    return [] if card is None else [line for line in card.detail.splitlines() if line.startswith("- ")]


ICD = "http://hl7.org/fhir/sid/icd-10-cm"


@pytest.mark.parametrize(
    ("resource", "fires"),
    [
        pytest.param(observation("8310-5", 39.0, "Cel", days=7), True, id="temperature-7-days-ago-counts"),
        pytest.param(
            condition(ICD, "R63.4", "Abnormal weight loss", onset_days=183),
            True,
            id="weight-loss-183-days-ago-is-within-6-months",
        ),
        pytest.param(
            condition(ICD, "R63.4", "Abnormal weight loss", onset_days=184), False, id="weight-loss-184-days-ago-is-not"
        ),
        pytest.param(
            condition(ICD, "F11.20", "Opioid dependence", onset_days=365, status="remission"),
            True,
            id="drug-use-recorded-365-days-ago-counts",
        ),
        pytest.param(
            condition(ICD, "F11.20", "Opioid dependence", onset_days=366, status="remission"),
            False,
            id="drug-use-recorded-366-days-ago-in-remission-does-not",
        ),
        pytest.param(
            med_request("312617", "prednisone 5 MG", authored_days=89),
            True,
            id="prednisone-for-90-days-counting-today-is-long-term",
        ),
        pytest.param(
            med_request("312617", "prednisone 5 MG", authored_days=88), False, id="prednisone-for-89-days-is-not"
        ),
        pytest.param(
            condition(ICD, "S32.009A", "Lumbar fracture", onset_days=100),
            True,
            id="fracture-90-days-before-onset-is-recent-trauma",
        ),
        pytest.param(
            condition(ICD, "S32.009A", "Lumbar fracture", onset_days=101),
            False,
            id="fracture-91-days-before-onset-is-not",
        ),
    ],
)
def test_red_flag_time_windows_at_their_edges(resource, fires):
    assert bool(red_flag_lines(resource)) is fires


@pytest.mark.parametrize(
    ("age", "line"),
    [
        pytest.param(64, None, id="age-64-3900-mg-is-within-the-4000-label-maximum"),
        pytest.param(
            65, "3,900 mg/day, above the 3,000 mg/day maximum at age 65", id="age-65-the-3000-maximum-applies"
        ),
        pytest.param(66, "3,900 mg/day, above the 3,000 mg/day maximum at age 66", id="age-66-still-the-3000-maximum"),
    ],
)
def test_the_lower_acetaminophen_maximum_from_age_65(age, line):
    tramadol_apap = med_request("836395", "acetaminophen 325 MG / tramadol hydrochloride 37.5 MG Oral Tablet", EVERY_4H)
    detail = cards(tramadol_apap, pt=patient(age=age))["opioid-risk"].detail
    said = [x.split("\n")[0] for x in detail.split("\n\n") if "Acetaminophen from all products" in x]
    assert said == ([] if line is None else [f"**Acetaminophen from all products: {line}.**"])
