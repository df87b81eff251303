"""Issue 20.9: a feedback item is bounded in size, feedback on cards we never issued stays out of every acceptance
rate, and the report prints what clients wrote only as printable text."""

from __future__ import annotations

from dataclasses import replace

from cds_service import create_app
from cds_service.store.report import as_text, summarise
from tests.fhir_builders import hook_request, lbp
from tests.store.test_feedback import PV, item

OV = "/cds-services/backpain-order-select"


def test_an_item_over_the_per_item_limit_is_413_naming_it(client):
    small, big = item(), item(overrideReason={"userComment": "x" * 5000})
    response = client.post(PV + "/feedback", json={"feedback": [small, big]})
    assert response.status_code == 413 and response.get_json()["field"] == "feedback[1]"
    assert (
        client.post(
            PV + "/feedback", json={"feedback": [small, item(overrideReason={"userComment": "x" * 3900})]}
        ).status_code
        == 200
    )


def test_the_per_item_limit_is_configurable(settings):
    client = create_app(replace(settings, feedback_max_item_bytes=200)).test_client()
    assert (
        client.post(PV + "/feedback", json={"feedback": [item(overrideReason={"userComment": "x" * 300})]}).status_code
        == 413
    )


def _report(app, client, items, path=PV):
    assert client.post(path + "/feedback", json={"feedback": items}).status_code == 200
    app.extensions["backpain_cds_card_log"].flush()
    return summarise(app.extensions["backpain_cds_feedback"].engine)


def test_invented_cards_are_counted_apart_and_never_in_a_rate(app, client):
    card = client.post(PV, json=hook_request([lbp()])).get_json()["cards"][0]
    topic = card["source"]["topic"]["code"]
    accepted = item(card=card["uuid"], outcome="accepted", acceptedSuggestions=[{"id": "s"}])
    invented = [item() for _ in range(50)]  # overrides of cards nobody issued: they must not sink the topic
    summary = _report(app, client, [accepted, *invented])
    rates = {"items": 1, "accepted": 1, "overridden": 0, "acceptanceRate": 1.0}
    version = card["extension"]["org.backpain-cds.knowledge"]["version"]
    assert summary["by_topic"] == {topic: rates | {"topOverrideReasons": [], "byKnowledgeVersion": {version: rates}}}
    assert summary["by_knowledge_version"] == {version: rates}  # nor in the split by knowledge version
    assert summary["unattributed"] == {"items": 50, "accepted": 0, "overridden": 50}
    assert "50 items on cards the card log does not show" in as_text(summary)


def test_feedback_on_another_services_card_is_not_attributed(app, client):
    card = client.post(PV, json=hook_request([lbp()])).get_json()["cards"][0]
    summary = _report(app, client, [item(card=card["uuid"])], path=OV)
    assert summary["by_topic"] == {} and summary["unattributed"]["items"] == 1


def test_report_prints_terminal_escapes_escaped(app, client):
    card = client.post(PV, json=hook_request([lbp()])).get_json()["cards"][0]
    evil = "\x1b]0;pwned\x07\x1b[2J\x9b31mred\u202eevil\r\nforged row"
    summary = _report(app, client, [item(card=card["uuid"], overrideReason={"reason": {"code": "x", "display": evil}})])
    text = as_text(summary)
    assert text.isprintable() or all(line.isprintable() for line in text.split("\n"))
    assert "\\x1b]0;pwned" in text and "forged row" in text and "\r" not in text
