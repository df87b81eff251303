"""The serving model: gunicorn's asyncio worker reads each request whole, then runs the Flask app on it.

An idle socket or a client that drips its request a byte at a time costs an event-loop callback and a buffer, never
a thread and never a turn at the app: the app runs only once the request (headers and body, bounded by
BACKPAIN_CDS_MAX_BODY_BYTES) is in memory, so health probes and healthy calls are answered whatever slow clients hold
open. A call that only computes runs on the loop's thread (most hook calls carry their prefetch: CPU-bound, and
parallelism comes from workers); a call that may wait on the EHR's FHIR server runs in a pool of
BACKPAIN_CDS_THREADS threads per worker, and the loop serves meanwhile (web/offload.py decides).
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

from ..logs import safe

if TYPE_CHECKING:
    from .offload import OnLoop

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class BufferedWsgi:
    """An ASGI app that buffers the request, then calls the WSGI app, on the loop or in a thread (`on_loop` says),
    and sends its whole response."""

    def __init__(
        self,
        app: Wsgi,
        threads: int,
        max_body_bytes: int,
        on_loop: OnLoop | None = None,
    ) -> None:
        self.app = app
        self.threads = threads
        self.max_body_bytes = max_body_bytes
        # which calls run on the loop's thread, and under what (its turn: web/offload.py); None: all on threads
        self.on_loop = on_loop
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _executor(self) -> ThreadPoolExecutor:
        if self._pid != os.getpid():  # made in the worker: the master forks before any thread exists
            self._pool, self._pid = ThreadPoolExecutor(self.threads, thread_name_prefix="call"), os.getpid()
        return self._pool  # type: ignore[return-value]

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off in `serve`; websockets are not ours
            return
        body = await self._read_body(scope, receive)
        if body is None:  # the client went away before its request was whole
            return
        environ = _environ(scope, body)
        if self.on_loop is not None and (held := self.on_loop(environ, body)) is not None:
            with held:  # computes only: no handing to a thread and back
                status, headers, content = self._call(environ)
        else:
            loop = asyncio.get_running_loop()
            status, headers, content = await loop.run_in_executor(self._executor(), self._call, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _read_body(self, scope: dict[str, Any], receive: Receive) -> bytes | None:
        """The body, or its first max_body_bytes + 1 bytes (enough for the app to answer 413); nothing at all when
        Content-Length already says it is too large (the app answers 413 from the header alone)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return b""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body") or size > self.max_body_bytes:
                return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the WSGI app (in a pool thread): status, headers and the whole body of its response."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return _no_write

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = started
        return int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers], content


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() is not supported; return the body")


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) for an ASGI HTTP scope and its buffered body."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + name
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


# A new connection must send its request head (request line and headers) within this many seconds, or it is closed:
# gunicorn times idle kept-alive connections out (keepalive), but not a first request that never comes.
REQUEST_HEAD_SECONDS = 10.0


# RFC 9110's reason phrases for what the worker answers itself (Python 3.11's HTTPStatus says "Request-URI Too Long")
_REASONS = {414: "URI Too Long", 431: "Request Header Fields Too Large"}


def error_response(status: int, message: str, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 error response as the app would write it: `{"error": <code>, "message": ...}`."""
    reason = _REASONS.get(status) or (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error")
    code = "internal-error" if status == 500 else reason.lower().replace(" ", "-")
    body = orjson.dumps({"error": code, "message": safe(message, 200)})
    extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Content-Type-Options: nosniff\r\n{extra}Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def worker_class() -> type:
    """gunicorn's asyncio worker, with a deadline for the first request head and idle connections closed at once
    when the worker stops (they would otherwise hold a graceful stop for its whole timeout). Imported in `serve`
    only: gunicorn's worker modules are not needed elsewhere."""
    from gunicorn.asgi.protocol import ASGIProtocol
    from gunicorn.workers.gasgi import ASGIWorker

    class Protocol(ASGIProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._peer_eof = False
            self.worker.protocols.add(self)
            # gunicorn arms this timer between requests only; the first request's head cancels it the same way
            self._keepalive_handle = self.worker.loop.call_later(REQUEST_HEAD_SECONDS, self._keepalive_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self.worker.protocols.discard(self)
            super().connection_lost(exc)

        def close_if_idle(self) -> None:
            if self._awaiting_request and not self._finishing_calls:
                self._keepalive_timeout()

        def eof_received(self) -> bool | None:
            """The client shut down its sending side (HTTP/1.1 allows it once the request is out): a whole request
            is still answered, then the connection closed; a body cut short is a 400. Nothing started: close."""
            if self._current_request is None:
                return None
            self._peer_eof = True
            if self._body_receiver is not None and not self._body_receiver._complete:
                self._body_receiver.signal_disconnect()  # the app stops waiting; gunicorn then writes an error
            return True

        def _arm_keepalive_timer(self) -> None:
            if self._peer_eof:  # nothing more can come: close once the last answer is out
                self._keepalive_timeout()
            else:
                super()._arm_keepalive_timer()

        def _send_error_response(self, status: int, message: str, extra_headers: Iterable = ()) -> None:
            """Every error the worker writes itself (bad request line, headers or chunking, too large a head) in
            our error format: a JSON body saying what is wrong, `nosniff`, then the connection closed."""
            if status == 500 and self._peer_eof:  # the app saw a body end before it was whole
                status, message = 400, "the request body ended before it was complete"
            self._safe_write(error_response(status, message, extra_headers))

    class Worker(ASGIWorker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.protocols: set[Protocol] = set()

        async def _serve(self) -> None:
            """gunicorn's loop with our protocol (and no ASGI lifespan: the app is loaded before the fork)."""
            for listener in self.sockets:
                self.servers.append(await self.loop.create_server(lambda: Protocol(self), sock=listener.sock))
            while self.alive and self.ppid == os.getppid():
                self.notify()
                await asyncio.sleep(0.25)
            for server in self.servers:
                server.close()
            for protocol in list(self.protocols):
                protocol.close_if_idle()
            await self._shutdown()

    return Worker


def logger_class(fmt: str) -> type:
    """gunicorn's logger writing our format (`logs.py`) for its own lines, without an access log (each call has its
    structured line) and without the empty `Listening at:` line of per-worker sockets (the start-up line says it)."""
    from gunicorn.glogging import Logger

    from .. import logs

    class GunicornLog(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            self.error_log.handlers = [logs.handler(fmt)]
            self.error_log.filters = [lambda record: not str(record.msg).startswith("Listening at:")]
            self.error_log.propagate = False

        def _compute_access_log_enabled(self) -> bool:
            return False

    return GunicornLog


def start_up_line(host: str, port: int, production: bool, preview: bool, metrics_port: int | None) -> str:
    """The one line saying where to go and in which mode this service runs."""
    shown = (
        "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
    )
    url = f"http://{shown}:{port}/"
    mode = (
        "production mode (client JWTs required)"
        if production
        else "DEMO MODE: client JWTs are not checked (set BACKPAIN_CDS_JWT_JWKS)"
    )
    extras = [f"card preview at {url}" if preview else "", f"/metrics on port {metrics_port}" if metrics_port else ""]
    return f"backpain-cds serving {url}cds-services in {mode}" + "".join(f"; {e}" for e in extras if e)
