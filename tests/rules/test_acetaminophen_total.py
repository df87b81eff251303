"""Acetaminophen counted across every current product and draft, combinations included (clinical reference 0.10 item
11): above the daily maximum (4,000 mg; 3,000 at 65 or older; 2,000 with hepatic risk) every card naming an
acetaminophen product says the total; acetaminophen-alternative suggests no more once the total reaches its advice."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request, patient

APAP_500 = ("198440", "acetaminophen 500 MG Oral Tablet")
TRAMADOL_APAP = ("836395", "acetaminophen 325 MG / tramadol hydrochloride 37.5 MG Oral Tablet")
OXY_APAP = ("1049221", "acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet")
HYDRO_APAP = ("857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet")
LIVER = condition(ICD, "K70.30", "Alcoholic cirrhosis of liver without ascites")
HEART_FAILURE = condition(ICD, "I50.9", "Heart failure")
EVERY_4_HOURS = dosage(2, "TAB", 1, 4, "h")  # 2 tablets 6 times a day: 12 tablets


def opioid_cards(resources, age=45, hook="patient-view", drafts=()):
    cards = cards_for([lbp(onset_days=200), *resources], hook=hook, drafts=list(drafts), pt=patient(age=age))
    return [c for c in cards if c.topic.startswith("opioid") or c.topic == "naloxone"]


@pytest.mark.parametrize(
    ("resources", "age", "line"),
    [
        pytest.param(
            [med_request(*TRAMADOL_APAP, EVERY_4_HOURS)],
            45,
            None,
            id="tramadol-apap-2-every-4h-is-3900-under-the-4000-label-maximum",
        ),
        pytest.param(
            [med_request(*TRAMADOL_APAP, EVERY_4_HOURS)],
            70,
            "3,900 mg/day, above the 3,000 mg/day maximum at age 70",
            id="same-3900-above-3000-at-70",
        ),
        pytest.param(
            [med_request(*TRAMADOL_APAP, EVERY_4_HOURS), LIVER],
            45,
            "3,900 mg/day, above the 2,000 mg/day maximum with hepatic risk",
            id="same-3900-above-2000-with-cirrhosis",
        ),
        pytest.param(
            [med_request(*OXY_APAP, dosage(1, "TAB", 4)), med_request(*APAP_500, dosage(2, "TAB", 3))],
            45,
            "4,300 mg/day, above the 4,000 mg/day maximum",
            id="percocet-1300-plus-tylenol-3000-is-4300-above",
        ),
        pytest.param(
            [
                med_request(*HYDRO_APAP, dosage(1, "TAB", 4)),
                med_request(*APAP_500, dosage(2, "TAB", 3), authored_days=60),
            ],
            45,
            "4,300 mg/day, above the 4,000 mg/day maximum",
            id="norco-plus-plain-acetaminophen-counted-together",
        ),
        pytest.param(
            [med_request(*HYDRO_APAP, dosage(2, "TAB", 6))],
            45,
            None,
            id="norco-2-tablets-6-times-is-3900-within-the-label-maximum",
        ),
        pytest.param(
            [
                med_request(*HYDRO_APAP, dosage(1, "TAB", 4)),
                med_request(*APAP_500, dosage(2, "TAB", 2)),
                med_request(*APAP_500, dosage(2, "TAB", 2)),
            ],
            45,
            None,
            id="renewals-left-active-count-once-1300-plus-2000-within",
        ),
        pytest.param(
            [med_request(*OXY_APAP, dosage(1.5, "TAB", 3)), med_request(*APAP_500, dosage(2, "TAB", 3))],
            45,
            "4,462.5 mg/day, above the 4,000 mg/day maximum",
            id="one-and-a-half-percocet-three-times-is-1462.5-said-to-the-half-milligram",
        ),
    ],
)
def test_cards_naming_an_acetaminophen_product_say_a_total_above_the_maximum(resources, age, line):
    cards = opioid_cards(resources, age)
    assert cards
    for card in cards:
        named = "acetaminophen 325 MG" in card.detail
        said = "Acetaminophen from all products" in card.detail
        assert said is (named and line is not None), (card.topic, card.detail)
        if said:  # the whole sentence: nothing added to the maximum's reason
            assert f"**Acetaminophen from all products: {line}.**" in card.detail.splitlines()


def test_a_draft_counts_toward_the_total_and_replaces_the_order_it_renews():
    chart = [med_request(*OXY_APAP, dosage(2, "TAB", 6), rid="chart-percocet")]  # 3,900 mg/day
    draft = med_request(*APAP_500, dosage(1, "TAB", 2), status="draft", rid="d-apap")  # +1,000
    cards = opioid_cards(chart, hook="order-sign", drafts=[draft])
    assert any("4,900 mg/day, above the 4,000 mg/day maximum" in c.detail for c in cards)
    renewal = med_request(*OXY_APAP, dosage(1, "TAB", 4), status="draft", rid="d-percocet")  # replaces: 1,300
    assert not any(
        "Acetaminophen from all products" in c.detail for c in opioid_cards(chart, hook="order-sign", drafts=[renewal])
    )


@pytest.mark.parametrize(
    ("resources", "offers", "says"),
    [
        pytest.param([HEART_FAILURE], True, None, id="nothing-taken-acetaminophen-offered"),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 2))],
            False,
            "Up to 1,000 mg/day more stays within the 3,000 mg/day maximum: adjust the current order rather than "
            "adding another.",
            id="2000-taken-below-the-3000-advised-no-second-order-that-could-reach-5000-the-room-left-said",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*OXY_APAP, dosage(1, "TAB", 4))],
            False,
            "Up to 1,700 mg/day more stays within the 3,000 mg/day maximum",
            id="percocet-1300-taken-a-3000-order-beside-it-would-reach-4300-so-none-is-offered",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*TRAMADOL_APAP)],
            False,
            "Count its dose before adding acetaminophen.",
            id="a-product-without-a-dose-is-counted-before-any-order-is-offered",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 3))],
            False,
            "no more acetaminophen",
            id="3000-taken-reaches-the-3000-advised-no-more-offered",
        ),
        pytest.param(
            [HEART_FAILURE, LIVER, med_request(*APAP_500, dosage(2, "TAB", 2))],
            False,
            "no more acetaminophen",
            id="hepatic-risk-2000-taken-reaches-the-2000-advised",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*TRAMADOL_APAP, EVERY_4_HOURS)],
            False,
            "3,900 mg/day",
            id="tramadol-combination-3900-counts-no-more-offered",
        ),
        pytest.param(
            [HEART_FAILURE, med_request(*APAP_500, dosage(2, "TAB", 5))],
            False,
            "5,000 mg/day, above the 4,000 mg/day maximum",
            id="5000-taken-above-the-label-maximum-said",
        ),
    ],
)
def test_acetaminophen_alternative_suggests_no_more_once_the_total_reaches_its_advice(resources, offers, says):
    card = by_topic(cards_for([lbp(onset_days=9), *resources]))["acetaminophen-alternative"]
    assert bool(card.suggestions) is offers
    if says:
        assert says in card.detail, card.detail


@pytest.mark.parametrize(
    ("taken", "creates"),
    [
        pytest.param([], True, id="no-acetaminophen-taken-nsaid-draft-replaced-by-acetaminophen"),
        pytest.param(
            [med_request(*OXY_APAP, dosage(1, "TAB", 4))],
            False,
            id="1300-already-taken-a-3000-replacement-would-reach-4300-so-the-draft-is-only-removed",
        ),
        pytest.param(
            [med_request(*APAP_500, dosage(2, "TAB", 3))],
            False,
            id="3000-already-taken-nsaid-draft-removed-without-adding-acetaminophen",
        ),
    ],
)
def test_a_contraindicated_nsaid_draft_is_not_replaced_by_acetaminophen_already_at_its_maximum(taken, creates):
    draft = med_request("197806", "ibuprofen 600 MG Oral Tablet", status="draft", rid="d-ibu")
    card = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE, *taken], hook="order-sign", drafts=[draft]))[
        "nsaid-contraindicated"
    ]
    (suggestion,) = card.suggestions
    assert [a.type for a in suggestion.actions] == (["delete", "create"] if creates else ["delete"])


@pytest.mark.parametrize(
    ("taken", "said"),
    [
        pytest.param(
            [med_request(*APAP_500, dosage(1, "TAB", 2))],
            "Acetaminophen already taken, counted toward the daily total: acetaminophen 500 MG Oral Tablet (last "
            "ordered 2026-11-22): 1,000 mg/day.",
            id="dose-read-the-total-is-exact",
        ),
        pytest.param(
            [med_request(*APAP_500, dosage(1, "TAB", 2)), med_request(*TRAMADOL_APAP)],
            "Acetaminophen already taken, counted toward the daily total: acetaminophen 500 MG Oral Tablet (last "
            "ordered 2026-11-22), acetaminophen 325 MG / tramadol hydrochloride 37.5 MG Oral Tablet (last ordered "
            "2026-11-22): at least 1,000 mg/day.",
            id="a-product-without-a-dose-makes-the-total-a-lower-bound",
        ),
        pytest.param(
            [med_request(*TRAMADOL_APAP)],
            "Acetaminophen already taken, to count toward the daily total: acetaminophen 325 MG / tramadol "
            "hydrochloride 37.5 MG Oral Tablet (last ordered 2026-11-22) (no structured dose).",
            id="no-dose-read-the-products-are-named-to-count",
        ),
    ],
)
def test_acetaminophen_alternative_says_what_is_already_taken(taken, said):
    detail = by_topic(cards_for([lbp(onset_days=9), HEART_FAILURE, LIVER, *taken]))["acetaminophen-alternative"].detail
    paragraphs = detail.split("\n\n")
    assert paragraphs[0].startswith("NSAIDs are contraindicated, so acetaminophen is the drug option")
    assert paragraphs[1].startswith("**Hepatic risk lowers the maximum:**\n- liver disease: ")
    assert said in [p.splitlines()[0] for p in paragraphs]  # then the room left under the maximum, if any
