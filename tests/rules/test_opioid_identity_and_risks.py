"""Which drug is an opioid analgesic and which risks an opioid card names (clinical reference 0.10 items 4, 5, 10, 11):
buprenorphine for pain vs for use disorder, MOUD drafts, any overdose for naloxone, tramadol above its label maximum."""

import json
from pathlib import Path

import pytest

from cds_service.cards import Indicator
from cds_service.knowledge import load
from cds_service.knowledge.codes import RXNORM
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, SCT, condition, dosage, lbp, med_request, patient

TERMINOLOGY = Path(__file__).resolve().parents[3] / "shared" / "terminology"
BELBUCA = ("1716065", "buprenorphine 0.3 MG Buccal Film")
SUBOXONE = ("1010600", "buprenorphine 2 MG / naloxone 0.5 MG Sublingual Film")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
OPIOID_FAMILIES = {"opioid-risk", "opioid-high-dose", "opioid-benzodiazepine", "naloxone"}


def cards(chart, drafts=(), age=45):
    hook = "order-sign" if drafts else "patient-view"
    return by_topic(cards_for([lbp(onset_days=200), *chart], hook=hook, drafts=list(drafts), pt=patient(age=age)))


@pytest.mark.parametrize(
    ("drug", "is_analgesic"),
    [
        pytest.param(BELBUCA, True, id="belbuca-buccal-film-alone-is-for-pain"),
        pytest.param(("1716090", "buprenorphine 0.9 MG Buccal Film [Belbuca]"), True, id="belbuca-brand-is-for-pain"),
        pytest.param(
            ("904870", "168 HR buprenorphine 0.01 MG/HR Transdermal System"),
            True,
            id="transdermal-buprenorphine-is-for-pain",
        ),
        pytest.param(("238129", "1 ML buprenorphine 0.3 MG/ML Injection"), True, id="plain-injection-is-for-pain"),
        pytest.param(SUBOXONE, False, id="buprenorphine-naloxone-film-treats-use-disorder"),
        pytest.param(
            ("1542390", "buprenorphine 2.1 MG / naloxone 0.3 MG Buccal Film"),
            False,
            id="buprenorphine-naloxone-buccal-film-treats-use-disorder",
        ),
        pytest.param(
            ("351264", "buprenorphine 2 MG Sublingual Tablet"), False, id="sublingual-tablet-treats-use-disorder"
        ),
        pytest.param(("1797650", "buprenorphine 74.2 MG Drug Implant"), False, id="implant-treats-use-disorder"),
        pytest.param(
            ("1996184", "0.5 ML buprenorphine 200 MG/ML Prefilled Syringe"),
            False,
            id="extended-release-injection-treats-use-disorder",
        ),
    ],
)
def test_buprenorphine_for_pain_counts_as_an_opioid_analgesic(drug, is_analgesic):
    found = cards([med_request(*drug), med_request(*ALPRAZOLAM)])
    assert ("opioid-benzodiazepine" in found) is is_analgesic


def test_belbuca_with_alprazolam_is_critical_co_use_with_its_risk_and_naloxone_cards():
    found = cards([med_request(*BELBUCA, dosage(1, "{film}", 2)), med_request(*ALPRAZOLAM)])
    assert found["opioid-benzodiazepine"].indicator is Indicator.CRITICAL
    assert {"opioid-risk", "naloxone"} <= set(found) and "opioid-high-dose" not in found  # buprenorphine: no MME


@pytest.mark.skipif(not TERMINOLOGY.is_dir(), reason=f"published expansions not present at {TERMINOLOGY}")
def test_where_the_published_sets_call_a_buccal_film_an_analgesic_ours_does_too():
    """The CDC opioid-analgesic expansion lists the Belbuca films and VSAC's MOUD expansion does not: the published
    expansions win over our older list (which filed them as MOUD)."""

    def codes(name):
        data = json.loads(next(TERMINOLOGY.glob(f"{name}--*.json")).read_text(encoding="utf-8"))
        return {c["code"]: c.get("display", "") for c in data["expansion"]["contains"] if c["system"] == RXNORM}

    analgesic, moud = codes("opioid-analgesics"), codes("opioid-use-disorder-treatment")
    films = {code for code, name in analgesic.items() if "Buccal Film" in name and "naloxone" not in name}
    assert films and not films & set(moud)
    ours = load().vs("opioid-use-disorder-treatment")
    assert not [code for code in films if (RXNORM, code) in ours]


@pytest.mark.parametrize(
    ("chart", "expected"),
    [
        pytest.param(
            [med_request(*OXY_5, dosage(4, "TAB", 1, 4, "h"))],
            {"opioid-high-dose"},
            id="moud-draft-beside-a-critical-dose-returns-only-the-critical-card",
        ),
        pytest.param(
            [med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h"))],
            set(),
            id="moud-draft-beside-a-chart-opioid-raises-no-opioid-card",
        ),
        pytest.param(
            [med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h")), condition(ICD, "F11.20", "Opioid dependence")],
            {"opioid-risk"},
            id="critical-opioid-risk-for-use-disorder-still-returned-per-0.7a",
        ),
    ],
)
def test_a_moud_draft_is_not_an_opioid_draft(chart, expected):
    found = cards(chart, [med_request(*SUBOXONE, status="draft", rid="d-suboxone")])
    assert OPIOID_FAMILIES & set(found) == expected
    assert all(card.indicator is Indicator.CRITICAL for topic, card in found.items() if topic in OPIOID_FAMILIES)


@pytest.mark.parametrize(
    ("code", "risk"),
    [
        pytest.param((SCT, "55680006", "Drug overdose"), True, id="unspecified-drug-overdose-is-a-risk"),
        pytest.param((SCT, "295894000", "Iproniazid overdose"), True, id="overdose-only-in-the-published-set-counts"),
        pytest.param(
            (ICD, "T42.4X1A", "Poisoning by benzodiazepines, accidental"),
            True,
            id="benzodiazepine-poisoning-accidental-intent-1",
        ),
        pytest.param(
            (ICD, "T39.1X2D", "Poisoning by 4-Aminophenol derivatives, self-harm"),
            True,
            id="acetaminophen-self-harm-intent-2",
        ),
        pytest.param(
            (ICD, "T50.904A", "Poisoning by unspecified drugs, undetermined"), True, id="undetermined-intent-4"
        ),
        pytest.param(
            (ICD, "T42.4X5A", "Adverse effect of benzodiazepines"), False, id="adverse-effect-5-is-no-overdose"
        ),
        pytest.param((ICD, "T42.4X6A", "Underdosing of benzodiazepines"), False, id="underdosing-6-is-no-overdose"),
        pytest.param((ICD, "T51.0X1A", "Toxic effect of ethanol"), False, id="alcohol-t51-is-outside-t36-t50"),
    ],
)
def test_any_overdose_is_a_naloxone_risk_factor_but_only_opioid_overdose_is_critical(code, risk):
    found = cards([med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h")), condition(*code)])
    assert ("naloxone" in found) is risk
    assert found["opioid-risk"].indicator is Indicator.WARNING  # 30 MME, no opioid overdose or use disorder


@pytest.mark.parametrize(
    ("dose", "age", "over"),
    [
        pytest.param(dosage(2, "TAB", 1, 4, "h"), 45, "450 mg/day", id="tramadol-apap-2-tabs-q4h-is-450-above-400"),
        pytest.param(dosage(2, "TAB", 5, 1, "d"), 45, None, id="375-mg-a-day-is-within-400"),
        pytest.param(dosage(2, "TAB", 5, 1, "d"), 75, "375 mg/day", id="375-mg-at-75-is-above-300"),
        pytest.param(dosage(2, "TAB", 4, 1, "d"), 80, None, id="300-mg-at-80-is-at-the-maximum-not-above"),
        pytest.param(dosage(2, "TAB", 5, 1, "d"), 74, None, id="375-mg-at-74-is-within-400"),
        pytest.param(dosage(50, "mg", 8, 1, "d"), 45, None, id="400-mg-is-at-the-maximum-not-above"),
        pytest.param(dosage(50.1, "mg", 8, 1, "d"), 45, "400.8 mg/day", id="400.8-mg-is-above-400"),
        pytest.param(dosage(37.6, "mg", 8, 1, "d"), 80, "300.8 mg/day", id="300.8-mg-at-80-is-above-300"),
    ],
)
def test_tramadol_above_its_label_maximum_is_named_on_the_opioid_cards(dose, age, over):
    found = cards(
        [med_request("836395", "acetaminophen 325 MG / tramadol hydrochloride 37.5 MG Oral Tablet", dose)], age=age
    )
    detail = found["opioid-risk"].detail
    if over is None:
        assert "label maximum" not in detail
    else:
        assert f"Tramadol {over}" in detail and "above the label maximum" in detail


CODEINE_COUGH = ("995062", "chlorpheniramine maleate 0.2 MG/ML / codeine phosphate 1 MG/ML Oral Suspension")


@pytest.mark.parametrize(
    ("chart", "expected"),
    [
        pytest.param(
            [med_request(*CODEINE_COUGH, dosage(10, "mL", 1, 6, "h"))],
            set(),
            id="cough-product-alone-is-no-opioid-therapy-for-back-pain",
        ),
        pytest.param(
            [med_request(*CODEINE_COUGH, dosage(10, "mL", 1, 6, "h")), med_request(*ALPRAZOLAM)],
            {"opioid-benzodiazepine", "naloxone"},
            id="cough-product-with-a-benzodiazepine-is-co-use",
        ),
        pytest.param(
            [med_request(*CODEINE_COUGH, dosage(10, "mL", 1, 6, "h")), med_request(*OXY_5, dosage(1, "TAB", 4))],
            {"opioid-risk"},
            id="cough-product-beside-an-analgesic-opioid-counts-in-its-card",
        ),
    ],
)
def test_opioid_cough_products_count_but_do_not_alone_fire_opioid_risk(chart, expected):
    found = cards(chart)
    assert OPIOID_FAMILIES & set(found) == expected
    if "opioid-risk" in found:  # codeine 40 mg/day x 0.15 = 6 MME, beside oxycodone 5 mg x 4 x 1.5 = 30
        assert found["opioid-risk"].mme == 36 and "codeine" in found["opioid-risk"].detail


def test_opioid_with_benzodiazepine_can_be_overridden_and_states_an_exact_total():
    card = by_topic(
        cards_for(
            [
                lbp(onset_days=200),
                med_request(
                    "857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet", dosage(1, "TAB", 4)
                ),
                med_request("308047", "alprazolam"),
            ]
        )
    )["opioid-benzodiazepine"]
    assert card.override_reasons and card.mme == 20 and card.mme_lower_bound is False
