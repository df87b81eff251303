"""Issue 20.11: security headers on every response, and the preview page's files off while the preview is off."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service import create_app
from tests.web.test_auth import BASE, jwks


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/cds-services", 200, id="discovery"),
        pytest.param("GET", "/healthz", 200, id="healthz"),
        pytest.param("GET", "/metrics", 200, id="metrics"),
        pytest.param("GET", "/", 200, id="preview-page"),
        pytest.param("GET", "/preview/static/preview.js", 200, id="static-file"),
        pytest.param("GET", "/nowhere", 404, id="unknown-path"),
        pytest.param("POST", "/cds-services/backpain-patient-view", 400, id="bad-request"),
        pytest.param("DELETE", "/cds-services", 405, id="method-not-allowed"),
    ],
)
def test_every_response_says_nosniff(client, method, path, status):
    response = client.open(path, method=method, data=b"{", content_type="application/json")
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_preview_page_cannot_be_framed(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/", "/preview/demo-patients", "/preview/static/preview.js", "/preview/static/preview.css"]
)
def test_preview_and_its_static_files_are_404_while_it_is_off(settings, path):
    off = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE)).test_client()
    assert off.get(path).status_code == 404
    assert off.get(path).headers["X-Content-Type-Options"] == "nosniff"
    on = create_app(replace(settings, preview=True)).test_client()
    assert on.get(path).status_code == 200
