"""A scripted FHIR server on loopback for fault tests: real HTTP, canned answers per path, request log."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedFhirServer:
    """`routes` maps a path prefix (e.g. "/fhir/Condition") to (status, body, delay_seconds); a callable body
    writes the whole answer itself (`body(handler)`), for redirects, drips and endless streams."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, Any, float]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real FHIR servers answer
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                match = max((p for p in server.routes if self.path.startswith(p)), key=len, default=None)
                status, body, delay = server.routes.get(match, (404, {"resourceType": "OperationOutcome"}, 0))
                time.sleep(delay)
                if callable(body):
                    body(self)
                    return
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # the default 5 drops the SYNs of ten parallel queries: 1 s retransmits

        self.httpd = Server((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.root = f"http://{host}:{self.httpd.server_port}"
        self.base = f"{self.root}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedFhirServer:
        if not self.thread.is_alive():  # entered early (to know its port) and again where it is used
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def redirect_to(location: str):
    """A route body answering 302 to `location`: for tests that a redirect is never followed."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer
