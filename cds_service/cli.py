"""`backpain-cds serve` (gunicorn), `evaluate FILE` (same pipeline as HTTP), `feedback-report`, `knowledge`."""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
import sys
from dataclasses import replace
from datetime import date
from importlib.metadata import version
from typing import NoReturn

import orjson

from .config import Settings
from .errors import CdsError, ConfigError


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from .web.serve import serve

    return serve(args.host, args.port, args.workers, settings)


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
    serve = sub.add_parser(
        "serve",
        help="serve the CDS Hooks API under gunicorn",
        description="Serve the CDS Hooks API, the card preview page (demo mode) and /metrics.",
    )
    serve.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 or :: for every interface (default: %(default)s)",
    )
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="gunicorn worker processes (default: BACKPAIN_CDS_WORKERS, else the CPU count)",
    )
    ev = sub.add_parser(
        "evaluate",
        help="evaluate a CDS Hooks request file and print the response",
        description="Evaluate a CDS Hooks request through the same pipeline as HTTP and print the "
        "response. Exit 2 on bad input, 3 when data is missing and cannot be fetched.",
    )
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
    commands = {
        "serve": _serve,
        "evaluate": _evaluate,
        "feedback-report": _feedback_report,
        "policy": _policy,
        "knowledge": _knowledge,
    }
    try:  # a bad setting, or a data folder or database it names that cannot be used: one line, exit code 2
        settings = Settings.from_env()
        if getattr(args, "as_of", None):
            settings = replace(settings, as_of=args.as_of)
        return commands[args.command](args, settings)
    except ConfigError as exc:
        print(f"configuration error: {exc.message}", file=sys.stderr)
        return 2
