"""One hook call through the Flask app in this process, called as our gunicorn worker calls it (no HTTP): thread CPU
per call and a cProfile of the whole call (JWT check, replay cache, pipeline, card policy, log line, response).

    .venv/bin/python benchmarks/app_profile.py [--demo] [--calls 300] [--patient "Brenda Jackson"]

Production mode by default: a pinned ES384 key, a fresh client JWT per call, replay cache and card log in SQLite,
JSON logs at INFO (written to /dev/null); --demo: no JWT. Shows where a call's time goes beside
`benchmarks/hooks.py`, which measures it over HTTP. Needs ../shared/fhir-data.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hooks import PATIENTS, Tokens  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

PATH = "/cds-services/backpain-patient-view"


def production_env(tmp: Path, tokens: Tokens | None) -> dict[str, str]:
    """Settings of an in-process app as `serve` runs it in production mode (demo mode without `tokens`): data in
    `tmp`, JSON logs at INFO, metrics, and a pinned client-JWT key."""
    env = {
        "BACKPAIN_CDS_DATA_DIR": str(tmp),
        "BACKPAIN_CDS_LOG_LEVEL": "INFO",
        "BACKPAIN_CDS_LOG_FORMAT": "json",
        "BACKPAIN_CDS_AS_OF": "2026-11-27",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(),
    }
    if tokens is not None:
        env["BACKPAIN_CDS_JWT_JWKS"] = str(tokens.jwks_file(tmp / "jwks.json"))
        env["BACKPAIN_CDS_PUBLIC_BASE_URL"] = tokens.public_base
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="demo mode: no client JWT")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--patient", default=PATIENTS[0][0], choices=[name for name, _ in PATIENTS])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    tokens = Tokens("http://127.0.0.1:9999")
    os.environ.update(production_env(tmp, None if args.demo else tokens))
    from cds_service import create_app
    from cds_service.web.serving import _environ

    app = create_app()
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (open for the life of the process)
    pattern = dict(PATIENTS)[args.patient]
    body = json.dumps(request_for(resources_of(read_json(sorted(FHIR_DATA.glob(pattern))[0])))).encode()

    # signed before timing: the EHR signs, not us
    fresh = iter([] if args.demo else [tokens.new(tokens.public_base + PATH) for _ in range(2 * args.calls + 50)])

    def call() -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if not args.demo:
            headers.append((b"authorization", f"Bearer {next(fresh)}".encode()))
        scope = {"type": "http", "method": "POST", "path": PATH, "headers": headers, "server": ("127.0.0.1", 9999)}
        status: list[str] = []
        result = app(_environ(scope, body), lambda s, h, e=None: status.append(s))
        b"".join(result)
        getattr(result, "close", lambda: None)()
        if not status[0].startswith("200"):
            raise SystemExit(f"the call answered {status[0]}")

    for _ in range(50):
        call()
    gc.freeze()  # as `serve` does after loading, with its young-generation threshold
    gc.set_threshold(10_000, 10, 10)
    times = []
    for _ in range(args.calls):
        started = time.thread_time()
        call()
        times.append(time.thread_time() - started)
    times.sort()
    print(
        f"{args.patient}, {'demo' if args.demo else 'production'} mode: thread CPU per call p50 "
        f"{times[len(times) // 2] * 1000:.3f} ms, min {times[0] * 1000:.3f} ms"
    )
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.calls):
        call()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
