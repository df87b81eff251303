"""`backpain-cds serve` (gunicorn) and `backpain-cds evaluate FILE` (same pipeline as HTTP)."""
from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from .config import Settings
from .errors import CdsError, ConfigError


def _port_in_use(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on, or None. The workers listen with SO_REUSEPORT, which would otherwise let
    a second instance (a stale one after a deploy, say) silently share the port and half the traffic."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _metrics_dir(port: int) -> None:
    """Give the workers a fresh directory for their metric samples (prometheus_client multiprocess mode), unless one is
    configured; it must be set before prometheus_client is first imported."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path is None:
        path = os.path.join(tempfile.gettempdir(), f"backpain-cds-metrics-{port}")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    shutil.rmtree(path, ignore_errors=True)  # samples of an earlier run would be added to ours
    os.makedirs(path, exist_ok=True)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    from . import create_app  # imports prometheus_client: PROMETHEUS_MULTIPROC_DIR is set before it (below)
    from .web.lifecycle import DrainingArbiter

    if reason := _port_in_use(args.host, args.port):
        print(f"error: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 2
    _metrics_dir(args.port)
    app = create_app(settings)  # fail fast in the master on bad settings or knowledge
    # Everything loaded so far (Flask, fhir.resources models, knowledge) lives as long as the process: keep it
    # out of the cyclic GC, which otherwise walks it on every collection a large request triggers (half the time
    # of a 3,000-resource hook call), and leave the pages shared with the forked workers.
    gc.freeze()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers or settings.workers)
            self.cfg.set("worker_class", "gthread")  # keeps EHR connections alive; sync closes each one
            # Calls with prefetch are CPU-bound (parallelism comes from workers), but a call without prefetch waits
            # on the EHR's FHIR server: more threads than one let a worker serve other calls meanwhile.
            self.cfg.set("threads", settings.threads)
            self.cfg.set("keepalive", 5)
            # After the drain, calls in flight finish: their FHIR fetches are bounded by the deadline.
            self.cfg.set("graceful_timeout", math.ceil(settings.fhir_deadline) + 5)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1: no socket in $HOME (read-only there)
                self.cfg.set("control_socket_disable", True)
            # Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections across
            # workers. On one shared socket a burst of connections (an EHR opening its pool) could all be accepted by
            # one worker and stay there, kept alive, while the other idled: half the throughput.
            self.cfg.set("reuse_port", True)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", None)  # the app logs hook calls without PHI; URLs carry none either
            self.cfg.set("loglevel", settings.log_level.lower())
            if settings.log_format == "json":  # gunicorn's own lines (boot, worker exits) as JSON objects too
                # gunicorn merges this into its defaults, whose root and loggers use a "console" handler
                self.cfg.set("logconfig_dict", {
                    "version": 1, "disable_existing_loggers": False,
                    "formatters": {"json": {"()": "cds_service.logs.JsonFormatter"}},
                    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                             "stream": "ext://sys.stderr"}},
                    "root": {"level": settings.log_level, "handlers": ["console"]},
                    "loggers": {name: {"level": settings.log_level, "handlers": ["console"], "propagate": False}
                                for name in ("gunicorn.error", "gunicorn.access")}})
            self.cfg.set("preload_app", True)

        def load(self) -> Any:
            return app

        def run(self) -> None:
            DrainingArbiter(self, app.extensions["backpain_cds_lifecycle"], settings.drain_seconds).run()

    Server().run()
    return 0


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import Runtime, run

    try:
        body = orjson.loads(Path(args.file).read_bytes())
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except orjson.JSONDecodeError as exc:
        print(f"error: {args.file} is not valid JSON ({exc.msg} at character {exc.pos})", file=sys.stderr)
        return 2
    runtime = Runtime.create(settings)
    service_id = args.service
    if service_id is None:
        hook = body.get("hook") if isinstance(body, dict) else None
        service_id = next((s.id for s in runtime.registry.services if s.hook == hook), None)
        if service_id is None:
            print(f"error: no service for hook {hook!r}; pass --service", file=sys.stderr)
            return 2
    try:
        result = run(runtime, service_id, body)
    except CdsError as exc:
        print(f"error ({exc.status} {exc.code}): {exc.message}", file=sys.stderr)
        return 3 if exc.status == 412 else 2
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _feedback_report(args: argparse.Namespace, settings: Settings) -> int:
    from .store import database, report

    summary = report.summarise(database.connect(settings.database_url, max(settings.database_timeout, 60)),
                                 args.since)
    sys.stdout.write((orjson.dumps(summary).decode() if args.json else report.as_text(summary)) + "\n")
    return 0


def _policy(args: argparse.Namespace, settings: Settings) -> int:
    """`policy check FILE`: validate a card policy file and print the policy it gives (defaults filled in)."""
    from .policy import PolicyError, load

    try:
        policy = load(args.file)
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(policy.describe() + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="backpain-cds", description="Low back pain CDS Hooks service")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the CDS Hooks API under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=None, help="default: BACKPAIN_CDS_WORKERS or CPU count")
    ev = sub.add_parser("evaluate", help="evaluate a CDS Hooks request file and print the response")
    ev.add_argument("file")
    ev.add_argument("--service", help="service id (default: the service for the request's hook)")
    ev.add_argument("--as-of", type=date.fromisoformat, help="evaluation date YYYY-MM-DD (default: today)")
    fr = sub.add_parser("feedback-report", help="per card topic: feedback items, accepted, overridden, top reasons")
    fr.add_argument("--since", type=date.fromisoformat, help="only feedback from this date YYYY-MM-DD on")
    fr.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    policy = sub.add_parser("policy", help="the card policy file of the CDS committee (BACKPAIN_CDS_CARD_POLICY)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate a policy file and print the effective policy")
    check.add_argument("file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
    if getattr(args, "as_of", None):
        settings = replace(settings, as_of=args.as_of)
    commands = {"serve": _serve, "evaluate": _evaluate, "feedback-report": _feedback_report, "policy": _policy}
    return commands[args.command](args, settings)
