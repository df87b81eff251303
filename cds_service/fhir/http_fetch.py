"""Bounded GETs of JSON from servers we do not trust (EHR FHIR servers, issuers' JWKS URLs).

Every fetch belongs to a `Budget`: a deadline and a byte allowance shared by all its requests. Redirects are never
followed; bodies are streamed and counted as they arrive (decompressed gzip included, urllib3 bounds each step);
when the deadline passes, `Budget.cancel` shuts down every socket still reading for it, so a server that drips one
byte at a time cannot keep a thread, a connection or memory past the deadline. Proxies and .netrc from the
environment are ignored: the bearer token goes only where the caller's URL says.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK_BYTES = 64 * 1024
_local = threading.local()  # the Budget and sockets of the fetch this thread is running


def json_values(data: bytes | bytearray) -> int:
    """An upper bound on the values and members a JSON document holds, counted before it is parsed: one per `{`,
    `[` and `,` (those inside strings too, so it never undercounts), plus one. Parsing costs memory per value (an
    empty object is 64 bytes in Python for its 3 bytes of JSON), so the bytes of a body alone do not bound it."""
    return data.count(b"{") + data.count(b"[") + data.count(b",") + 1


class FetchError(Exception):
    """A fetch failed; `reason` is safe to show (no URL, no token, nothing the server sent)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Budget:
    """A deadline and a byte allowance for one hook call's fetches (or one JWKS fetch), shared across threads."""

    def __init__(self, seconds: float, max_bytes: int, max_values: int = 500_000) -> None:
        self.deadline = time.monotonic() + seconds
        self.max_bytes = max_bytes
        self.max_values = max_values
        self._used = 0
        self._values = 0
        self._sockets: set[socket.socket] = set()
        self._cancelled = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        """Seconds left; raise FetchError when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0 or self._cancelled:
            raise FetchError("the server did not answer within the deadline")
        return left

    def take(self, count: int) -> None:
        """Count bytes received; raise FetchError past the allowance."""
        with self._lock:
            self._used += count
            if self._used > self.max_bytes:
                raise FetchError(f"the server sent more than the {self.max_bytes} byte limit")

    def take_values(self, count: int) -> None:
        """Count JSON values about to be parsed; raise FetchError past the allowance (parsing costs memory per value,
        not per byte)."""
        with self._lock:
            self._values += count
            if self._values > self.max_values:
                raise FetchError(f"the server sent more than the {self.max_values} JSON value limit")

    def cancel(self) -> None:
        """Stop every read in flight for this budget now: shut its sockets down (the reading thread then fails)."""
        with self._lock:
            self._cancelled = True
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def watchdog(self) -> Iterator[None]:
        """Cancel at the deadline, for a fetch run in the caller's own thread (nobody else is waiting on it)."""
        timer = threading.Timer(max(self.deadline - time.monotonic(), 0), self.cancel)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            if self._cancelled:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            else:
                self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


def _register(sock: socket.socket | None) -> None:
    budget: Budget | None = getattr(_local, "budget", None)
    if budget is not None and sock is not None:
        budget._track(sock)
        _local.sockets.append(sock)


class _TrackedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # the request is sent; what follows is their bytes
        _register(self.sock)
        return super().getresponse(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self.sock)
        return super().getresponse(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _TrackingAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


def new_session() -> requests.Session:
    """A Session whose connections a Budget can cancel; environment proxies and .netrc are ignored."""
    session = requests.Session()
    session.trust_env = False
    adapter = _TrackingAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def get_json(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    budget: Budget,
    connect_timeout: float,
    read_timeout: float,
) -> tuple[Any, requests.structures.CaseInsensitiveDict]:
    """GET url and decode its JSON body within the budget; return (body, response headers).

    Raise FetchError for a refused or failed connection, a redirect, a status of 400 or more (`status` set), a
    body over the byte allowance, the deadline, or a body that is not JSON.
    """
    _local.budget, _local.sockets = budget, []
    try:
        left = budget.remaining()
        try:
            response = session.get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(min(connect_timeout, left), min(read_timeout, left)),
            )
        except requests.Timeout:
            raise FetchError("the server timed out") from None
        except requests.RequestException as exc:
            budget.remaining()  # a read cut short by the deadline is reported as the deadline
            raise FetchError(f"the server is unreachable ({type(exc).__name__})") from None
        with response:
            if 300 <= response.status_code < 400:
                raise FetchError(f"redirect refused ({response.status_code})", response.status_code)
            if response.status_code >= 400:
                raise FetchError(f"the server answered {response.status_code}", response.status_code)
            body = _read(response, budget)
            budget.take_values(json_values(body))
            return _decode(body), response.headers
    finally:
        for sock in _local.sockets:
            budget._untrack(sock)
        _local.budget, _local.sockets = None, []


def _read(response: requests.Response, budget: Budget) -> bytearray:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > budget.max_bytes:
        raise FetchError(f"the server sent more than the {budget.max_bytes} byte limit")
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK_BYTES):  # gzip is decoded CHUNK_BYTES at a time, not all at once
            budget.take(len(chunk))
            body += chunk
    except requests.RequestException as exc:  # includes our socket shut down at the deadline
        budget.remaining()
        raise FetchError(f"the server's answer broke off ({type(exc).__name__})") from None
    budget.remaining()  # a body cut short by the deadline must not pass for a whole one
    return body


def _decode(body: bytearray) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise FetchError("the server sent a body that is not JSON") from None
