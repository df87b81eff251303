"""Benchmark: our hook vs. a floor server that only parses the same JSON, both under gunicorn, in one run.

    .venv/bin/python benchmarks/hooks.py [--requests 200] [--seq-rounds 3] [--load-seconds 10] [--rounds 3]
                                         [--soak 10000]

Prints, on the same machine in one run:
- sequential p50/p95 per patient size, requests alternating between ours and the floor, and the ratio, over
  all rounds and per round;
- throughput for both under load (wrk when installed, else locust), medians of alternating rounds;
- peak RSS per worker before and after a soak, and the time from process start to the first discovery;
- in-process cost of one call: the first in a fresh process, the first for a patient after others, repeated;
- the no-prefetch path against a scripted loopback FHIR server with a fixed delay per query, and against
  Medplum's FHIR engine (hook total vs. each query alone; the fetch's total vs. its slowest query and their sum,
  timed inside the same calls).
Needs ../shared/fhir-data; Medplum needs `npm ci --prefix tests/fhir_server`.
"""
from __future__ import annotations

import argparse
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

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cds_service.config import Settings  # noqa: E402
from cds_service.fhir_client import FhirClient  # noqa: E402
from cds_service.hook_request import parse_hook_request  # noqa: E402
from cds_service.knowledge import load  # noqa: E402
from cds_service.prefetch import resolve  # noqa: E402
from cds_service.services import Registry  # noqa: E402
from tests.fhir_server import ScriptedFhirServer  # noqa: E402
from tests.shared_data import FHIR_DATA, read_json, request_for, resources_of  # noqa: E402

PATIENTS = [("Brenda Jackson", "ahrq-pain-mgmt-summary/brenda_jackson_2023.json"),
            ("Eliseo Cummings", "smart-synthea-r4/Eliseo_Cummings_*"),
            ("Vito Feeney", "smart-synthea-r4/Vito_Feeney_*"),
            ("Marine Upton", "synthea-bulk-2025-per-patient/Marine542_Upton904_*")]
HOOK = "/cds-services/backpain-patient-view"
FHIR_DELAY = 0.05  # seconds per FHIR query on the loopback server
MEDPLUM_WORKERS = 2
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=0.5).ok:
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
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1]) / 1024
    return 0.0


def sequential(url: str, body: bytes, n: int) -> list[float]:
    return interleaved([url], body, n)[0]


def interleaved(urls: list[str], body: bytes, n: int) -> list[list[float]]:
    """Milliseconds per POST for each URL, one keep-alive session each, requests alternating between the URLs
    so both sides see the same machine conditions."""
    sessions = [requests.Session() for _ in urls]
    headers = {"Content-Type": "application/json"}
    times: list[list[float]] = [[] for _ in urls]
    for i in range(max(10, n // 10) + n):
        for j, (session, url) in enumerate(zip(sessions, urls, strict=True)):
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
    ever = subprocess.run([sys.executable, "-c", FIRST_CALL, str(target)], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()
    after = subprocess.run([sys.executable, "-c", FIRST_CALL, str(target), *map(str, others)], env=env, cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    return float(ever[1]), float(after[1]), float(after[2])


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1]


def wrk(host: str, body_path: Path, seconds: int, users: int) -> tuple[float, int, int]:
    """Requests/s, requests and errors (socket errors plus non-2xx) from wrk, a C load generator."""
    script = str(ROOT / "benchmarks/post.lua")
    out = subprocess.run(["wrk", "-t", "1", "-c", str(users), "-d", f"{seconds}s", "-s", script, host + HOOK],
                         env={**os.environ, "BENCH_BODY": str(body_path)}, capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return rps, count, errors


def locust(host: str, body_path: Path, seconds: int, users: int) -> tuple[float, int, int]:
    prefix = Path(tempfile.mkdtemp()) / "run"
    subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "benchmarks/locustfile.py"), "--headless", "-u", str(users),
                    "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix), "--only-summary"],
                   env={**os.environ, "BENCH_BODY": str(body_path)}, check=False, capture_output=True)
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), int(row["Request Count"]), int(row["Failure Count"])


def medplum_no_prefetch(ours_url: str, path: Path, name: str) -> None:
    """No-prefetch hook calls against Medplum's engine (tests/fhir_server) vs. the same queries sent directly."""
    server = ROOT / "tests/fhir_server/server.mjs"
    if not (ROOT / "tests/fhir_server/node_modules/@medplum").is_dir():
        print("\nMedplum not installed (npm ci --prefix tests/fhir_server): no-prefetch vs. real FHIR server skipped")
        return
    # Two processes, as a FHIR server answers concurrent queries concurrently (Medplum alone searches on one thread).
    proc = subprocess.Popen(["node", str(server), "--token", "bench", "--workers", str(MEDPLUM_WORKERS), str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{proc.stdout.readline().split()[1]}/fhir/0"
        request = request_for(resources_of(read_json(path)))
        del request["prefetch"]
        request["fhirServer"] = base
        request["fhirAuthorization"] = {"access_token": "bench", "token_type": "Bearer", "scope": "patient/*.read",
                                        "subject": "bench", "expires_in": 300}
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
    print(f"\nno prefetch against Medplum's FHIR engine, {MEDPLUM_WORKERS} processes ({name}, {len(singles)} queries): "
          f"hook p50 {pct(total, 50):.1f} ms, p95 {pct(total, 95):.1f} ms; each query alone, median: slowest "
          f"{slowest} {singles[slowest]:.1f} ms, sum {sum(singles.values()):.1f} ms")
    print("  the same fetch in-process, each query timed inside it (medians of 30 calls; the queries share the cores, "
          f"so each is slower than alone): all queries {within[0]:.1f} ms, slowest query {within[1]:.1f} ms, "
          f"sum of the queries {within[2]:.1f} ms")


class _TimedClient(FhirClient):
    """Our FHIR client, recording how long each query of a fetch takes."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.spans: list[float] = []

    def _query(self, base: str, query: str, headers: dict[str, str], deadline: float) -> object:
        started = time.perf_counter()
        try:
            return super()._query(base, query, headers, deadline)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential calls per round and patient")
    parser.add_argument("--seq-rounds", type=int, default=3)
    parser.add_argument("--load-seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--soak", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if not FHIR_DATA.is_dir():
        print(f"needs {FHIR_DATA}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BACKPAIN_CDS_")},
           "BACKPAIN_CDS_DATA_DIR": str(tmp), "BACKPAIN_CDS_AS_OF": "2026-11-27", "BACKPAIN_CDS_LOG_LEVEL": "WARNING",
           "BACKPAIN_CDS_FHIR_SERVER_ALLOWLIST": "http://127.0.0.1:"}
    ours_port, floor_port = free_port(), free_port()
    ours, ours_start = start([str(BIN / "backpain-cds"), "serve", "--port", str(ours_port), "--workers",
                              str(args.workers)], ours_port, env)
    floor, floor_start = start([str(BIN / "gunicorn"), "-w", str(args.workers), "-k", "gthread", "--threads", "1",
                                "--keep-alive", "5", "--reuse-port", "-b", f"127.0.0.1:{floor_port}",
                                "--chdir", str(ROOT / "benchmarks"), "floor_app:app"], floor_port, env)
    ours_url, floor_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{floor_port}"
    print(f"machine: {os.cpu_count()} cores; {args.workers} gunicorn workers each; Python {sys.version.split()[0]}")
    print(f"start-up to first discovery: ours {ours_start * 1000:.0f} ms, floor {floor_start * 1000:.0f} ms\n")
    print(f"sequential, {args.seq_rounds} rounds of {args.requests} calls each; a round's ratio is its ours p50 / "
          "floor p50, the figures are over all rounds:")
    print(f"{'patient':<18}{'resources':>10}{'sent':>6}{'KB':>8}{'ours p50':>10}{'p95':>8}{'floor p50':>11}{'p95':>8}"
          f"{'ratio p50':>11}  ratio per round")
    bodies = {}
    for name, pattern in PATIENTS:
        path = next((FHIR_DATA / pattern).parent.glob(Path(pattern).name))
        resources = resources_of(read_json(path))
        request = request_for(resources)  # what an EHR sends for our templates
        sent = sum(len(v.get("entry", [])) if v.get("resourceType") == "Bundle" else 1
                   for v in request["prefetch"].values() if v)
        body = json.dumps(request).encode()
        bodies[name] = (resources, body)
        ours_t, floor_t, per_round = [], [], []
        for _ in range(args.seq_rounds):  # the host's load drifts: rounds show how much the ratio moves with it
            ours_r, floor_r = interleaved([ours_url + HOOK, floor_url + HOOK], body, args.requests)
            ours_t += ours_r
            floor_t += floor_r
            per_round.append(pct(ours_r, 50) / pct(floor_r, 50))
        print(f"{name:<18}{len(resources):>10}{sent:>6}{len(body) // 1024:>8}{pct(ours_t, 50):>9.2f}ms"
              f"{pct(ours_t, 95):>7.2f}{pct(floor_t, 50):>10.2f}ms{pct(floor_t, 95):>7.2f}"
              f"{pct(ours_t, 50) / pct(floor_t, 50):>10.2f}x  " + ", ".join(f"{r:.2f}" for r in per_round))

    print("\nin-process cost of one call, no HTTP: the first in a fresh process; the first for this patient after "
          "the other three; repeated (median of 50):")
    paths = {}
    for name, (_, body) in bodies.items():
        paths[name] = tmp / f"{name.split()[0].lower()}.json"
        paths[name].write_bytes(body)
    for name, path in paths.items():
        ever, first, repeated = first_calls(path, [p for n, p in paths.items() if n != name], env)
        print(f"  {name:<18}first ever {ever:7.2f} ms, first for this patient {first:6.2f} ms, "
              f"repeated {repeated:6.2f} ms")

    name = "Eliseo Cummings"
    body_path = tmp / "load.json"
    body_path.write_bytes(bodies[name][1])
    # wrk (C) takes far less of the shared cores than locust (Python), so it disturbs the servers less.
    run_load, generator = (wrk, "wrk") if shutil.which("wrk") else (locust, "locust headless")
    print(f"\nthroughput, {generator}, {args.users} keep-alive connections, {args.rounds} alternating rounds of "
          f"{args.load_seconds} s, {name} (medians; both servers' workers listen with SO_REUSEPORT, so the kernel "
          "spreads the connections):")
    rounds: dict[str, list[tuple[float, int, int]]] = {"ours": [], "floor": []}
    for _ in range(args.rounds):
        rounds["ours"].append(run_load(ours_url, body_path, args.load_seconds, args.users))
        rounds["floor"].append(run_load(floor_url, body_path, args.load_seconds, args.users))
    for side, results in rounds.items():
        print(f"  {side:<5} rounds: " + ", ".join(f"{r:.0f}" for r, _, _ in results) + " req/s")
    ours_rps, floor_rps = (statistics.median(r for r, _, _ in rounds[side]) for side in ("ours", "floor"))
    ours_n, ours_err = (sum(x[i] for x in rounds["ours"]) for i in (1, 2))
    floor_n, floor_err = (sum(x[i] for x in rounds["floor"]) for i in (1, 2))
    print(f"  ours  {ours_rps:8.1f} req/s ({ours_n} requests, {ours_err} errors)")
    print(f"  floor {floor_rps:8.1f} req/s ({floor_n} requests, {floor_err} errors)")
    print(f"  ours/floor {ours_rps / floor_rps:.0%}")

    before = {pid: rss_mb(pid) for pid in workers_of(ours.pid)}
    session = requests.Session()
    for _ in range(args.soak):
        session.post(ours_url + HOOK, data=bodies[name][1], headers={"Content-Type": "application/json"})
    after = {pid: rss_mb(pid) for pid in workers_of(ours.pid)}
    print(f"\npeak RSS per worker (VmHWM) after the load run vs. after {args.soak} more requests:")
    for pid in sorted(after):
        print(f"  worker {pid}: {before.get(pid, 0):.1f} MB -> {after[pid]:.1f} MB")

    resources = bodies[name][0]
    request = request_for(resources)
    prefetch = request.pop("prefetch")
    with ScriptedFhirServer() as fhir:
        fhir.routes["/fhir/Patient/"] = (200, prefetch["patient"], FHIR_DELAY)
        for key, template in Registry(load()).services[0].prefetch.items():
            if "?" in template:
                fhir.routes["/fhir/" + template.split("?")[0]] = (200, prefetch[key], FHIR_DELAY)
        request["fhirServer"] = fhir.base
        request["fhirAuthorization"] = {"access_token": "bench", "token_type": "Bearer", "scope": "patient/*.read",
                                        "subject": "bench", "expires_in": 300}
        no_prefetch = sequential(ours_url + HOOK, json.dumps(request).encode(), 30)
    queries = len(fhir.requests) // (30 + 10)  # 10 warm-up + 30 measured calls
    delay_ms = FHIR_DELAY * 1000
    print(f"\nno prefetch, {queries} FHIR queries against a loopback server answering each in {delay_ms:.0f} ms "
          f"({name}): p50 {pct(no_prefetch, 50):.1f} ms (sum of queries {queries * delay_ms:.0f} ms, "
          f"slowest single {delay_ms:.0f} ms)")
    medplum_no_prefetch(ours_url, next((FHIR_DATA / PATIENTS[1][1]).parent.glob(Path(PATIENTS[1][1]).name)), name)
    for proc in (ours, floor):
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
