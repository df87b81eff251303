"""The card log's writer: CPU per logged card on a log already holding many cards, with the card uuids the service
issues (time-ordered, `cards.card_uuid`) against random ones (version 4), in one run.

    .venv/bin/python benchmarks/card_log.py [--cards 200000] [--rounds 60]

Each side gets a fresh SQLite file (the service's engine and pragmas) filled with --cards earlier cards of its kind,
then records 50 responses of 7 cards a round as the request threads do and times the writer's flush (this thread's
CPU time): p50 per card of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cds_service.cards import card_uuid  # noqa: E402
from cds_service.store import card_log  # noqa: E402
from cds_service.store.card_log import ISSUED, CardLog  # noqa: E402
from cds_service.store.database import connect  # noqa: E402

CARDS_A_CALL, CALLS_A_FLUSH = 7, 50


def flush_cpu_per_card(make_uuid: Callable[[], str], earlier: int, rounds: int) -> float:
    """p50 writer CPU per card, in microseconds, on a log already holding `earlier` cards keyed by `make_uuid`."""
    path = Path(tempfile.mkdtemp()) / "cards.sqlite3"
    log = CardLog(connect(f"sqlite:///{path}"))
    with sqlite3.connect(path) as db:
        insert = f"INSERT INTO issued_cards ({', '.join(ISSUED)}) VALUES ({', '.join('?' * len(ISSUED))})"
        old = ("backpain-patient-view", "opioid-risk", "warning", "2026-11-27 10:00:00.000000", "k" * 64, "d" * 32, "1")
        db.executemany(insert, ((make_uuid(), *old) for _ in range(earlier)))
    cards = [
        {"source": {"topic": {"code": f"topic-{k}"}}, "indicator": "warning", "summary": "s" * 60, "detail": "d" * 400}
        for k in range(CARDS_A_CALL)
    ]
    card_log.FLUSH_SECONDS = 1e9  # the writer thread sleeps: its work is done by the flushes timed below
    per_card = []
    for _ in range(rounds):
        for _ in range(CALLS_A_FLUSH):
            log.record("backpain-patient-view", [card | {"uuid": make_uuid()} for card in cards], "k" * 64)
        started = time.thread_time()
        written = log.flush()
        per_card.append((time.thread_time() - started) / written * 1e6)
    os.remove(path)
    return statistics.median(per_card[rounds // 6 :])  # the first rounds warm the cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200_000, help="cards already in the log")
    parser.add_argument("--rounds", type=int, default=60, help=f"flushes of {CALLS_A_FLUSH} responses each")
    args = parser.parse_args()
    ordered = flush_cpu_per_card(card_uuid, args.cards, args.rounds)
    random = flush_cpu_per_card(lambda: str(uuid.uuid4()), args.cards, args.rounds)
    print(f"writer CPU per logged card, on a log of {args.cards:,} cards ({CARDS_A_CALL} a call):")
    print(f"  time-ordered uuids (issued): {ordered:6.2f} us")
    print(f"  random uuids (version 4):    {random:6.2f} us")
    print(f"  ratio: {ordered / random:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
