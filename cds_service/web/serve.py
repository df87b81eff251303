"""`backpain-cds serve`: the app under gunicorn, with its worker model (`serving.py`), its metrics folder and port,
and the one start-up line."""

from __future__ import annotations

import atexit
import gc
import math
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..config import Settings

YOUNG_GC_THRESHOLD = 10_000  # objects allocated between collections of the young generation (Python's default: 700)


def _port_in_use(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on, or None. The workers listen with SO_REUSEPORT, which would otherwise let
    a second instance (a stale one after a deploy, say) silently share the port and half the traffic."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def metrics_dir() -> None:
    """Give this process tree a directory of its own for the workers' metric samples (prometheus_client multiprocess
    mode): new, private (mode 0700) and removed when `serve` exits, so no other run or user shares it. A directory
    configured in PROMETHEUS_MULTIPROC_DIR is used instead, emptied of earlier samples. It must be set before
    prometheus_client is first imported."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        for stale in Path(configured).glob("*.db"):  # samples of an earlier run would be added to ours
            stale.unlink(missing_ok=True)
        return
    path = tempfile.mkdtemp(prefix="backpain-cds-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    master = os.getpid()

    def remove() -> None:  # the workers are forked with this handler: only the master removes the directory
        if os.getpid() == master:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)


def _when_ready(host: str, port: int, settings: Settings) -> Any:
    """gunicorn's when_ready hook (in the master, listening): /metrics on its own port when configured, then the one
    start-up line."""

    def ready(_arbiter: Any) -> None:
        import logging

        from .serving import start_up_line

        if settings.metrics_port is not None:
            from prometheus_client import CollectorRegistry, multiprocess, start_http_server

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            start_http_server(settings.metrics_port, addr=host, registry=registry)
        production = settings.jwt_jwks is not None
        logging.getLogger("cds_service").log(
            logging.INFO if production else logging.WARNING,
            start_up_line(host, port, production, settings.serves_preview, settings.metrics_port),
        )

    return ready


def serve(host: str, port: int, workers: int | None, settings: Settings) -> int:
    """Serve the app under gunicorn until stopped; 2 when a port cannot be used."""
    from gunicorn.app.base import BaseApplication

    from .. import create_app  # imports prometheus_client: PROMETHEUS_MULTIPROC_DIR is set before it (below)
    from . import turns
    from .auth import MAX_TOKEN_CHARS
    from .lifecycle import DrainingArbiter
    from .offload import on_loop
    from .serving import BufferedWsgi, logger_class, worker_class

    if settings.metrics_port == port:
        print("error: BACKPAIN_CDS_METRICS_PORT must differ from the port served", file=sys.stderr)
        return 2
    for wanted in (port, settings.metrics_port):
        if wanted is not None and (reason := _port_in_use(host, wanted)):
            print(f"error: cannot listen on {host}:{wanted}: {reason}", file=sys.stderr)
            return 2
    metrics_dir()
    app = create_app(settings)  # fail fast in the master on bad settings or knowledge
    # Everything loaded so far (Flask, fhir.resources models, knowledge) lives as long as the process: keep it
    # out of the cyclic GC, which otherwise walks it on every collection a large request triggers (half the time
    # of a 3,000-resource hook call), and leave the pages shared with the forked workers.
    gc.freeze()
    # A hook call allocates thousands of containers (the parsed body, facts, cards), nearly all freed by reference
    # counting; at Python's default of 700 the young generation was collected dozens of times a call for little.
    gc.set_threshold(YOUNG_GC_THRESHOLD, 10, 10)

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or settings.workers)
            # An event loop reads whole requests; only then does the app run, on the loop or, for a call that may
            # wait on a FHIR server, on one of BACKPAIN_CDS_THREADS threads (web/serving.py): idle or slow clients
            # cost no thread.
            self.cfg.set("worker_class", worker_class())
            self.cfg.set("keepalive", 5)
            # A header may be as long as the longest client JWT the app takes ("Authorization: Bearer " and 16 KiB):
            # gunicorn's default of 8,190 bytes refused 8-16 KiB tokens with a 431 the app never saw or logged.
            self.cfg.set("limit_request_field_size", MAX_TOKEN_CHARS + 64)
            # After the drain, calls in flight finish: their FHIR fetches are bounded by the deadline.
            self.cfg.set("graceful_timeout", math.ceil(settings.fhir_deadline) + 5)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no socket in $HOME (read-only there)
                self.cfg.set("control_socket_disable", True)
            # Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections across
            # workers. On one shared socket a burst of connections (an EHR opening its pool) could all be accepted by
            # one worker and stay there, kept alive, while the other idled: half the throughput.
            self.cfg.set("reuse_port", True)
            # gunicorn's own HTTP parser, whatever is installed: its "auto" takes gunicorn_h1c's C parser where that
            # is installed (we do not depend on it), to which gunicorn gives no `limit_remaining`, so of a request
            # arriving before the last is put away it keeps 64 KiB, and gunicorn then closes the connection without
            # an answer (every few 200 KB calls: f7a5b27). In C, parsing saves about 10 us of a 26 KB call's 1.5 ms
            # of CPU: not worth a protocol patch (branch parser21 has one).
            self.cfg.set("http_parser", "python")
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", None)  # each hook and feedback call has one structured line (logs.py)
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set("logger_class", logger_class(settings.log_format))  # gunicorn's lines in our format
            self.cfg.set("preload_app", True)
            self.cfg.set("when_ready", _when_ready(host, port, settings))

        def load(self) -> Any:
            # One call computes at a time per worker; a call waiting on a FHIR server lets the others (web/turns.py).
            app.extensions["backpain_cds"].fhir.waiting = turns.waiting
            runtime, auth = app.extensions["backpain_cds"], app.extensions.get("backpain_cds_auth")
            placement = on_loop(settings, runtime.registry, auth)
            return BufferedWsgi(turns.taking_turns(app), settings.threads, settings.max_body_bytes, placement)

        def run(self) -> None:
            DrainingArbiter(self, app.extensions["backpain_cds_lifecycle"], settings.drain_seconds).run()

    Server().run()
    return 0
