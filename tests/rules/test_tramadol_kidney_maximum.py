"""Tramadol with severely reduced kidney function (eGFR below 30, or CKD 4-5): the label allows at most 200 mg/day,
every 12 hours (Beers 2023: reduce the dose). The reference's 0.10 item 11 names only the 400/300 mg maxima; this
lower one is our choice, named and cited, since tramadol and its active metabolite accumulate and lower the seizure
threshold. Table: the chart dose, the kidney finding, and what the opioid cards say."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, condition, dosage, lbp, med_request, observation, patient

TRAMADOL_50 = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
EGFR = "62238-1"


def opioid_cards(chart, age=60):
    found = by_topic(cards_for([lbp(onset_days=200), *chart], pt=patient(age=age)))
    return found["opioid-risk"].detail, found.get("opioid-high-dose")


@pytest.mark.parametrize(
    ("dose", "kidney", "over"),
    [
        pytest.param(dosage(1, "TAB", 5), [observation(EGFR, 25, days=20)], "250 mg/day", id="250-mg-at-egfr-25"),
        pytest.param(dosage(1, "TAB", 4), [observation(EGFR, 25, days=20)], None, id="200-mg-at-egfr-25-is-at-it"),
        pytest.param(dosage(1, "TAB", 5), [observation(EGFR, 30, days=20)], None, id="egfr-30-is-not-below-30"),
        pytest.param(dosage(1, "TAB", 5), [], None, id="no-kidney-finding-250-is-within-400"),
        pytest.param(
            dosage(1, "TAB", 5),
            [condition(ICD, "N18.4", "Chronic kidney disease, stage 4 (severe)")],
            "250 mg/day",
            id="ckd-4-coded-without-a-lab",
        ),
        pytest.param(dosage(1, "TAB", 9), [observation(EGFR, 25, days=20)], "450 mg/day", id="above-both-maxima"),
        pytest.param(dosage(201, "mg", 1), [observation(EGFR, 25, days=20)], "201 mg/day", id="201-mg-is-above-200"),
        pytest.param(dosage(199, "mg", 1), [observation(EGFR, 25, days=20)], None, id="199-mg-is-within-200"),
    ],
)
def test_tramadol_above_200_mg_with_severe_kidney_impairment_is_named(dose, kidney, over):
    detail, _ = opioid_cards([med_request(*TRAMADOL_50, dose), *kidney])
    if over is None:
        assert "Tramadol" not in detail.split("**Total")[1]
    else:
        assert f"Tramadol {over} is above" in detail
        if over == "450 mg/day":  # above both: the lower, kidney, maximum is the one that matters
            assert "200 mg/day" in detail and "400 mg/day" not in detail
        else:
            assert "200 mg/day" in detail and "every 12 hours" in detail and "Beers 2023" in detail
