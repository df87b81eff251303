"""Issue 20.3: path tricks that pass a structural allowlist but that the server behind the base reads otherwise.

A real nginx (Debian nginx-light) on loopback routes `/fhir/` to the FHIR mock and `/admin/` to an admin location
(the mock's `/admin-reached/`). nginx decodes `%2F` before routing, so `/fhir/..%2Fadmin/Condition` reaches the
admin location: the control test shows it does, then every trick, as `fhirServer` or as a paging link, must be
refused before any request is sent, so the admin location never sees the EHR's bearer token.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cds_service import create_app
from cds_service.fhir.allowlist import Allowlist
from tests.fhir.test_security import PV, TOKEN, request_to
from tests.fhir_builders import bundle, lbp
from tests.fhir_server import ScriptedFhirServer
from tests.served import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TRICKS = [
    "..;/admin",
    "..%2Fadmin",
    "..%2fadmin",
    "..%5Cadmin",
    "..%252Fadmin",
    "%2E%2E/admin",
    "%2e%2e%2Fadmin",
    "x/..%2F..%2Fadmin",
    "r4;/..;/admin",
]


@pytest.mark.parametrize("trick", TRICKS)
def test_allowlist_refuses_path_tricks(trick):
    allowlist = Allowlist.parse(("https://ehr.example.org/fhir",))
    assert allowlist.match(f"https://ehr.example.org/fhir/{trick}") is None
    assert allowlist.match(f"https://ehr.example.org/fhir/{trick}/Condition?patient=1") is None


def test_ordinary_urls_still_pass():
    allowlist = Allowlist.parse(("https://ehr.example.org/fhir",))
    for url in [
        "https://ehr.example.org/fhir/Condition?patient=pt-1&code=a%2Cb",
        "https://ehr.example.org/fhir?_getpages=abc%2F1&_getpagesoffset=20",
        "https://ehr.example.org/fhir/Patient/A-1.b",
    ]:
        assert allowlist.match(url) is not None, url


@pytest.fixture(scope="module")
def behind_nginx():
    """(mock, nginx base URL): nginx on loopback in front of the scripted FHIR server."""
    if NGINX is None:
        pytest.skip("nginx not installed (Debian nginx-light; scripts/test installs it as root)")
    with ScriptedFhirServer("127.0.0.1") as mock:
        root = Path(tempfile.mkdtemp(prefix="backpain-nginx-"))
        port = free_port()
        upstream = mock.root.removeprefix("http://")
        temp = " ".join(
            f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (root / "nginx.conf").write_text(f"""
            daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;
            events {{ worker_connections 64; }}
            http {{
                access_log off; {temp}
                server {{
                    listen 127.0.0.1:{port};
                    location /fhir/ {{ proxy_pass http://{upstream}; }}
                    location /admin/ {{ proxy_pass http://{upstream}/admin-reached/; }}
                }}
            }}""")
        proc = subprocess.Popen(
            [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                    break
                except OSError:
                    time.sleep(0.05)
            yield mock, f"http://127.0.0.1:{port}/fhir"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(root, ignore_errors=True)


def _admin_hits(mock: ScriptedFhirServer) -> list[tuple[str, dict[str, str]]]:
    return [(path, headers) for path, headers in mock.requests if path.startswith("/admin-reached")]


def test_control_nginx_routes_an_encoded_slash_to_its_admin_location(behind_nginx):
    mock, base = behind_nginx
    mock.requests.clear()
    conn = http.client.HTTPConnection(base.split("/")[2], timeout=5)
    conn.request("GET", "/fhir/..%2Fadmin/Condition")  # sent as written: nothing on our side normalises it
    conn.getresponse().read()
    assert [path for path, _ in _admin_hits(mock)] == ["/admin-reached/Condition"]


@pytest.mark.parametrize("where", ["fhirServer", "next-link"])
@pytest.mark.parametrize("trick", TRICKS)
def test_path_tricks_never_reach_the_admin_location(behind_nginx, settings, trick, where):
    mock, base = behind_nginx
    mock.requests.clear()
    client = create_app(replace(settings, fhir_server_allowlist=(base,))).test_client()
    if where == "fhirServer":
        body = request_to(f"{base}/{trick}")
    else:
        page = bundle([lbp()]) | {"link": [{"relation": "next", "url": f"{base}/{trick}/Condition?page=2"}]}
        mock.routes["/fhir/Condition"] = (200, page, 0)
        body = request_to(base)
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert _admin_hits(mock) == []
    assert not any(TOKEN in str(headers) for path, headers in mock.requests if not path.startswith("/fhir/Condition"))
    if where == "fhirServer":
        assert mock.requests == []  # refused before any request was sent
