"""Tramadol above its label maximum (400 mg/day; 300 mg/day from age 75, clinical reference 0.10 item 11): the opioid
card says the total in mg of tramadol alone, each identical draft counted, and the maximum that applies."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request, patient

TRAMADOL_50 = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
OXY_10 = ("1049683", "oxycodone hydrochloride 10 MG Oral Tablet")
RISKS = "risk of seizures and serotonin syndrome; lower the dose."


@pytest.mark.parametrize(
    ("chart", "drafts", "age", "said"),
    [
        pytest.param(
            [med_request(*TRAMADOL_50, dosage(1, "TAB", 9))],
            [],
            45,
            f"Tramadol 450 mg/day is above the label maximum of 400 mg/day: {RISKS}",
            id="450-mg-at-45-above-400",
        ),
        pytest.param(
            [med_request(*TRAMADOL_50, dosage(1, "TAB", 7))],
            [],
            80,
            f"Tramadol 350 mg/day is above the label maximum of 300 mg/day at age 75 or over: {RISKS}",
            id="350-mg-at-80-above-the-300-of-75-and-over",
        ),
        pytest.param(
            [med_request(*TRAMADOL_50, dosage(1, "TAB", 6)), med_request(*OXY_10, dosage(5, "TAB", 4))],
            [],
            45,
            None,
            id="300-mg-tramadol-beside-200-mg-oxycodone-only-tramadol-counts",
        ),
        pytest.param(
            [],
            [
                med_request(*TRAMADOL_50, dosage(1, "TAB", 5), status="draft", rid="d-1"),
                med_request(*TRAMADOL_50, dosage(1, "TAB", 5), status="draft", rid="d-2"),
            ],
            45,
            f"Tramadol 500 mg/day is above the label maximum of 400 mg/day: {RISKS}",
            id="two-identical-250-mg-drafts-each-count-500",
        ),
    ],
)
def test_tramadol_above_its_label_maximum(chart, drafts, age, said):
    hook = "order-sign" if drafts else "patient-view"
    detail = by_topic(cards_for([lbp(onset_days=200), *chart], hook=hook, drafts=drafts, pt=patient(age=age)))[
        "opioid-risk"
    ].detail
    found = [x for x in detail.splitlines() if "label maximum" in x]
    assert found == ([f"- {said}"] if said else []), detail


WARNING, CRITICAL = Indicator.WARNING, Indicator.CRITICAL
TAPER = "At 90 MME/day or more, work with the patient to taper to a safer dose; offer naloxone."
PAUSE = "At 50 MME/day or more, pause and reassess benefits and risks before any increase; offer naloxone."


@pytest.mark.parametrize(
    ("chart", "indicator", "tramadol_line", "advice"),
    [
        pytest.param(
            [med_request(*OXY_10, dosage(1, "TAB", 4))], WARNING, None, PAUSE, id="60-mme-warning-pause-and-reassess"
        ),
        pytest.param([med_request(*OXY_10, dosage(1, "TAB", 6))], CRITICAL, None, TAPER, id="90-mme-critical-taper"),
        pytest.param(
            [med_request(*TRAMADOL_50, dosage(1, "TAB", 9)), med_request(*OXY_10, dosage(1, "TAB", 4))],
            CRITICAL,
            f"- Tramadol 450 mg/day is above the label maximum of 400 mg/day: {RISKS}",
            TAPER,
            id="150-mme-with-450-mg-tramadol-the-high-dose-card-says-the-label-maximum-too",
        ),
    ],
)
def test_the_high_dose_card_advises_by_its_tier_and_names_tramadol_above_its_maximum(
    chart, indicator, tramadol_line, advice
):
    card = by_topic(cards_for([lbp(onset_days=200), *chart], pt=patient(age=45)))["opioid-high-dose"]
    assert card.indicator is indicator
    assert card.detail.split("\n\n")[-1] == advice
    assert [x for x in card.detail.splitlines() if "label maximum" in x] == ([tramadol_line] if tramadol_line else [])
    assert ("not-applicable", "Not applicable to this patient") in card.override_reasons
