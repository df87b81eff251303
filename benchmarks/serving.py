"""Benchmark: the serving model (web/serving.py) against gunicorn's gthread worker, serving the same app.

    apt-get install wrk && .venv/bin/python benchmarks/serving.py [--seconds 10] [--rounds 3] [--workers 2]

Both serve `floor_app.py` with a client JWT per call (PyJWT ES384 check and a SQLite jti insert, after an orjson
parse of Brenda Jackson's 25 KB hook call, from ../shared/fhir-data), answering as many bytes as our answer to that
call: (a) under gunicorn, gthread with one thread a worker (the floor's server in hooks.py); (b) under `backpain-cds
serve`'s gunicorn settings, asyncio worker, BufferedWsgi and on-loop placement (web/offload.py, which decodes the
body and hands it on, as it does to our app), with floor_app's WSGI app in place of ours. wrk drives each in turn
(16 connections, a fresh token per request, after a second of warm-up); each round prints calls/s and the workers'
CPU per call (user and system, from /proc), the two servers alternating which goes first. The rules, the card log,
metrics and logs are not in either: this is what the worker model costs, or saves, around the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hooks import BIN, HOOK, PATIENTS, Tokens, free_port, start, token_file, workers_of, wrk  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def serve_floor(port: int, workers: int) -> int:
    """`backpain-cds serve` with floor_app's WSGI app in place of ours (the rest of the app, settings included, as
    configured by the environment)."""
    import cds_service
    from cds_service.config import Settings
    from cds_service.web.serve import serve

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import floor_app

    ours = cds_service.create_app

    def create_app(settings: Settings | None = None) -> Any:
        app = ours(settings)
        app.wsgi_app = floor_app.app  # Flask.__call__ hands every request to it: no HookCalls, no routes
        return app

    cds_service.create_app = create_app  # serve() imports it when called
    return serve("127.0.0.1", port, workers, Settings.from_env())


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds of these processes (all their threads)."""
    user = system = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]) / HZ, system + int(fields[12]) / HZ
    return user, system


def measure(kind: str, args: argparse.Namespace, body: Path, answer: int, tmp: Path) -> tuple[float, float, float]:
    """(calls/s, user us, system us per call) of one server under wrk."""
    port = free_port()
    tokens = Tokens(f"http://127.0.0.1:{port}")
    run = Path(tempfile.mkdtemp(dir=tmp))
    jwks = tokens.jwks_file(run / "jwks.json")
    env = {
        **os.environ,
        "BENCH_JWKS": str(jwks),
        "BENCH_PUBLIC_BASE": tokens.public_base,
        "BENCH_DB": str(run / "floor.sqlite3"),
        "BENCH_ANSWER_BYTES": str(answer),
    }
    if kind == "gthread":
        cmd = [str(BIN / "gunicorn"), "-w", str(args.workers), "-k", "gthread", "--threads", "1", "--keep-alive", "5"]
        cmd += ["--reuse-port", "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT / "benchmarks"), "floor_app:app"]
    else:  # our settings: production mode (a JWKS), so placement decodes a body only for a caller with a token
        env |= {
            "BACKPAIN_CDS_DATA_DIR": str(run),
            "BACKPAIN_CDS_JWT_JWKS": str(jwks),
            "BACKPAIN_CDS_PUBLIC_BASE_URL": tokens.public_base,
            "BACKPAIN_CDS_LOG_LEVEL": "WARNING",
        }
        cmd = [sys.executable, __file__, "--serve-floor", str(port), "--workers", str(args.workers)]
    proc, _ = start(cmd, port, env, log=run / "server.log")
    try:
        warm = token_file(tokens, tokens.public_base, 3000, run / "warm.txt")
        wrk(tokens.public_base, body, 1, args.users, warm)
        fresh = token_file(tokens, tokens.public_base, args.seconds * 3000 + 1000, run / "tokens.txt")
        workers = workers_of(proc.pid)
        before = cpu_seconds(workers)
        rate, count, errors = wrk(tokens.public_base, body, args.seconds, args.users, fresh)
        after = cpu_seconds(workers)
    finally:
        proc.terminate()
        proc.wait()
    if errors:
        raise RuntimeError(f"{kind}: {errors} errors under wrk (tokens run out?)")
    return rate, (after[0] - before[0]) / count * 1e6, (after[1] - before[1]) / count * 1e6


def our_answer(request: dict) -> int:
    """The bytes of our answer to this call (its cards, as of today)."""
    from cds_service.config import Settings
    from cds_service.pipeline import Runtime, run

    return len(orjson.dumps(run(Runtime.create(Settings.from_env({})), HOOK.rsplit("/", 1)[1], request, date.today())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        return serve_floor(args.serve_floor, args.workers)
    name, pattern = PATIENTS[0]
    request = request_for(resources_of(read_json(next((FHIR_DATA / pattern).parent.glob(Path(pattern).name)))))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        body = tmp / "body.json"
        body.write_text(json.dumps(request))
        answer = our_answer(request)
        print(
            f"{name}'s hook call ({body.stat().st_size:,} bytes), answered with {answer:,} bytes; {args.workers} "
            f"workers each, wrk with {args.users} connections for {args.seconds} s a round:"
        )
        print(f"{'round':<7}{'server':<22}{'calls/s':>9}{'user us':>9}{'sys us':>8}{'CPU us':>8}")
        results: dict[str, list[tuple[float, float, float]]] = {"gthread": [], "ours": []}
        for i in range(args.rounds):
            for kind in ("gthread", "ours") if i % 2 == 0 else ("ours", "gthread"):
                rate, user, system = measure(kind, args, body, answer, tmp)
                results[kind].append((rate, user, system))
                label = "gthread, 1 thread" if kind == "gthread" else "ours (serving.py)"
                print(f"{i + 1:<7}{label:<22}{rate:>9.0f}{user:>9.0f}{system:>8.0f}{user + system:>8.0f}")
        cpu = {kind: statistics.median(u + s for _, u, s in rows) for kind, rows in results.items()}
        rate = {kind: statistics.median(r for r, _, _ in rows) for kind, rows in results.items()}
        print(
            f"medians: ours {cpu['ours']:.0f} us CPU a call against gthread's {cpu['gthread']:.0f} "
            f"({cpu['ours'] / cpu['gthread']:.2f}x), {rate['ours']:.0f} calls/s against {rate['gthread']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
