"""`backpain-cds serve` (gunicorn), `evaluate FILE` (same pipeline as HTTP), `feedback-report`, `knowledge`."""
from __future__ import annotations

import argparse
import atexit
import gc
import ipaddress
import math
import os
import re
import shutil
import socket
import sys
import tempfile
from dataclasses import replace
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

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


def _metrics_dir() -> None:
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


def _when_ready(args: argparse.Namespace, settings: Settings) -> Any:
    """gunicorn's when_ready hook (in the master, listening): /metrics on its own port when configured, then the one
    start-up line."""
    def ready(_arbiter: Any) -> None:
        import logging

        from .web.serving import start_up_line

        if settings.metrics_port is not None:
            from prometheus_client import CollectorRegistry, multiprocess, start_http_server

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            start_http_server(settings.metrics_port, addr=args.host, registry=registry)
        production = settings.jwt_jwks is not None
        logging.getLogger("cds_service").log(
            logging.INFO if production else logging.WARNING,
            start_up_line(args.host, args.port, production, settings.serves_preview, settings.metrics_port))

    return ready


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    from . import create_app  # imports prometheus_client: PROMETHEUS_MULTIPROC_DIR is set before it (below)
    from .web import turns
    from .web.lifecycle import DrainingArbiter
    from .web.serving import BufferedWsgi, logger_class, worker_class

    if settings.metrics_port == args.port:
        print("error: BACKPAIN_CDS_METRICS_PORT must differ from the port served", file=sys.stderr)
        return 2
    for port in (args.port, settings.metrics_port):
        if port is not None and (reason := _port_in_use(args.host, port)):
            print(f"error: cannot listen on {args.host}:{port}: {reason}", file=sys.stderr)
            return 2
    _metrics_dir()
    app = create_app(settings)  # fail fast in the master on bad settings or knowledge
    # Everything loaded so far (Flask, fhir.resources models, knowledge) lives as long as the process: keep it
    # out of the cyclic GC, which otherwise walks it on every collection a large request triggers (half the time
    # of a 3,000-resource hook call), and leave the pages shared with the forked workers.
    gc.freeze()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers or settings.workers)
            # An event loop reads whole requests; only then does one of BACKPAIN_CDS_THREADS threads run the app
            # (web/serving.py): idle or slow clients cost no thread.
            self.cfg.set("worker_class", worker_class())
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
            self.cfg.set("accesslog", None)  # each hook and feedback call has one structured line (logs.py)
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set("logger_class", logger_class(settings.log_format))  # gunicorn's lines in our format
            self.cfg.set("preload_app", True)
            self.cfg.set("when_ready", _when_ready(args, settings))

        def load(self) -> Any:
            # One call computes at a time per worker; a call waiting on a FHIR server lets the others (web/turns.py).
            app.extensions["backpain_cds"].fhir.waiting = turns.waiting
            return BufferedWsgi(turns.taking_turns(app), settings.threads, settings.max_body_bytes)

        def run(self) -> None:
            DrainingArbiter(self, app.extensions["backpain_cds_lifecycle"], settings.drain_seconds).run()

    Server().run()
    return 0


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import Runtime, run

    name = "standard input" if args.file == "-" else args.file
    limit = settings.max_body_bytes
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(args.file, "rb") as file:
                data = file.read(limit + 1)
    except OSError as exc:
        print(f"error: cannot read {name}: {exc.strerror}", file=sys.stderr)
        return 2
    if len(data) > limit:  # the same bound as a hook call's body
        print(f"error: {name} is over the {limit} byte limit (BACKPAIN_CDS_MAX_BODY_BYTES)", file=sys.stderr)
        return 2
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        print(f"error: {name} is not valid JSON ({exc.msg} at character {exc.pos})", file=sys.stderr)
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

    try:
        engine = database.connect(settings.database_url, max(settings.database_timeout, 60))
    except database.Unusable as exc:
        raise ConfigError(f"{settings.database_setting}: {exc}") from None
    summary = report.summarise(engine, args.since)
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


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line naming the argument (exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a worker count (1-256)")
    return int(text)


_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host(text: str) -> str:
    """An IP address or a host name that resolves: what gunicorn can bind to."""
    host = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if len(host) > 253 or not _HOSTNAME.fullmatch(host) or host.replace(".", "").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or host name")
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(f"host name {text!r} does not resolve") from None
    return host


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _knowledge(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge import manifest, profiles_dir

    doc = manifest.manifest(profiles_dir())
    sys.stdout.write((orjson.dumps(doc).decode() if args.json else manifest.as_text(doc)) + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="backpain-cds", description="Low back pain CDS Hooks service")
    p.add_argument("--version", action="version", version=f"%(prog)s {version('backpain-cds')}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the CDS Hooks API under gunicorn",
                           description="Serve the CDS Hooks API, the card preview page (demo mode) and /metrics.")
    serve.add_argument("--host", type=_host, default="127.0.0.1",
                       help="address to listen on; 0.0.0.0 or :: for every interface (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default: %(default)s)")
    serve.add_argument("--workers", type=_workers, default=None,
                       help="gunicorn worker processes (default: BACKPAIN_CDS_WORKERS, else the CPU count)")
    ev = sub.add_parser("evaluate", help="evaluate a CDS Hooks request file and print the response",
                        description="Evaluate a CDS Hooks request through the same pipeline as HTTP and print the "
                                    "response. Exit 2 on bad input, 3 when data is missing and cannot be fetched.")
    ev.add_argument("file", help="the request as JSON; - reads standard input")
    ev.add_argument("--service", help="service id (default: the service for the request's hook)")
    ev.add_argument("--as-of", type=_date, help="evaluation date YYYY-MM-DD (default: BACKPAIN_CDS_AS_OF, else today)")
    fr = sub.add_parser("feedback-report", help="per card topic: feedback items, accepted, overridden, top reasons")
    fr.add_argument("--since", type=_date, help="only feedback from this date YYYY-MM-DD on (default: all)")
    fr.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    policy = sub.add_parser("policy", help="the card policy file of the CDS committee (BACKPAIN_CDS_CARD_POLICY)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="SUBCOMMAND")
    check = policy_sub.add_parser("check", help="validate a policy file and print the effective policy")
    check.add_argument("file")
    kn = sub.add_parser("knowledge", help="the knowledge manifest: version, digest, every artifact and its sources")
    kn.add_argument("--json", action="store_true", help="one JSON object instead of text")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    commands = {"serve": _serve, "evaluate": _evaluate, "feedback-report": _feedback_report, "policy": _policy,
                "knowledge": _knowledge}
    try:  # a bad setting, or a data folder or database it names that cannot be used: one line, exit code 2
        settings = Settings.from_env()
        if getattr(args, "as_of", None):
            settings = replace(settings, as_of=args.as_of)
        return commands[args.command](args, settings)
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
