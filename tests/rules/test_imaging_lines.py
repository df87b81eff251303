"""imaging-overuse as the card says it (clinical reference 3): each draft, pending and done study with its day of
the episode, the suggestions that remove or revoke it, and the edges of the six-week window."""

import pytest

from cds_service.cards import Indicator
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import CPT, ago, lbp, procedure, service_request

MRI = (CPT, "72148", "MRI lumbar spine without contrast")
XRAY = (CPT, "72100", "X-ray lumbosacral spine")


def imaging(resources, drafts=(), onset=20, hook="patient-view"):
    card = by_topic(cards_for([lbp(onset_days=onset), *resources], hook=hook, drafts=list(drafts))).get(
        "imaging-overuse"
    )
    lines = [] if card is None else [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]
    return card, lines


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [service_request(*XRAY, status="active", authored_days=10)],
            f"Pending order: {XRAY[2]}, ordered {ago(10)} (day 10 of the episode)",
            id="pending-day-10",
        ),
        pytest.param(
            [service_request(*XRAY, status="on-hold", authored_days=20)],
            f"Pending order: {XRAY[2]}, ordered {ago(20)} (day 0 of the episode)",
            id="pending-ordered-on-the-onset-day",
        ),
        pytest.param([service_request(*XRAY, status="active", authored_days=21)], None, id="ordered-before-the-onset"),
        pytest.param(
            [service_request(*XRAY, status="completed", authored_days=10)],
            None,
            id="a-completed-request-is-not-pending",
        ),
        pytest.param(
            [procedure(*MRI, days=6)], f"Done: {MRI[2]} on {ago(6)} (day 14 of the episode)", id="done-day-14"
        ),
        pytest.param([procedure(*MRI, days=6, status="in-progress")], None, id="an-unfinished-procedure-is-not-done"),
        pytest.param(
            [service_request(*XRAY, status="draft", authored_days=10)],
            f"Pending order: {XRAY[2]}, ordered {ago(10)} (day 10 of the episode)",
            id="a-draft-left-in-the-chart-is-pending",
        ),
        *[
            pytest.param(
                [
                    {
                        "resourceType": "DiagnosticReport",
                        "id": f"r-{status}",
                        "status": status,
                        "subject": {"reference": "Patient/pt-1"},
                        "effectiveDateTime": ago(6),
                        "code": {"coding": [{"system": MRI[0], "code": MRI[1], "display": MRI[2]}]},
                    }
                ],
                f"Done: {MRI[2]} on {ago(6)} (day 14 of the episode)",
                id=f"report-{status}-is-done",
            )
            for status in ("final", "amended", "corrected")
        ],
    ],
)
def test_each_study_named_with_its_day_of_the_episode(resources, expected):
    _, lines = imaging(resources)
    assert lines == ([expected] if expected else [])


def test_a_pending_order_is_offered_for_revocation_without_changing_the_chart_copy():
    pending = service_request(*XRAY, status="active", authored_days=10, rid="sr-x")
    card, _ = imaging([pending])
    (suggestion,) = card.suggestions
    assert suggestion.label == f"Cancel the pending {XRAY[2]} order"
    (action,) = suggestion.actions
    assert action.type == "update" and action.resource["status"] == "revoked" and action.resource["id"] == "sr-x"
    assert pending["status"] == "active"
    assert card.indicator is Indicator.WARNING


def test_imaging_already_done_is_information_and_warns_against_repeats():
    card, _ = imaging([procedure(*MRI, days=6)])
    assert card.indicator is Indicator.INFO and not card.suggestions
    assert card.detail.endswith("Avoid repeat imaging unless red flags appear.")
    assert card.summary == "Lumbar imaging was done in the first 6 weeks of this episode"


def test_a_draft_is_named_at_todays_day_of_the_episode_with_its_removal():
    card, lines = imaging([], drafts=[service_request(*MRI, rid="d-mri")], hook="order-sign")
    assert lines == [f"Draft order: {MRI[2]} at day 20"]
    assert [(s.label, s.actions[0].resource_id) for s in card.suggestions] == [
        (f"Remove the {MRI[2]} order", "ServiceRequest/d-mri")
    ]
    assert not card.detail.endswith("Avoid repeat imaging unless red flags appear.")


@pytest.mark.parametrize(
    ("onset", "warned"),
    [
        pytest.param(41, True, id="day-41-is-inside-six-weeks"),
        pytest.param(42, False, id="day-42-is-six-weeks"),
        pytest.param(0, True, id="day-0"),
    ],
)
def test_the_six_week_window(onset, warned):
    card, _ = imaging([], drafts=[service_request(*XRAY, rid="d-x")], onset=onset, hook="order-sign")
    assert (card is not None) is warned
