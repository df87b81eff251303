"""Findings of a fourth clinician read (stop 10), each case named for its reasoning: a renewal counted beside the
order it renews, a drug the patient takes offered as an addition, advice beside a card that forbids it."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import (
    ICD,
    ago,
    condition,
    dosage,
    lbp,
    med_request,
    med_statement,
    observation,
    patient,
    sciatica,
)

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


EGFR_25 = ("62238-1", 25)
PREDNISONE = ("312615", "prednisone 20 MG Oral Tablet")
CIRRHOSIS = (ICD, "K74.60", "Unspecified cirrhosis of liver")
ACETAMINOPHEN_500 = ("198440", "acetaminophen 500 MG Oral Tablet")


def fever():
    return observation("8310-5", 38.6, "Cel", days=1)


@pytest.mark.parametrize(
    ("chart", "drafts", "topic", "absent", "present"),
    [
        pytest.param(
            [lbp(onset_days=200), observation(*EGFR_25, days=20), med_request(*PREDNISONE, dosage(1, "TAB", 1))],
            (),
            "not-recommended-treatment",
            "NSAIDs, and",
            "Prefer staying active, heat, and for persisting pain",
            id="nsaids-contraindicated-so-the-not-recommended-card-does-not-prefer-nsaids",
        ),
        pytest.param(
            [lbp(onset_days=5), fever()],
            [med_request(*PREDNISONE, dosage(2, "TAB", 1), status="draft", rid="d-pred")],
            "not-recommended-treatment",
            "staying active",
            "prednisone",
            id="tier-a-red-flag-so-no-conservative-care-advice-on-the-not-recommended-card",
        ),
        pytest.param(
            [lbp(onset_days=5), fever(), observation(*EGFR_25, days=20)],
            (),
            "acetaminophen-alternative",
            "staying active",
            "did not beat placebo",
            id="tier-a-red-flag-so-acetaminophen-is-not-paired-with-staying-active",
        ),
    ],
)
def test_safety_cards_beside_a_contraindication_or_an_urgent_flag_advise_nothing_it_forbids(
    chart, drafts, topic, absent, present
):
    """0.10 item 13 keeps the drug-safety cards beside a Tier A red flag, but advice to wait with conservative care
    contradicts the same-day work-up; and no card may prefer NSAIDs beside "Avoid NSAIDs" (4.1)."""
    found = cards(chart, drafts, age=62)
    if "fever" in str(chart):
        assert found["red-flags"].indicator.name == "CRITICAL"
    assert absent not in found[topic].detail and present in found[topic].detail


def test_acetaminophen_above_the_hepatic_maximum_is_to_be_lowered_not_only_not_added_to():
    """4.2 / 0.10 item 11: 3,000 mg/day with cirrhosis is above the 2,000 advised; "no more acetaminophen" reads as
    "add none", and "acetaminophen is the drug option" contradicts it."""
    detail = cards(
        [
            lbp(onset_days=20),
            observation(*EGFR_25, days=20),
            condition(*CIRRHOSIS, onset_days=800),
            med_request(*ACETAMINOPHEN_500, dosage(2, "TAB", 3), authored_days=10),
        ]
    )["acetaminophen-alternative"].detail
    assert "is the drug option" not in detail and "pair it with" not in detail
    assert "bring acetaminophen from all products down to at most 2,000 mg/day" in detail


HYDROCODONE_APAP = ("857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet")


def test_an_acetaminophen_total_above_the_maximum_names_what_makes_it_up():
    """0.9 / 0.10 item 11: "3,300 mg/day, above the 2,000 maximum" must say which orders to change; the plain
    acetaminophen order that gives 2,000 of it was named on no card."""
    found = cards(
        [
            lbp(onset_days=200),
            condition(*CIRRHOSIS, onset_days=800),
            med_request(*HYDROCODONE_APAP, dosage(1, "TAB", 4), authored_days=20),
            med_request(*ACETAMINOPHEN_500, dosage(2, "TAB", 2), authored_days=20),
        ]
    )
    total = "**Acetaminophen from all products: 3,300 mg/day, above the 2,000 mg/day maximum with hepatic risk.**"
    for topic in ("opioid-risk", "chronic-pain-options"):
        lines = found[topic].detail.split("\n")
        at = lines.index(total)
        assert sorted(lines[at + 1 : at + 3]) == sorted(
            [
                f"- {ACETAMINOPHEN_500[1]} (last ordered {ago(20)}): 2,000 mg/day",
                f"- {HYDROCODONE_APAP[1]} (last ordered {ago(20)}): 1,300 mg/day",
            ]
        )


SUBOXONE_8 = ("1010604", "buprenorphine 8 MG / naloxone 2 MG Sublingual Film")


@pytest.mark.parametrize(
    ("moud", "says"),
    [
        pytest.param((), "Offer or arrange evidence-based treatment", id="no-moud-so-offer-treatment"),
        pytest.param(
            (med_request(*SUBOXONE_8, dosage(1, "{film}", 1), status="draft", rid="d-bup"),),
            "being ordered now: buprenorphine 8 MG / naloxone 2 MG Sublingual Film",
            id="moud-drafted-so-name-it-rather-than-offer-it",
        ),
    ],
)
def test_opioid_use_disorder_advice_names_the_treatment_being_ordered(moud, says):
    """0.10 item 5: a MOUD draft keeps the critical opioid-risk card for use disorder, but telling the clinician to
    "offer or arrange" the buprenorphine they are ordering is noise they would dismiss every time."""
    found = cards(
        [
            lbp(onset_days=300),
            condition(ICD, "F11.20", "Opioid dependence, uncomplicated", onset_days=200),
            med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=40),
        ],
        moud,
        age=35,
    )
    detail = found["opioid-risk"].detail
    assert says in detail
    if moud:
        assert "Offer or arrange" not in detail


def test_the_radicular_card_dates_the_diagnosis_it_names():
    """0.9: every chart entry a card names carries its date; "Radicular diagnosis: Sciatica." had none."""
    detail = cards([sciatica(onset_days=35)])["radicular-pain"].detail
    assert f"Radicular diagnosis: Sciatica (onset {ago(35)})." in detail


DULOXETINE_60 = ("596930", "duloxetine 60 MG Delayed Release Oral Capsule")


@pytest.mark.parametrize(
    ("meds", "says"),
    [
        pytest.param([], "assess and treat it", id="untreated-so-assess-and-treat"),
        pytest.param(
            [med_request(*DULOXETINE_60, dosage(1, "CAP", 1), authored_days=30)],
            f"already on {DULOXETINE_60[1]} (last ordered {ago(30)}): review that treatment",
            id="on-duloxetine-so-review-the-treatment-not-start-one",
        ),
    ],
)
def test_a_positive_phq9_names_the_antidepressant_already_taken(meds, says):
    """0.10 item 14: advice knows what the patient takes; "assess and treat it" to a patient on duloxetine is advice
    a clinician dismisses every time."""
    detail = cards([lbp(onset_days=200), observation("44261-6", 14, days=20), *meds])["depression-screening"].detail
    assert says in detail


OMEPRAZOLE_20 = ("198051", "omeprazole 20 MG Delayed Release Oral Capsule")


@pytest.mark.parametrize(
    ("chart", "creates_omeprazole"),
    [
        pytest.param([], True, id="age-70-no-ppi-so-the-ibuprofen-order-brings-omeprazole"),
        pytest.param(
            [med_request(*OMEPRAZOLE_20, dosage(1, "CAP", 1), authored_days=100)],
            False,
            id="age-70-already-on-omeprazole-20-so-no-second-omeprazole-order",
        ),
        pytest.param(
            [med_request(*OMEPRAZOLE_20, dosage(1, "CAP", 1), authored_days=100, status="stopped")],
            True,
            id="age-70-omeprazole-stopped-so-the-order-brings-it-again",
        ),
    ],
)
def test_the_suggested_ibuprofen_order_adds_no_omeprazole_already_taken(chart, creates_omeprazole):
    """0.10 item 15 adds omeprazole to the ibuprofen order with a GI caution; accepted beside the same active
    omeprazole order, it would duplicate it. The card names the omeprazole taken instead (item 14)."""
    card = cards([lbp(onset_days=10), *chart], age=70)["nsaid-first-line"]
    created = [a.description for s in card.suggestions for a in s.actions if a.type == "create"]
    labels = " ".join(s.label for s in card.suggestions)
    assert any("ibuprofen" in d for d in created)
    assert any("omeprazole" in d for d in created) is creates_omeprazole
    assert ("omeprazole" in labels) is creates_omeprazole
    assert ("with a proton-pump inhibitor: already on omeprazole 20 MG" in card.detail) is not creates_omeprazole


def test_the_products_of_an_acetaminophen_total_are_named_as_every_card_names_them():
    """0.9: a stale order keeps its "still taking it?" and a patient-reported statement is "recorded", on the lines
    that split the total as everywhere else (a review found "last ordered" for both)."""
    found = cards(
        [
            lbp(onset_days=200),
            condition(*CIRRHOSIS, onset_days=800),
            med_request(*HYDROCODONE_APAP, dosage(1, "TAB", 4), authored_days=700),
            med_statement(
                ACETAMINOPHEN_500[0], "Tylenol 500 mg (patient reported)", dosage(2, "TAB", 2), start_days=15
            ),
        ]
    )
    lines = found["opioid-risk"].detail.split("\n")
    assert f"- Tylenol 500 mg (patient reported) (last recorded {ago(15)}): 2,000 mg/day" in lines
    assert any(
        line.startswith(f"- {HYDROCODONE_APAP[1]} (last ordered") and "still taking it?): 1,300 mg/day" in line
        for line in lines
    )


def cited(card):
    return set(cite(*card.evidence))


def test_the_entries_this_stop_s_new_lines_name_are_cited():
    """Provenance (issue 25): a card cites what it names. The use-disorder treatment being ordered, the kidney
    findings of the tramadol maximum, and the products that make up an acetaminophen total were named uncited."""
    moud = med_request(*SUBOXONE_8, dosage(1, "{film}", 1), status="draft", rid="d-bup")
    oud = condition(ICD, "F11.20", "Opioid dependence, uncomplicated", onset_days=200)
    found = cards([lbp(onset_days=300), oud, med_request(*OXY_5, dosage(1, "TAB", 4))], [moud])
    assert "MedicationRequest/d-bup" in cited(found["opioid-risk"])

    egfr = observation(*EGFR_25, days=20)
    tramadol = med_request("835603", "tramadol hydrochloride 50 MG Oral Tablet", dosage(1, "TAB", 5))
    found = cards([lbp(onset_days=200), egfr, tramadol])
    assert f"Observation/{egfr['id']}" in cited(found["opioid-risk"])

    plain = med_request(*ACETAMINOPHEN_500, dosage(2, "TAB", 2), authored_days=20)
    found = cards(
        [
            lbp(onset_days=200),
            condition(*CIRRHOSIS, onset_days=800),
            med_request(*HYDROCODONE_APAP, dosage(1, "TAB", 4)),
            plain,
        ]
    )
    assert f"MedicationRequest/{plain['id']}" in cited(found["opioid-risk"])
