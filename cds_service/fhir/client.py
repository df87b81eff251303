"""The only code that talks to an EHR's FHIR server: allowlist, bearer token, deadline, byte cap, paging.

`fhirServer` and every paging link must lie at or below an allowlisted base (by URL structure, `allowlist.py`);
redirects are refused, bodies are streamed under one byte allowance and one deadline per hook call, and at the
deadline every read still in flight is cut (`http_fetch.Budget`), so a slow or hostile server holds neither a
thread nor a connection past it. Every failure becomes `PrefetchUnavailable` (412) naming the missing keys and the
reason; nothing above this module sees a `requests` error. Tokens never reach a log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests

from .. import metrics
from ..config import Settings
from ..errors import PrefetchUnavailable
from ..hook_request import HookRequest
from ..logs import safe
from .allowlist import Allowlist, BadUrl, BaseUrl
from .http_fetch import Budget, FetchError, get_json, new_session

log = logging.getLogger(__name__)
ACCEPT = "application/fhir+json"
QUERIES_PER_CALL = 10  # one thread per prefetch template, so no query of a call waits for another


class _Failure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FhirClient:
    """Fetches prefetch queries from an allowlisted FHIR server; one pooled Session per fetch thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.allowlist = Allowlist.parse(settings.fhir_server_allowlist)
        self._local = threading.local()
        # Entered around a fetch's network wait; `serve` sets web/turns.py's, so the worker's other calls compute.
        self.waiting: Callable[[], AbstractContextManager[Any]] = nullcontext
        # Enough threads for every call a worker serves at once (BACKPAIN_CDS_THREADS) to run all its queries, and a
        # call never has more than its templates in flight; its threads are freed at its deadline, so a slow server
        # cannot starve the calls beside or after it.
        self._pool = ThreadPoolExecutor(max_workers=QUERIES_PER_CALL * settings.threads, thread_name_prefix="fhir")

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:  # requests.Session is not thread-safe: one per thread, connections pooled
            session = self._local.session = new_session()
        return session

    def check_allowed(self, server: str | None, keys: list[str]) -> BaseUrl:
        """Return the parsed fhirServer, or raise PrefetchUnavailable without contacting it."""

        def refuse(message: str, reason: str) -> PrefetchUnavailable:
            return PrefetchUnavailable(message, missingPrefetch=keys, reason=reason)

        if not server:
            raise refuse("prefetch is incomplete and the request has no fhirServer", "no-fhir-server")
        try:
            base = BaseUrl.parse(server)
        except BadUrl as exc:
            raise refuse(f"fhirServer {exc}", "fhir-server-not-allowed") from None
        if urlsplit(server).query or urlsplit(server).fragment or self.allowlist.match(server) is None:
            raise refuse(
                "prefetch is incomplete and fhirServer is not at or below an entry of "
                "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST",
                "fhir-server-not-allowed",
            )
        if base.scheme != "https" and not (base.is_loopback or self.settings.fhir_allow_http):
            raise refuse(
                "fhirServer must use https (set BACKPAIN_CDS_FHIR_ALLOW_HTTP for test servers)", "fhir-server-not-https"
            )
        return base

    def fetch(self, request: HookRequest, queries: dict[str, str]) -> dict[str, Any]:
        """Run every query in parallel within the deadline and byte cap; return key -> resource, Bundle or None."""
        started = time.perf_counter()
        try:
            with self.waiting():
                values = self._fetch(request, queries)
        except PrefetchUnavailable as exc:
            metrics.FHIR_SECONDS.labels("failed").observe(time.perf_counter() - started)
            metrics.FHIR_FAILURES.labels(metrics.fhir_reason(exc.message)).inc()
            raise
        metrics.FHIR_SECONDS.labels("ok").observe(time.perf_counter() - started)
        return values

    def _fetch(self, request: HookRequest, queries: dict[str, str]) -> dict[str, Any]:
        keys = sorted(queries)
        base = self.check_allowed(request.fhir_server, keys)
        headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip"}
        if request.fhir_authorization is not None:
            headers["Authorization"] = f"Bearer {request.fhir_authorization.access_token}"
        budget = Budget(self.settings.fhir_deadline, self.settings.fhir_max_bytes, self.settings.max_json_values)
        futures = {self._pool.submit(self._query, base, query, headers, budget): key for key, query in queries.items()}
        done, pending = wait(futures, timeout=self.settings.fhir_deadline, return_when=FIRST_EXCEPTION)
        failed = [(futures[f], f.exception()) for f in done if f.exception() is not None]
        if pending or failed:
            budget.cancel()  # cut every read still in flight: its thread and connection are free at once
            for future in pending:
                future.cancel()
            missing = sorted({futures[f] for f in pending} | {key for key, _ in failed})
            reason = next((exc.reason for _, exc in failed if isinstance(exc, _Failure)), None) or (
                "FHIR server did not answer within the deadline" if not failed else "FHIR query failed"
            )
            log.warning("FHIR fallback failed for %s: %s", ",".join(missing), safe(reason))
            raise PrefetchUnavailable(
                f"could not fetch {', '.join(missing)} from fhirServer: {reason}",
                missingPrefetch=missing,
                reason=reason,
            )
        return {futures[f]: f.result() for f in done}

    def _get(self, url: str, headers: dict[str, str], budget: Budget) -> Any:
        try:
            body, _ = get_json(
                self.session, url, headers, budget, self.settings.fhir_connect_timeout, self.settings.fhir_read_timeout
            )
        except FetchError as exc:
            if exc.status in (401, 403):
                raise _Failure(f"FHIR server refused access ({exc.status})") from None
            if exc.status == 404 and "?" not in url:
                raise _Failure("FHIR server has no such resource (404)") from None
            raise _Failure(f"FHIR server: {exc.reason}") from None
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise _Failure("FHIR server sent JSON that is not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise _Failure("FHIR server answered with an OperationOutcome")
        return body

    def _query(self, base: BaseUrl, query: str, headers: dict[str, str], budget: Budget) -> Any:
        url = f"{base}/{query}"
        self._check_below(base, url)
        body = self._get(url, headers, budget)
        if body["resourceType"] != "Bundle":
            return body
        entries = self._capped(_entries(body))
        pages = 1
        while (next_url := _next_link(body)) is not None:
            self._check_below(base, next_url)  # never follow a link off the fhirServer base (SSRF)
            if pages >= self.settings.fhir_max_pages:
                raise _Failure(f"FHIR search exceeded {self.settings.fhir_max_pages} pages")
            body = self._get(next_url, headers, budget)
            if body["resourceType"] != "Bundle":
                raise _Failure("FHIR server sent a search page that is not a Bundle")
            entries.extend(_entries(body))
            self._capped(entries)
            pages += 1
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}

    def _capped(self, entries: list[Any]) -> list[Any]:
        """The entries so far, checked against BACKPAIN_CDS_FHIR_MAX_RESOURCES after every page, the first included."""
        if len(entries) > self.settings.fhir_max_resources:
            raise _Failure(f"FHIR search exceeded {self.settings.fhir_max_resources} resources")
        return entries

    def _check_below(self, base: BaseUrl, url: str) -> None:
        """`base` passed the allowlist in check_allowed, so whatever lies below it does too: one parse suffices."""
        try:
            below = base.contains(BaseUrl.parse(url))
        except BadUrl:
            below = False
        if not below:
            raise _Failure("FHIR server sent a link outside the fhirServer base")


# A page we cannot read fails the query (412, the prefetch key named), as the prefetch path reports the same shapes:
# what it held, or the pages after it, might have been a red flag.


def _entries(bundle: dict[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise _Failure("FHIR server sent a Bundle whose entry is not an array")
    return entries


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    if links is None:
        return None
    if not isinstance(links, list):
        raise _Failure("FHIR server sent a Bundle whose link is not an array")
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("relation"), str):
            raise _Failure("FHIR server sent a Bundle link without a relation")
        if link["relation"] == "next":
            if not isinstance(link.get("url"), str):
                raise _Failure("FHIR server sent a next link without a url")
            return link["url"]
    return None
