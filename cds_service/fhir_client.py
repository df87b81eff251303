"""The only code that talks to a FHIR server: allowlist, bearer token, timeouts, parallel queries, paging.

Every failure (refused, timed out, 401/403, 5xx, not JSON) becomes `PrefetchUnavailable` (412) naming the
missing keys and the reason, so nothing above this module sees a `requests` error. Tokens never reach a log.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from .config import Settings
from .errors import PrefetchUnavailable
from .hook_request import HookRequest

log = logging.getLogger(__name__)
ACCEPT = "application/fhir+json"


class _Failure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FhirClient:
    """Fetches prefetch queries from an allowlisted FHIR server; one pooled Session per worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()
        # at least one thread per prefetch template (ten today), so no query waits for another to finish
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fhir")

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:  # requests.Session is not thread-safe: one per thread, connections pooled
            session = self._local.session = requests.Session()
        return session

    def check_allowed(self, base: str | None, keys: list[str]) -> str:
        """Return the base URL (with a trailing slash), or raise PrefetchUnavailable without contacting it."""
        if not base:
            raise PrefetchUnavailable("prefetch is incomplete and the request has no fhirServer",
                                      missingPrefetch=keys, reason="no-fhir-server")
        if not any(base.startswith(prefix) for prefix in self.settings.fhir_server_allowlist):
            raise PrefetchUnavailable(
                "prefetch is incomplete and fhirServer is not on BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST",
                missingPrefetch=keys, reason="fhir-server-not-allowed")
        scheme = urlsplit(base).scheme
        if scheme != "https" and not (scheme == "http" and (_is_loopback(base) or self.settings.fhir_allow_http)):
            raise PrefetchUnavailable("fhirServer must use https (set BACKPAIN_CDS_FHIR_ALLOW_HTTP for test servers)",
                                      missingPrefetch=keys, reason="fhir-server-not-https")
        return base if base.endswith("/") else base + "/"

    def fetch(self, request: HookRequest, queries: dict[str, str]) -> dict[str, Any]:
        """Run every query in parallel within the deadline; return key -> resource, Bundle or None."""
        keys = sorted(queries)
        base = self.check_allowed(request.fhir_server, keys)
        headers = {"Accept": ACCEPT}
        if request.fhir_authorization is not None:
            headers["Authorization"] = f"Bearer {request.fhir_authorization.access_token}"
        deadline = time.monotonic() + self.settings.fhir_deadline
        futures = {self._pool.submit(self._query, base, query, headers, deadline): key
                   for key, query in queries.items()}
        done, pending = wait(futures, timeout=self.settings.fhir_deadline, return_when=FIRST_EXCEPTION)
        failed = [(futures[f], f.exception()) for f in done if f.exception() is not None]
        if pending or failed:
            for future in pending:
                future.cancel()
            missing = sorted({futures[f] for f in pending} | {key for key, _ in failed})
            reason = failed[0][1].reason if failed and isinstance(failed[0][1], _Failure) else (
                "FHIR server did not answer within the deadline" if not failed else "FHIR query failed")
            log.warning("FHIR fallback failed for %s: %s", ",".join(missing), reason)
            raise PrefetchUnavailable(f"could not fetch {', '.join(missing)} from fhirServer: {reason}",
                                      missingPrefetch=missing, reason=reason)
        return {futures[f]: f.result() for f in done}

    def _get(self, url: str, headers: dict[str, str], deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failure("FHIR server did not answer within the deadline")
        timeout = (min(self.settings.fhir_connect_timeout, remaining), min(self.settings.fhir_read_timeout, remaining))
        try:
            response = self.session.get(url, headers=headers, timeout=timeout)
        except requests.Timeout:
            raise _Failure("FHIR server timed out") from None
        except requests.RequestException as exc:
            raise _Failure(f"FHIR server unreachable ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            raise _Failure(f"FHIR server refused access ({response.status_code})")
        if response.status_code == 404 and "?" not in url:
            raise _Failure("FHIR server has no such resource (404)")
        if response.status_code >= 400:
            raise _Failure(f"FHIR server answered {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise _Failure("FHIR server sent a body that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise _Failure("FHIR server sent JSON that is not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise _Failure("FHIR server answered with an OperationOutcome")
        return body

    def _query(self, base: str, query: str, headers: dict[str, str], deadline: float) -> Any:
        body = self._get(urljoin(base, query), headers, deadline)
        if body["resourceType"] != "Bundle":
            return body
        entries = list(body.get("entry") or [])
        pages = 1
        while (next_url := _next_link(body)) is not None:
            if not next_url.startswith(base):  # never follow a link off the allowlisted server (SSRF)
                raise _Failure("FHIR server sent a next link to another server")
            if pages >= self.settings.fhir_max_pages or len(entries) >= self.settings.fhir_max_resources:
                raise _Failure(f"FHIR search exceeded {self.settings.fhir_max_pages} pages or "
                               f"{self.settings.fhir_max_resources} resources")
            body = self._get(next_url, headers, deadline)
            entries.extend(body.get("entry") or [])
            pages += 1
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None
