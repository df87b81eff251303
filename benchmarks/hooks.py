"""Benchmark: production mode against the floor doing the same unavoidable work, under gunicorn, in one run.

    .venv/bin/python benchmarks/hooks.py [--requests 200] [--seq-rounds 3] [--load-seconds 5] [--rounds 3]
                                         [--users 16] [--workers 2] [--soak 2000] [--headline-only]
                                         [--fallback-only]

Prints, on the same machine in one run:
- HEADLINE, for Brenda Jackson (small), Corrin Jast (middle) and Vito Feeney (large): sequential p50/p95 of ours in
  production mode (client JWT ES384 fresh per call, replay cache in SQLite, card log, metrics, JSON logs at INFO)
  against the same-work floor (`floor_app.py`: a bare WSGI app that parses the body with orjson, checks the same
  ES384 token with PyJWT and inserts its jti in SQLite WAL), and demo mode against the parse-only floor, the four
  servers alternating; then throughput with wrk (a fresh token per request) and the share of the floor's;
- the time from process start to the first discovery; healthy-call latency (p50, worst) alone and while 300 idle
  and 32 slowloris sockets are held; worker RSS through a soak, read every quarter of it;
- unless --headline-only: the in-process cost of the JWT check and the card log, of one call (first ever, first
  for a patient, repeated), one replica behind HAProxy with PostgreSQL, the no-prefetch path under concurrency (32
  EHR calls at once against a FHIR server answering each query in 100 ms), against a scripted loopback FHIR server
  and against Medplum's FHIR engine.
Needs wrk (Debian `wrk`); ../shared/fhir-data; Medplum needs `npm ci --prefix tests/fhir_server`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cds_service.config import Settings  # noqa: E402
from cds_service.fhir.allowlist import BaseUrl  # noqa: E402
from cds_service.fhir.client import FhirClient  # noqa: E402
from cds_service.fhir.prefetch import resolve  # noqa: E402
from cds_service.hook_request import parse_hook_request  # noqa: E402
from cds_service.knowledge import load  # noqa: E402
from cds_service.services import Registry  # noqa: E402
from cds_service.store.database import connect  # noqa: E402
from cds_service.store.replay import ReplayCache  # noqa: E402
from cds_service.web.auth import ClientAuth  # noqa: E402
from tests.fhir_server import ScriptedFhirServer  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

PATIENTS = [
    ("Brenda Jackson", "ahrq-pain-mgmt-summary/brenda_jackson_2023.json"),
    ("Corrin Jast", "synthea-bulk-2025-per-patient/Corrin41_Jast432_*"),
    ("Vito Feeney", "smart-synthea-r4/Vito_Feeney_*"),
]
HOOK = "/cds-services/backpain-patient-view"
FHIR_DELAY = 0.05  # seconds per FHIR query on the loopback server
MEDPLUM_WORKERS = 2
BIN = Path(sys.executable).parent
# Calls before the soak's first RSS reading. About 300-400 calls into its life, the serving worker grows once by about
# 1.8 MB (/proc/<pid>/smaps: 1.0 MB of libsqlite3's code, file-backed and shared, first run by the card log's writer;
# 0.7 MB of the writer thread's heap and its page cache, 256 KiB a connection: store/database.py), then stays flat
# over thousands: warm-up, read after it, so that the soak shows growth per call.
WARM_UP_CALLS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (the process keeps it until it ends)
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=out)
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=0.5).status_code < 500:  # 401: JWT on
                return proc, time.perf_counter() - started
        except requests.RequestException:  # not listening yet, or too busy starting to answer in time
            time.sleep(0.02)
        if time.perf_counter() - started > 60:
            raise RuntimeError(f"{cmd[0]} did not start")


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(c) for c in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):  # resident set size now
            return int(line.split()[1]) / 1024
    return 0.0


def sequential(url: str, body: bytes, n: int) -> list[float]:
    return interleaved([url], body, n)[0]


def interleaved(urls: list[str], body: bytes, n: int, tokens: dict[int, Tokens] | None = None) -> list[list[float]]:
    """Milliseconds per POST for each URL, one keep-alive session each, requests alternating between the URLs
    so both sides see the same machine conditions. `tokens[j]` signs a fresh client JWT for every call to URL j
    (made before the clock starts)."""
    sessions = [requests.Session() for _ in urls]
    times: list[list[float]] = [[] for _ in urls]
    for i in range(max(10, n // 10) + n):
        for j, (session, url) in enumerate(zip(sessions, urls, strict=True)):
            headers = {"Content-Type": "application/json"}
            if tokens and j in tokens:
                headers["Authorization"] = f"Bearer {tokens[j].new(url)}"
            t = time.perf_counter()
            session.post(url, data=body, headers=headers).raise_for_status()
            if i >= max(10, n // 10):  # warm-up calls are not counted
                times[j].append((time.perf_counter() - t) * 1000)
    return times


# In a fresh interpreter, as `serve` runs a worker (gc.freeze after loading): the first call ever (one-time
# warm-up and every cache empty), the first call for this patient after the other patients were served (the
# caches of validated concepts, value-set answers and drug classes hold only what those records shared with this
# one), and the median of 50 repeated calls (what the sequential figures above measure, plus HTTP).
FIRST_CALL = """
import gc, sys, time, statistics
from datetime import date
import orjson
from cds_service.config import Settings
from cds_service.pipeline import Runtime, run
runtime = Runtime.create(Settings.from_env())
gc.freeze()
def call(path):
    body = open(path, 'rb').read()
    started = time.perf_counter()
    orjson.dumps(run(runtime, 'backpain-patient-view', orjson.loads(body), date(2026, 11, 27)))
    return (time.perf_counter() - started) * 1000
first_ever = call(sys.argv[2]) if len(sys.argv) > 2 else None
for other in sys.argv[3:]:
    call(other)
first = call(sys.argv[1])
repeated = statistics.median(call(sys.argv[1]) for _ in range(50))
print(first_ever, first, repeated)
"""


def first_calls(target: Path, others: list[Path], env: dict[str, str]) -> tuple[float, float, float]:
    """In-process ms: the first call in a fresh process, the target's first call after the others, repeated."""
    ever = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, str(target)], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    after = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, str(target), *map(str, others)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(ever[1]), float(after[1]), float(after[2])


class Tokens:
    """Signs client JWTs as an EHR does (ES384 like the CDS Hooks sandbox, or RS384; 5-minute life, fresh jti)."""

    ISSUER = "https://ehr.bench.example"

    def __init__(self, public_base: str, alg: str = "ES384") -> None:
        self.alg = alg
        self.key = (
            ec.generate_private_key(ec.SECP384R1())
            if alg == "ES384"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        self.public_base = public_base

    def jwks_file(self, path: Path) -> Path:
        algorithm = jwt.algorithms.ECAlgorithm if self.alg == "ES384" else jwt.algorithms.RSAAlgorithm
        public = json.loads(algorithm.to_jwk(self.key.public_key())) | {"kid": "bench"}
        path.write_text(json.dumps({self.ISSUER: {"keys": [public]}}))
        return path

    def new(self, url: str) -> str:
        now = int(time.time())
        path = "/" + url.split("/", 3)[3]
        return jwt.encode(
            {
                "iss": self.ISSUER,
                "aud": self.public_base + path,
                "exp": now + 300,
                "iat": now,
                "jti": os.urandom(16).hex(),
            },
            self.key,
            algorithm=self.alg,
            headers={"kid": "bench", "typ": "JWT"},
        )


def auth_costs(tokens: Tokens, tmp: Path, n: int = 2000) -> list[tuple[str, float, float]]:
    """In-process (label, p50 us, p95 us): the replay-cache write alone on SQLite (WAL file, as `serve` uses it) and,
    when PostgreSQL's server is installed, on a throwaway local cluster; and the whole JWT check on SQLite."""
    results = []
    urls = [("SQLite", f"sqlite:///{tmp}/replay-bench.sqlite3")]
    pg = None
    try:
        from tests.postgres import MISSING, Cluster

        if not MISSING:
            pg = Cluster()
            pg.start()
            urls.append(("PostgreSQL (local socket over TCP)", pg.url))
    except Exception as exc:  # psycopg or the server missing: SQLite only
        print(f"  (PostgreSQL not measured: {type(exc).__name__})")
    try:
        for label, url in urls:
            cache = ReplayCache(connect(url))
            times = []
            for i in range(n + 200):
                t = time.perf_counter()
                cache.claim("iss", f"{i}-{time.time_ns()}", time.time() + 300)
                times.append((time.perf_counter() - t) * 1e6)
            results.append((f"replay-cache write, {label}", pct(times[200:], 50), pct(times[200:], 95)))
    finally:
        if pg is not None:
            pg.stop()
    for signer in (tokens, Tokens(tokens.public_base, alg="RS384")):
        auth = ClientAuth(
            json.loads(signer.jwks_file(tmp / "auth-bench.json").read_text()),
            ReplayCache(connect(f"sqlite:///{tmp}/replay-bench.sqlite3")),
        )
        url = signer.public_base + HOOK
        signed = [signer.new(url) for _ in range(n + 200)]
        times = []
        for token in signed:
            t = time.perf_counter()
            auth.verify(f"Bearer {token}", url)
            times.append((time.perf_counter() - t) * 1e6)
        results.append(
            (
                f"whole JWT check ({signer.alg} signature, claims, replay-cache write), SQLite",
                pct(times[200:], 50),
                pct(times[200:], 95),
            )
        )
    return results


def card_log_cost(tmp: Path, n: int = 5000) -> tuple[float, float]:
    """In-process (p50 us, p95 us) of recording one response's cards (Brenda Jackson's 7), the writer thread running
    beside, as on every hook call in production."""
    from cds_service.cards import card_uuid
    from cds_service.store.card_log import CardLog

    log = CardLog(connect(f"sqlite:///{tmp}/card-log-bench.sqlite3"))
    cards = [
        {"uuid": card_uuid(), "indicator": "warning", "source": {"topic": {"code": "opioid-risk"}}} for _ in range(7)
    ]
    times = []
    for _ in range(n + 200):
        batch = [c | {"uuid": card_uuid()} for c in cards]  # as cards are issued
        t = time.perf_counter()
        log.record("backpain-patient-view", batch)
        times.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.0005)  # calls arrive apart, as they do; the writer works in between
    log.flush()
    return pct(times[200:], 50), pct(times[200:], 95)


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1]


def wrk(host: str, body_path: Path, seconds: int, users: int, tokens: Path | None = None) -> tuple[float, int, int]:
    """Requests/s, requests and errors (socket errors plus non-2xx) from wrk, a C load generator; with `tokens`, a
    file of client JWTs, each request carries the next one."""
    script = str(ROOT / ("benchmarks/post_jwt.lua" if tokens else "benchmarks/post.lua"))
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(users), "-d", f"{seconds}s", "-s", script, host + HOOK],
        env={**os.environ, "BENCH_BODY": str(body_path), "BENCH_TOKENS": str(tokens or "")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return rps, count, errors


def locust(host: str, body_path: Path, seconds: int, users: int) -> tuple[float, int, int]:
    prefix = Path(tempfile.mkdtemp()) / "run"
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "benchmarks/locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
        ],
        env={**os.environ, "BENCH_BODY": str(body_path)},
        check=False,
        capture_output=True,
    )
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), int(row["Request Count"]), int(row["Failure Count"])


# The FHIR server and the EHR load each run in a fresh interpreter of their own, so that neither the other's GIL nor
# this process's large heap (every patient's record, parsed) slows them: what is measured is our service.
SCRIPTED_FHIR = """
import json, sys, time
from tests.fhir_server import ScriptedFhirServer
routes, delay = json.load(open(sys.argv[1])), float(sys.argv[2])
with ScriptedFhirServer() as fhir:
    for path, body in routes.items():
        fhir.routes[path] = (200, json.dumps(body).encode(), delay)
    print(fhir.base, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""
EHR_LOAD = """
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
import requests
url, body, users, seconds = sys.argv[1], open(sys.argv[2], 'rb').read(), int(sys.argv[3]), float(sys.argv[4])
stop_at = time.perf_counter() + seconds
def user(_):
    session, times = requests.Session(), []
    while time.perf_counter() < stop_at:
        t = time.perf_counter()
        session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30).raise_for_status()
        times.append((time.perf_counter() - t) * 1000)
    return times
with ThreadPoolExecutor(users) as pool:
    times = [t for per_user in pool.map(user, range(users)) for t in per_user]
print(json.dumps(times))
"""


def fallback(env: dict[str, str], tmp: Path, name: str, resources: list) -> tuple[dict, dict]:
    """Print the no-prefetch section for one record; return its request (without prefetch) and its prefetch."""
    request = request_for(resources)
    prefetch = request.pop("prefetch")
    print(f"\nno prefetch, 32 EHR calls at once, every FHIR query answered in 100 ms, 2 workers ({name}):")
    for threads in (8, 1):
        rate, p50, p95 = concurrent_no_prefetch(env, request, prefetch, 2, threads, tmp)
        print(f"  BACKPAIN_CDS_THREADS={threads}: {rate:6.1f} calls/s, p50 {p50:7.1f} ms, p95 {p95:7.1f} ms")
    return request, prefetch


def concurrent_no_prefetch(
    env: dict[str, str],
    request: dict,
    prefetch: dict,
    workers: int,
    threads: int,
    tmp: Path,
    users: int = 32,
    seconds: float = 8.0,
    delay: float = 0.1,
) -> tuple[float, float, float]:
    """(calls/s, p50 ms, p95 ms) of `users` EHR calls at once without prefetch, each query answered in `delay` s."""
    routes = {"/fhir/Patient/": prefetch["patient"]}
    for key, template in Registry(load()).services[0].prefetch.items():
        if "?" in template:
            routes["/fhir/" + template.split("?")[0]] = prefetch[key]
    (tmp / "io-routes.json").write_text(json.dumps(routes))
    fhir = subprocess.Popen(
        [sys.executable, "-c", SCRIPTED_FHIR, str(tmp / "io-routes.json"), str(delay)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    proc = None
    try:
        base = fhir.stdout.readline().strip()
        port = free_port()
        proc, _ = start(
            [str(BIN / "backpain-cds"), "serve", "--port", str(port), "--workers", str(workers)],
            port,
            {**env, "BACKPAIN_CDS_THREADS": str(threads), "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST": base},
        )
        (tmp / "io-body.json").write_bytes(json.dumps(request | {"fhirServer": base}).encode())
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                EHR_LOAD,
                f"http://127.0.0.1:{port}{HOOK}",
                str(tmp / "io-body.json"),
                str(users),
                str(seconds),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        times = json.loads(out)
    finally:
        for p in (proc, fhir):
            if p is not None:
                p.terminate()
                p.wait(timeout=20)
    return len(times) / seconds, pct(times, 50), pct(times, 95)


HAPROXY_CFG = """
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend cds
    bind 127.0.0.1:{port}
    default_backend replica
backend replica
    option httpchk GET /readyz
    default-server inter 1s
    server a 127.0.0.1:{replica} check
"""


def replica_behind_balancer(env: dict[str, str], body_path: Path, seconds: int, users: int, tmp: Path) -> None:
    """One replica (production mode, replay cache in PostgreSQL) behind HAProxy: wrk through the balancer."""
    from tests.postgres import MISSING, Cluster

    if MISSING or not shutil.which("haproxy") or not shutil.which("wrk"):
        print("\none replica behind HAProxy: skipped (needs wrk, haproxy and PostgreSQL's server)")
        return
    pg = Cluster()
    pg.start()
    replica = haproxy = None
    try:
        port, lb_port = free_port(), free_port()
        tokens = Tokens("https://cds.bench.example")
        replica, _ = start(
            [str(BIN / "backpain-cds"), "serve", "--port", str(port), "--workers", "2"],
            port,
            {
                **env,
                "BACKPAIN_CDS_DATABASE_URL": pg.url,
                "BACKPAIN_CDS_LOG_LEVEL": "INFO",
                "BACKPAIN_CDS_JWT_JWKS": str(tokens.jwks_file(tmp / "lb-jwks.json")),
                "BACKPAIN_CDS_PUBLIC_BASE_URL": tokens.public_base,
            },
            log=tmp / "replica.log",
        )
        (tmp / "haproxy.cfg").write_text(HAPROXY_CFG.format(port=lb_port, replica=port))
        haproxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(tmp / "haproxy.cfg")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(1.5)
        token_file = tmp / "lb-tokens.txt"
        token_file.write_text("\n".join(tokens.new(tokens.public_base + HOOK) for _ in range(seconds * 3000)))
        rps, count, errors = wrk(f"http://127.0.0.1:{lb_port}", body_path, seconds, users, tokens=token_file)
        print(
            f"\none replica (2 workers, production mode, replay cache in PostgreSQL) behind HAProxy, wrk {users} "
            f"connections, {seconds} s: {rps:.0f} req/s ({count} requests, {errors} errors)"
        )
    finally:
        for proc in (haproxy, replica):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
        pg.stop()
        shutil.rmtree(pg.root, ignore_errors=True)


def medplum_no_prefetch(ours_url: str, path: Path, name: str, port: int) -> None:
    """No-prefetch hook calls against Medplum's engine (tests/fhir_server) vs. the same queries sent directly."""
    server = ROOT / "tests/fhir_server/server.mjs"
    if not (ROOT / "tests/fhir_server/node_modules/@medplum").is_dir():
        print("\nMedplum not installed (npm ci --prefix tests/fhir_server): no-prefetch vs. real FHIR server skipped")
        return
    # Two processes, as a FHIR server answers concurrent queries concurrently (Medplum alone searches on one thread).
    proc = subprocess.Popen(
        ["node", str(server), "--token", "bench", "--workers", str(MEDPLUM_WORKERS), "--port", str(port), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{proc.stdout.readline().split()[1]}/fhir/0"
        request = request_for(resources_of(read_json(path)))
        del request["prefetch"]
        request["fhirServer"] = base
        request["fhirAuthorization"] = {
            "access_token": "bench",
            "token_type": "Bearer",
            "scope": "patient/*.read",
            "subject": "bench",
            "expires_in": 300,
        }
        session = requests.Session()
        headers = {"Authorization": "Bearer bench", "Accept": "application/fhir+json"}
        singles = {}
        for key, template in Registry(load()).services[0].prefetch.items():
            url = f"{base}/{template.replace('{{context.patientId}}', request['context']['patientId'])}"
            times = []
            for _ in range(20):
                t = time.perf_counter()
                session.get(url, headers=headers).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
            singles[key] = statistics.median(times)
        total = sequential(ours_url + HOOK, json.dumps(request).encode(), 30)
        within = fetch_spans(base, request, 30)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    slowest = max(singles, key=singles.get)
    print(
        f"\nno prefetch against Medplum's FHIR engine, {MEDPLUM_WORKERS} processes ({name}, {len(singles)} queries): "
        f"hook p50 {pct(total, 50):.1f} ms, p95 {pct(total, 95):.1f} ms; each query alone, median: slowest "
        f"{slowest} {singles[slowest]:.1f} ms, sum {sum(singles.values()):.1f} ms"
    )
    print(
        "  the same fetch in-process, each query timed inside it (medians of 30 calls; the queries share the cores, "
        f"so each is slower than alone): all queries {within[0]:.1f} ms, slowest query {within[1]:.1f} ms, "
        f"sum of the queries {within[2]:.1f} ms"
    )


class _TimedClient(FhirClient):
    """Our FHIR client, recording how long each query of a fetch takes."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.spans: list[float] = []

    def _query(self, base: BaseUrl, query: str, headers: dict[str, str], budget: object) -> object:
        started = time.perf_counter()
        try:
            return super()._query(base, query, headers, budget)  # type: ignore[arg-type]
        finally:
            self.spans.append((time.perf_counter() - started) * 1000)


def fetch_spans(base: str, request: dict, n: int) -> tuple[float, float, float]:
    """Medians over n no-prefetch fetches, as the hook runs them: (whole fetch, slowest query, sum of queries), all
    measured in the same calls, so the comparison holds however much the queries slow each other down."""
    client = _TimedClient(Settings(fhir_server_allowlist=(base,)))
    service = Registry(load()).services[0]
    hook_request = parse_hook_request(request, service.hook)
    wholes, slowest, sums = [], [], []
    for _ in range(n + 5):
        client.spans.clear()
        started = time.perf_counter()
        resolve(service, hook_request, client.fetch)
        wholes.append((time.perf_counter() - started) * 1000)
        slowest.append(max(client.spans))
        sums.append(sum(client.spans))
    return tuple(statistics.median(v[5:]) for v in (wholes, slowest, sums))  # type: ignore[return-value]


def floor_server(workers: int, env: dict[str, str], tokens: Tokens | None, tmp: Path) -> tuple[subprocess.Popen, str]:
    """The floor under gunicorn (gthread, one thread a worker): parse-only, or the same work as production mode when
    given the tokens' issuer (JWT check and a SQLite WAL insert of the jti)."""
    port = free_port()
    floor_env = dict(env)
    if tokens is not None:
        tokens.public_base = f"http://127.0.0.1:{port}"
        floor_env |= {
            "BENCH_JWKS": str(tokens.jwks_file(tmp / f"floor-jwks-{port}.json")),
            "BENCH_PUBLIC_BASE": tokens.public_base,
            "BENCH_DB": str(tmp / f"floor-{port}.sqlite3"),
        }
    proc, _ = start(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            "1",
            "--keep-alive",
            "5",
            "--reuse-port",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "benchmarks"),
            "floor_app:app",
        ],
        port,
        floor_env,
    )
    return proc, f"http://127.0.0.1:{port}"


def token_file(tokens: Tokens, url: str, count: int, path: Path) -> Path:
    path.write_text("\n".join(tokens.new(url + HOOK) for _ in range(count)))
    return path


def headline(args: argparse.Namespace, env: dict[str, str], tmp: Path, bodies: dict[str, bytes]) -> None:
    """Production mode (client JWT ES384, replay cache in SQLite, card log, metrics, JSON logs at INFO) against the
    same-work floor, and demo mode against the parse-only floor, for each record: sequential p50/p95 and wrk
    throughput, a fresh token per request."""
    prod_port = free_port()
    prod_tokens = Tokens(f"http://127.0.0.1:{prod_port}")
    prod, _ = start(
        [str(BIN / "backpain-cds"), "serve", "--port", str(prod_port), "--workers", str(args.workers)],
        prod_port,
        {
            **env,
            "BACKPAIN_CDS_DATA_DIR": str(tmp / "prod"),
            "BACKPAIN_CDS_LOG_LEVEL": "INFO",
            "BACKPAIN_CDS_LOG_FORMAT": "json",
            "BACKPAIN_CDS_JWT_JWKS": str(prod_tokens.jwks_file(tmp / "jwks.json")),
            "BACKPAIN_CDS_PUBLIC_BASE_URL": prod_tokens.public_base,
        },
        log=tmp / "prod.log",
    )
    demo_port = free_port()
    demo, _ = start(
        [str(BIN / "backpain-cds"), "serve", "--port", str(demo_port), "--workers", str(args.workers)],
        demo_port,
        {**env, "BACKPAIN_CDS_DATA_DIR": str(tmp / "demo")},
    )
    floor_tokens = Tokens("")
    floor_prod = floor_demo = None
    try:
        floor_prod, floor_prod_url = floor_server(args.workers, env, floor_tokens, tmp)
        floor_demo, floor_demo_url = floor_server(args.workers, env, None, tmp)
        urls = [prod_tokens.public_base, floor_prod_url, f"http://127.0.0.1:{demo_port}", floor_demo_url]
        print(
            f"HEADLINE: production mode (client JWT ES384, replay cache in SQLite, card log, metrics, JSON logs at "
            f"INFO) vs. the same-work floor (bare WSGI: orjson parse, PyJWT ES384 check with aud/exp/iat/jti, SQLite "
            f"WAL insert); demo mode vs. the parse-only floor; {args.workers} workers each, one run, one machine"
        )
        print(f"sequential, {args.seq_rounds} rounds of {args.requests} calls, the four servers alternating:")
        print(
            f"{'patient':<16}{'KB':>5}{'prod p50':>10}{'p95':>7}{'floor p50':>11}{'p95':>7}{'p50 x':>7}{'p95 x':>7}"
            f"{'demo p50':>10}{'floor p50':>11}{'demo x':>8}"
        )
        for name, body in bodies.items():
            times: list[list[float]] = [[], [], [], []]
            for _ in range(args.seq_rounds):
                for j, t in enumerate(
                    interleaved([u + HOOK for u in urls], body, args.requests, tokens={0: prod_tokens, 1: floor_tokens})
                ):
                    times[j] += t
            p50 = [pct(t, 50) for t in times]
            p95 = [pct(t, 95) for t in times]
            print(
                f"{name:<16}{len(body) // 1024:>5}{p50[0]:>8.2f}ms{p95[0]:>7.2f}{p50[1]:>9.2f}ms{p95[1]:>7.2f}"
                f"{p50[0] / p50[1]:>6.2f}x{p95[0] / p95[1]:>6.2f}x{p50[2]:>8.2f}ms{p50[3]:>9.2f}ms"
                f"{p50[2] / p50[3]:>7.2f}x"
            )
        print(
            f"\nthroughput, wrk, {args.users} keep-alive connections, a fresh token per request (prod and its "
            f"floor), medians of {args.rounds} alternating rounds of {args.load_seconds} s:"
        )
        print(f"{'patient':<16}{'prod':>8}{'floor':>8}{'share':>7}{'demo':>8}{'floor':>8}{'share':>7}  errors")
        for name, body in bodies.items():
            body_path = tmp / "load.json"
            body_path.write_bytes(body)
            rounds: list[list[tuple[float, int, int]]] = [[], [], [], []]
            count = args.load_seconds * 2000  # more than 2 cores verify; signing them takes a while
            for _ in range(args.rounds):
                rounds[0].append(
                    wrk(
                        urls[0],
                        body_path,
                        args.load_seconds,
                        args.users,
                        token_file(prod_tokens, urls[0], count, tmp / "prod-tokens.txt"),
                    )
                )
                rounds[1].append(
                    wrk(
                        urls[1],
                        body_path,
                        args.load_seconds,
                        args.users,
                        token_file(floor_tokens, urls[1], count, tmp / "floor-tokens.txt"),
                    )
                )
                rounds[2].append(wrk(urls[2], body_path, args.load_seconds, args.users))
                rounds[3].append(wrk(urls[3], body_path, args.load_seconds, args.users))
            rps = [statistics.median(r for r, _, _ in side) for side in rounds]
            errors = [sum(e for _, _, e in side) for side in rounds]
            print(
                f"{name:<16}{rps[0]:>8.0f}{rps[1]:>8.0f}{rps[0] / rps[1]:>7.0%}{rps[2]:>8.0f}{rps[3]:>8.0f}"
                f"{rps[2] / rps[3]:>7.0%}  {errors}"
            )
    finally:
        for proc in (prod, demo, floor_prod, floor_demo):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


def hostile_clients(url: str, body: bytes, n: int = 50, idle: int = 300, slow: int = 32) -> str:
    """Healthy-call latency (p50, worst) with nothing else, then while `idle` silent sockets and `slow` slowloris
    sockets (a request head, one byte a second) are held against the server."""
    import threading

    def calls() -> list[float]:
        return sequential(url + HOOK, body, n)

    alone = calls()
    port = int(url.rsplit(":", 1)[1])
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    dripping = [socket.create_connection(("127.0.0.1", port)) for _ in range(slow)]
    stop = threading.Event()
    for sock in dripping:
        sock.sendall(b"POST " + HOOK.encode() + b" HTTP/1.1\r\nHost: x\r\n")

    def drip() -> None:
        while not stop.wait(1.0):
            for sock in dripping:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")

    threading.Thread(target=drip, daemon=True).start()
    try:
        time.sleep(0.5)
        besieged = calls()
    finally:
        stop.set()
        for sock in held + dripping:
            sock.close()
    return (
        f"alone p50 {pct(alone, 50):.1f} ms, worst {max(alone):.1f} ms; with {idle} idle and {slow} slowloris "
        f"sockets held: p50 {pct(besieged, 50):.1f} ms, worst {max(besieged):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential calls per round and patient")
    parser.add_argument("--seq-rounds", type=int, default=3)
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--soak", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--headline-only",
        action="store_true",
        help="the headline, slow clients, start-up and the soak; not the sections after them",
    )
    parser.add_argument(
        "--fallback-only", action="store_true", help="only the no-prefetch section (32 EHR calls at once, FHIR 100 ms)"
    )
    args = parser.parse_args()
    if not FHIR_DATA.is_dir():
        print(f"needs {FHIR_DATA}", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("needs wrk (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp())
    fhir = ScriptedFhirServer().__enter__()  # started first: its exact base goes on the allowlist
    medplum_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")},
        "BACKPAIN_CDS_DATA_DIR": str(tmp),
        "BACKPAIN_CDS_AS_OF": "2026-11-27",
        "BACKPAIN_CDS_LOG_LEVEL": "WARNING",
        "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST": f"{fhir.base},http://127.0.0.1:{medplum_port}/fhir",
    }
    bodies: dict[str, tuple[list, bytes]] = {}
    for name, pattern in PATIENTS:
        path = next((FHIR_DATA / pattern).parent.glob(Path(pattern).name))
        resources = resources_of(read_json(path))
        bodies[name] = (resources, json.dumps(request_for(resources)).encode())  # what an EHR sends for our templates
    print(f"machine: {os.cpu_count()} cores; {args.workers} gunicorn workers each; Python {sys.version.split()[0]}\n")
    if args.fallback_only:
        fallback(env, tmp, PATIENTS[1][0], bodies[PATIENTS[1][0]][0])
        return 0
    headline(args, env, tmp, {name: body for name, (_, body) in bodies.items()})

    ours_port, floor_port = free_port(), free_port()
    ours, ours_start = start(
        [str(BIN / "backpain-cds"), "serve", "--port", str(ours_port), "--workers", str(args.workers)], ours_port, env
    )
    floor, floor_start = start(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            "1",
            "--keep-alive",
            "5",
            "--reuse-port",
            "-b",
            f"127.0.0.1:{floor_port}",
            "--chdir",
            str(ROOT / "benchmarks"),
            "floor_app:app",
        ],
        floor_port,
        env,
    )
    ours_url = f"http://127.0.0.1:{ours_port}"
    print(f"\nstart-up to first discovery: ours {ours_start * 1000:.0f} ms, floor {floor_start * 1000:.0f} ms")
    name = PATIENTS[0][0]
    print(f"\nhealthy calls ({name}, demo mode, sequential): {hostile_clients(ours_url, bodies[name][1])}")
    name = PATIENTS[1][0]
    body_path = tmp / "load.json"
    body_path.write_bytes(bodies[name][1])
    session = requests.Session()
    for _ in range(WARM_UP_CALLS):  # every lazily built cache filled, and libsqlite3's code paged in, before reading
        session.post(ours_url + HOOK, data=bodies[name][1], headers={"Content-Type": "application/json"})
    pids = workers_of(ours.pid)
    readings = {pid: [rss_mb(pid)] for pid in pids}
    # the same kept-alive connection, so the same worker: a new one may land on the other worker, still cold, whose
    # first calls fill its caches (81 -> 91 MB in one run): warm-up, not growth. Read every quarter of the soak, to
    # tell a plateau from a leak
    quarter = max(args.soak // 4, 1)
    for i in range(1, args.soak + 1):
        session.post(ours_url + HOOK, data=bodies[name][1], headers={"Content-Type": "application/json"})
        if i % quarter == 0:
            for pid in pids:
                readings[pid].append(rss_mb(pid))
    every = f"every {quarter} of {args.soak} more"
    print(f"\nRSS per worker (VmRSS, MB) after {WARM_UP_CALLS} warm-up calls, then {every} ({name}, demo mode):")
    for pid in sorted(readings):
        print(f"  worker {pid}: " + " -> ".join(f"{mb:.1f}" for mb in readings[pid]))

    if args.headline_only:
        for proc in (ours, floor):
            proc.terminate()
            proc.wait(timeout=10)
        return 0
    print(
        "\nin-process cost of the client-JWT check per call (p50 / p95; the README's budget: the replay-cache write "
        "adds at most 1 ms at p50 on SQLite):"
    )
    tokens = Tokens(ours_url)
    for label, p50, p95 in auth_costs(tokens, tmp):
        print(f"  {label:<75}{p50:8.0f} us {p95:8.0f} us")
    p50, p95 = card_log_cost(tmp)
    print(f"  {'card log: keep one response of 7 cards (target: under 200 us at p50)':<75}{p50:8.0f} us {p95:8.0f} us")
    print(
        "\nin-process cost of one call, no HTTP: the first in a fresh process; the first for this patient after "
        "the others; repeated (median of 50):"
    )
    paths = {}
    for other, (_, body) in bodies.items():
        paths[other] = tmp / f"{other.split()[0].lower()}.json"
        paths[other].write_bytes(body)
    for other, path in paths.items():
        ever, first, repeated = first_calls(path, [p for n, p in paths.items() if n != other], env)
        print(
            f"  {other:<18}first ever {ever:7.2f} ms, first for this patient {first:6.2f} ms, "
            f"repeated {repeated:6.2f} ms"
        )
    replica_behind_balancer(env, body_path, args.load_seconds, args.users, tmp)

    request, prefetch = fallback(env, tmp, name, bodies[name][0])
    with fhir:
        fhir.routes["/fhir/Patient/"] = (200, prefetch["patient"], FHIR_DELAY)
        for key, template in Registry(load()).services[0].prefetch.items():
            if "?" in template:
                fhir.routes["/fhir/" + template.split("?")[0]] = (200, prefetch[key], FHIR_DELAY)
        request["fhirServer"] = fhir.base
        request["fhirAuthorization"] = {
            "access_token": "bench",
            "token_type": "Bearer",
            "scope": "patient/*.read",
            "subject": "bench",
            "expires_in": 300,
        }
        no_prefetch = sequential(ours_url + HOOK, json.dumps(request).encode(), 30)
    queries = len(fhir.requests) // (30 + 10)  # 10 warm-up + 30 measured calls
    delay_ms = FHIR_DELAY * 1000
    print(
        f"\nno prefetch, {queries} FHIR queries against a loopback server answering each in {delay_ms:.0f} ms "
        f"({name}): p50 {pct(no_prefetch, 50):.1f} ms (sum of queries {queries * delay_ms:.0f} ms, "
        f"slowest single {delay_ms:.0f} ms)"
    )
    medplum_no_prefetch(
        ours_url, next((FHIR_DATA / PATIENTS[1][1]).parent.glob(Path(PATIENTS[1][1]).name)), name, medplum_port
    )
    for proc in (ours, floor):
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
