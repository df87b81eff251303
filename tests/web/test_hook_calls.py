"""Hook calls answered before Flask (web/calls.py `HookCalls`) answer as Flask's routes do: the same status, body,
headers, log line and metrics, for a good call and for every error a hook call can meet."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from cds_service import create_app, metrics
from cds_service.web.calls import HookCalls
from tests.fhir_builders import hook_request, lbp
from tests.web.test_auth import BASE, jwks, token

PV = "/cds-services/backpain-patient-view"
GOOD = json.dumps(hook_request([lbp()])).encode()
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # card and suggestion ids


@pytest.fixture(params=["demo", "production"])
def app(request, settings):
    if request.param == "demo":
        return create_app(replace(settings, cors_origins=("https://ehr.example.org",)))
    return create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE))


def _requests(production: bool) -> list[tuple[str, dict]]:
    """(name, EnvironBuilder arguments); called once per path: each production call gets a fresh token."""

    def bearer() -> dict[str, str]:
        return {"Authorization": f"Bearer {token()}"} if production else {}

    json_type = {"Content-Type": "application/json"}
    cases = [
        ("good", {"data": GOOD, "headers": json_type | bearer()}),
        ("good-with-origin", {"data": GOOD, "headers": json_type | bearer() | {"Origin": "https://ehr.example.org"}}),
        ("other-origin", {"data": GOOD, "headers": json_type | bearer() | {"Origin": "https://evil.example"}}),
        ("no-content-type", {"data": GOOD, "headers": bearer()}),
        ("not-json", {"data": b"{", "headers": json_type | bearer()}),
        ("empty", {"data": b"", "headers": json_type | bearer()}),
        ("text-plain", {"data": GOOD, "headers": {"Content-Type": "text/plain; charset=utf-8"} | bearer()}),
        ("too-large-by-header", {"data": b"{}", "headers": json_type | bearer() | {"Content-Length": "99999999"}}),
        ("not-a-hook-request", {"data": b'{"hook": "patient-view"}', "headers": json_type | bearer()}),
        ("a-list", {"data": b"[1, 2]", "headers": json_type | bearer()}),
    ]
    if production:
        cases += [
            ("no-token", {"data": GOOD, "headers": json_type}),
            ("wrong-audience", {"data": GOOD, "headers": json_type | {"Authorization": f"Bearer {token(aud=BASE)}"}}),
        ]
    return cases


def _answer(wsgi, arguments: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = EnvironBuilder(path=PV, method="POST", **arguments).get_environ()
    body, status, headers = run_wsgi_app(wsgi, environ)
    return status, list(headers.items()), UUID.sub(b"-", b"".join(body))


def _lines(records: list[logging.LogRecord]) -> list[tuple[str, str, dict]]:
    out = []
    for r in records:
        fields = {k: v for k, v in getattr(r, "event_fields", {}).items() if k != "ms"}
        out.append((r.name, r.levelname, fields or r.getMessage()))
    return out


def _counts() -> dict[str, float]:
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for m in (metrics.HOOK_CALLS, metrics.CARDS, metrics.SKIPPED)
        for family in m.collect()
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_the_thin_path_answers_as_flask_does(app, caplog):
    thin = app.wsgi_app
    assert isinstance(thin, HookCalls)
    production = "backpain_cds_auth" in app.extensions
    caplog.set_level(logging.INFO)
    cases = zip(_requests(production), _requests(production), strict=True)  # a token for each path
    for (name, arguments), (_, again) in cases:
        answers, lines, counted = [], [], []
        for wsgi, given in ((thin, arguments), (thin.app, again)):  # ours, then Flask's own for the same request
            caplog.clear()
            before = _counts()
            answers.append(_answer(wsgi, given))
            lines.append(_lines(caplog.records))
            counted.append({k: v - before.get(k, 0) for k, v in _counts().items() if v != before.get(k, 0)})
        assert answers[0] == answers[1], name
        assert lines[0] == lines[1], name
        assert counted[0] == counted[1], name


def test_it_takes_only_posts_to_the_services_we_serve(app):
    thin = app.wsgi_app
    taken = []
    thin._answer = lambda environ, path, facts: taken.append(path) or ({}, 200, False)  # type: ignore[method-assign]
    for method, path in [
        ("GET", PV),
        ("OPTIONS", PV),
        ("POST", "/cds-services/nope"),
        ("POST", PV + "/feedback"),
        ("POST", PV + "/"),
        ("POST", "/cds-services/"),
        ("POST", "/x" + PV),
    ]:
        run_wsgi_app(thin, EnvironBuilder(path=path, method=method, data=GOOD).get_environ())
    assert taken == []
    run_wsgi_app(thin, EnvironBuilder(path=PV, method="POST", data=GOOD).get_environ())
    assert taken == [PV]


def test_a_failing_metric_or_log_line_after_the_evaluation_still_delivers_the_cards(app, caplog, monkeypatch):
    """A review found the thin path let such an exception escape the WSGI app (the server then answers what it
    will). The cards are worked out and safe to send: the answer goes out and the failure is logged."""

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")  # e.g. a full Prometheus multiprocess directory

    monkeypatch.setattr(metrics, "hook_call", full)
    production = "backpain_cds_auth" in app.extensions
    name, arguments = _requests(production)[0]
    assert name == "good"
    status, headers, body = _answer(app.wsgi_app, arguments)
    assert status == "200 OK" and b'"cards"' in body
    assert ("X-Content-Type-Options", "nosniff") in headers
    assert any(r.levelname == "ERROR" and "log line or metrics" in r.getMessage() for r in caplog.records)


def test_a_replayed_token_is_refused_alike_on_both_paths(settings, caplog):
    """The replay cache (one autocommit INSERT on the thin path) refuses a token seen before, whichever path saw it
    first: the same 401, body and log line as Flask's route."""
    app = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE))
    thin = app.wsgi_app
    caplog.set_level(logging.INFO)
    answers, lines = [], []
    for first, second in ((thin, thin.app), (thin.app, thin)):  # seen by one path, replayed to the other
        used = {"data": GOOD, "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token()}"}}
        assert _answer(first, used)[0] == "200 OK"
        caplog.clear()
        answers.append(_answer(second, used))
        lines.append(_lines(caplog.records))
    assert answers[0][0] == "401 UNAUTHORIZED"
    assert answers[0] == answers[1] and lines[0] == lines[1]
