"""imaging-overuse (clinical reference 3) at its dates: each order and study is placed at its own day of the episode,
one line a day for a study recorded several ways, and the card cites what it names."""

import pytest

from cds_service.cards import Indicator
from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, ICD, PATIENT_ID, ago, lbp, procedure, service_request

MRI = ("72148", "MRI lumbar spine without contrast")


def back(days):
    return lbp(onset_days=days) | {"id": "c1"}


def pending(days, rid="sr-old"):
    return service_request(CPT, *MRI, status="active", authored_days=days, rid=rid)


def done(days, rid, kind="Procedure"):
    if kind == "Procedure":
        return procedure(CPT, *MRI, days=days) | {"id": rid}
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": ago(days),
        "code": {"coding": [{"system": CPT, "code": MRI[0], "display": MRI[1]}]},
    }


def imaging(resources, drafts=(), hook="patient-view"):
    return by_topic(cards_for(list(resources), hook=hook, drafts=list(drafts))).get("imaging-overuse")


def listed(card):
    return [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(
    ("resources", "indicator", "lines", "cited"),
    [
        pytest.param(
            [back(45), pending(5)],
            Indicator.WARNING,
            [f"Pending order: {MRI[1]}, ordered {ago(5)} (day 40 of the episode)"],
            ["Condition/c1", "ServiceRequest/sr-old"],
            id="a-pending-order-is-placed-at-the-day-it-was-ordered-not-today-(day-45)",
        ),
        pytest.param([back(50), pending(5)], None, [], [], id="ordered-at-day-45-is-after-six-weeks"),
        pytest.param(
            [back(45), done(5, "p1")],
            Indicator.INFO,
            [f"Done: {MRI[1]} on {ago(5)} (day 40 of the episode)"],
            ["Condition/c1", "Procedure/p1"],
            id="a-study-done-at-day-40-of-45-was-early",
        ),
        pytest.param([back(50), done(5, "p1")], None, [], [], id="a-study-done-at-day-45-was-not-early"),
        pytest.param(
            [back(45), done(5, "p1"), done(5, "r1", "DiagnosticReport")],
            Indicator.INFO,
            [f"Done: {MRI[1]} on {ago(5)} (day 40 of the episode)"],
            ["Condition/c1", "Procedure/p1"],
            id="one-study-recorded-as-procedure-and-report-is-one-line",
        ),
        pytest.param(
            [back(45), done(20, "p1"), done(5, "r1", "DiagnosticReport")],
            Indicator.INFO,
            [
                f"Done: {MRI[1]} on {ago(20)} (day 25 of the episode)",
                f"Done: {MRI[1]} on {ago(5)} (day 40 of the episode)",
            ],
            ["Condition/c1", "Procedure/p1", "DiagnosticReport/r1"],
            id="studies-on-two-days-are-two-lines",
        ),
    ],
)
def test_imaging_at_its_day_of_the_episode(resources, indicator, lines, cited):
    card = imaging(resources)
    assert (card.indicator if card else None) == indicator
    if card:
        assert listed(card) == lines
        assert cite(*card.evidence) == cited


def test_imaging_already_done_ends_with_advice_against_repeating_it():
    card = imaging([lbp(onset_days=45), done(5, "p1")])
    paragraphs = card.detail.split("\n\n")
    assert paragraphs[-1].startswith("Imaging in the first six weeks")
    assert paragraphs[-1].endswith("Avoid repeat imaging unless red flags appear.")


def test_a_pending_order_without_an_id_is_named_but_not_offered_for_cancelling():
    order = pending(5)
    del order["id"]
    card = imaging([lbp(onset_days=45), order])
    assert listed(card) == [f"Pending order: {MRI[1]}, ordered {ago(5)} (day 40 of the episode)"]
    assert card.suggestions == ()


def test_a_pending_order_with_an_id_is_offered_for_cancelling_as_revoked():
    card = imaging([lbp(onset_days=45), pending(5, rid="sr-9")])
    (suggestion,) = card.suggestions
    (action,) = suggestion.actions
    assert action.type == "update"
    assert action.resource["id"] == "sr-9" and action.resource["status"] == "revoked"


def test_back_pain_given_only_as_a_draft_orders_reason_starts_the_episode_today():
    """No back-pain Condition: the draft's reasonCode is the context (onset today), and the card cites the draft."""
    draft = service_request(CPT, *MRI, rid="sr-mri", reason=(ICD, "M54.50"))
    card = imaging([], [draft], hook="order-select")
    assert card.indicator is Indicator.WARNING
    assert card.detail.startswith("Back pain: low back pain given as the reason for a draft order. No red flag")
    assert listed(card) == [f"Draft order: {MRI[1]} at day 0"]
    assert cite(*card.evidence) == ["ServiceRequest/sr-mri"]
