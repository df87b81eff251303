"""An entry the EHR sends with codes but no display text is still named on the card, by what it is (clinical
reference 0.9): "opioid", "NSAID", "treatment", "depression", "CNS depressant", never a blank or "None"."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, ICD, condition, dosage, lbp, med_request, service_request
from tests.fhir_builders import without_display as bare

OXY = ("1049621", "")


@pytest.mark.parametrize(
    ("chart", "drafts", "topic", "lines"),
    [
        pytest.param(
            [
                bare(med_request(*OXY, dosage(1, "TAB", 4))),
                bare(condition(ICD, "F32.9")),
                bare(condition(ICD, "G47.33")),
                bare(med_request("310431", "", dosage(1, "TAB", 3))),
            ],
            [],
            "opioid-risk",
            [
                "- opioid (last ordered 2026-11-22): 5 mg x 4/day = 20 mg/day x 1.5 = 30 MME/day",
                "- Risk factors for opioid harm: CNS depressant (last ordered 2026-11-22): CNS depressant; "
                "depression (onset 2026-11-17); sleep apnea (onset 2026-11-17).",
            ],
            id="unnamed-opioid-depression-sleep-apnea-and-gabapentin-named-by-kind",
        ),
        pytest.param(
            [],
            [bare(med_request("891888", "", dosage(1, "TAB", 2), status="draft", rid="d-er"))],
            "opioid-risk",
            [
                "- Extended-release/long-acting opioid started in an opioid-naive patient (no opioid in the 90 days "
                "before): not recommended (CDC 2022 Rec 3); start with immediate-release opioids if any."
            ],
            id="unnamed-er-morphine-draft-in-a-naive-patient-named-opioid",
        ),
        pytest.param(
            [bare(condition(ICD, "I50.9")), bare(med_request("197806", "", dosage(1, "TAB", 3)))],
            [],
            "nsaid-contraindicated",
            ["NSAID in play: NSAID (active, last ordered 2026-11-22)."],
            id="unnamed-ibuprofen-with-heart-failure-named-nsaid",
        ),
        pytest.param(
            [bare(med_request("312617", "", authored_days=3))],
            [],
            "not-recommended-treatment",
            [
                "- treatment (last ordered 2026-11-24): systemic corticosteroids are no better than placebo for back "
                "pain, with or without sciatica."
            ],
            id="unnamed-prednisone-named-treatment",
        ),
        pytest.param(
            [
                bare(med_request("1049621", "", dosage(3, "TAB", 4))),
                bare(med_request("308047", "")),
                bare(condition(ICD, "G47.33")),
            ],
            [],
            "opioid-benzodiazepine",
            ["Opioid: opioid (last ordered 2026-11-22).", "Benzodiazepine: benzodiazepine (last ordered 2026-11-22)."],
            id="unnamed-opioid-and-alprazolam-named-by-kind-together",
        ),
        pytest.param(
            [
                bare(med_request("1049621", "", dosage(3, "TAB", 4))),
                bare(med_request("308047", "")),
                bare(condition(ICD, "G47.33")),
            ],
            [],
            "naloxone",
            ["- benzodiazepine: benzodiazepine (last ordered 2026-11-22)", "- sleep apnea (onset 2026-11-17)"],
            id="unnamed-benzodiazepine-and-sleep-apnea-as-naloxone-risk-factors",
        ),
        pytest.param(
            [
                bare(med_request("1049621", "", dosage(1, "TAB", 4))),
                bare(med_request("197806", "", dosage(1, "TAB", 3))),
                bare(med_request("596930", "")),
            ],
            [],
            "chronic-pain-options",
            [
                "- First-line drug, an NSAID: already on NSAID (last ordered 2026-11-22).",
                "- Second-line drug duloxetine: already on duloxetine (last ordered 2026-11-22).",
                "- Already on an opioid: opioid (last ordered 2026-11-22); tramadol would add another opioid.",
            ],
            id="unnamed-nsaid-duloxetine-and-opioid-in-chronic-pain-named-by-kind",
        ),
        pytest.param(
            [bare(condition(ICD, "I50.9")), bare(med_request("198440", ""))],
            [],
            "acetaminophen-alternative",
            [
                "Acetaminophen already taken, to count toward the daily total: acetaminophen product (last ordered "
                "2026-11-22) (no structured dose)."
            ],
            id="unnamed-acetaminophen-without-dose-named-acetaminophen-product",
        ),
        pytest.param(
            [bare(condition(ICD, "M46.26"))],
            [],
            "red-flags",
            ["- spinal infection: condition (2026-11-17)"],
            id="unnamed-vertebral-osteomyelitis-red-flag-named-condition",
        ),
    ],
)
def test_an_entry_without_display_is_named_by_what_it_is(chart, drafts, topic, lines):
    hook = "order-sign" if drafts else "patient-view"
    chronic = topic in ("opioid-risk", "opioid-benzodiazepine", "naloxone", "chronic-pain-options") and not drafts
    card = by_topic(cards_for([lbp(onset_days=200 if chronic else 9), *chart], hook=hook, drafts=drafts))[topic]
    for line in lines:
        assert line in card.detail.splitlines(), card.detail


@pytest.mark.parametrize(
    ("chart", "drafts", "summary", "line", "suggestions"),
    [
        pytest.param(
            [bare(med_request("312617", "", authored_days=3))],
            [],
            "Not recommended for back pain: treatment",
            "- treatment (last ordered 2026-11-24)",
            [],
            id="unnamed-steroid-on-the-chart-no-suggestion",
        ),
        pytest.param(
            [],
            [bare(service_request(CPT, "97014", "", rid="d-tens"))],
            "Not recommended for back pain: treatment",
            "- treatment (draft order)",
            ["Remove this order"],
            id="unnamed-tens-draft-removed-as-this-order",
        ),
    ],
)
def test_not_recommended_treatment_names_an_unnamed_item(chart, drafts, summary, line, suggestions):
    hook = "order-sign" if drafts else "patient-view"
    card = by_topic(cards_for([lbp(onset_days=9), *chart], hook=hook, drafts=drafts))["not-recommended-treatment"]
    assert card.summary == summary
    assert any(x.startswith(line + ":") for x in card.detail.splitlines()), card.detail
    assert [s.label for s in card.suggestions] == suggestions


LONG = "methylprednisolone 4 MG Oral Tablet, dose pack of 21 tablets tapering over six days (Medrol Dosepak)"


@pytest.mark.parametrize(
    ("chart", "summary"),
    [
        pytest.param(
            [med_request("312617", LONG, authored_days=3)],
            "Not recommended for back pain: " + LONG,
            id="one-long-name-still-fits-the-summary",
        ),
        pytest.param(
            [med_request("312617", LONG, authored_days=3), med_request("197591", "diazepam 5 MG", authored_days=3)],
            "2 treatments not recommended for back pain",
            id="two-names-too-long-for-the-summary-are-counted-in-the-plural",
        ),
    ],
)
def test_a_summary_too_long_for_the_names_counts_them(chart, summary):
    card = by_topic(cards_for([lbp(onset_days=9), *chart]))["not-recommended-treatment"]
    assert card.summary == summary


@pytest.mark.parametrize(
    ("reason", "card"),
    [
        pytest.param(
            ("http://snomed.info/sct", "197480006"), False, id="alprazolam-drafted-for-anxiety-is-not-for-back-pain"
        ),
        pytest.param(None, True, id="alprazolam-drafted-without-a-reason-is-for-this-back-pain"),
    ],
)
def test_a_draft_ordered_for_another_condition_is_not_flagged(reason, card):
    draft = med_request("308047", "alprazolam 0.25 MG Oral Tablet", status="draft", rid="d-alp", reason=reason)
    found = by_topic(cards_for([lbp(onset_days=9)], hook="order-sign", drafts=[draft]))
    assert ("not-recommended-treatment" in found) is card
