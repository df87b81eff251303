"""The card policy's memory in the shared database, and the gate every hook call's cards pass (issue 24).

Who was shown what, and what is snoozed, is kept under keyed hashes (HMAC-SHA256 with the secret of
BACKPAIN_CDS_POLICY_SECRET_FILE) of the patient and user ids: the database never holds an id, and without the secret
a hash cannot be matched to one. Rows expire (the repeat window, the snooze) and are purged at most once a minute
per process. Replicas sharing one PostgreSQL share the memory; it survives restarts. If the database cannot be read
or written, the gate fails open: every card is returned (an extra card is safer than a missing one).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..cards import OVERRIDE_SYSTEM, Card
from ..hook_request import HookContext
from ..policy import CardPolicy
from ..policy.decide import Candidate, digest, hold_back, repeat_applies, seen_rows, with_findings
from .card_log import CardLog
from .database import write
from .feedback import Feedback
from .keys import Keys
from .statements import Cursor, Prepared, transaction
from .tables import IssuedCard, PolicySeen, PolicySnooze

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 60
DAY = 86_400
_NO_SYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def read_secret(path: Path | None, data_dir: Path) -> bytes:
    """The HMAC key: the mounted secret file; without one (demo mode) a random key kept in the data directory,
    made on first start, so one host remembers across restarts (replicas must mount one shared file)."""
    if path is not None:
        return path.read_bytes().strip()
    generated = data_dir / "policy-secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:  # exclusive create: of two processes starting at once, one writes it and both read it
        fd = os.open(generated, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    log.warning(
        "card policy: no BACKPAIN_CDS_POLICY_SECRET_FILE; using a key generated in the data directory "
        "(replicas do not share it: mount one secret file on every replica)"
    )
    return generated.read_bytes().strip()


@dataclass(frozen=True)
class Statements:
    """The policy's statements, built once per engine. Those of a hook call are compiled and run on the pool's
    DBAPI connection (`statements.py`): the policy's cost per call is about that of its one or two statements."""

    remember_seen: Prepared
    read_seen: Prepared
    read_snoozes: Prepared
    no_sync_commit: Prepared | None  # PostgreSQL: this memory may lose its last writes in a crash
    set_snooze: Any  # at feedback time, through SQLAlchemy
    purge: tuple[Prepared, ...]  # expired memory, given "now"

    @classmethod
    def build(cls, engine: Engine) -> Statements:
        postgres = engine.dialect.name == "postgresql"
        upsert: Any = postgresql.insert if postgres else sqlite.insert
        seen, snoozes = upsert(PolicySeen.__table__), upsert(PolicySnooze.__table__)
        remember_seen = seen.on_conflict_do_update(
            index_elements=["user_key", "patient_key", "topic"],
            set_={
                "digest": seen.excluded.digest,
                "seen_at": seen.excluded.seen_at,
                "expires_at": seen.excluded.expires_at,
            },
            # patient-view's rows arrive with the card log's next batch: an older one never replaces a newer one
            where=cast(Table, PolicySeen.__table__).c.seen_at <= seen.excluded.seen_at,
        )
        return cls(
            remember_seen=Prepared(engine, remember_seen),
            read_seen=Prepared(
                engine,
                select(PolicySeen.topic, PolicySeen.digest, PolicySeen.seen_at).where(
                    PolicySeen.user_key == bindparam("user"), PolicySeen.patient_key == bindparam("patient")
                ),
            ),
            read_snoozes=Prepared(
                engine,
                select(PolicySnooze.topic, PolicySnooze.digest, PolicySnooze.expires_at).where(
                    PolicySnooze.patient_key == bindparam("patient")
                ),
            ),
            no_sync_commit=Prepared(engine, _NO_SYNC_COMMIT) if postgres else None,
            set_snooze=snoozes.on_conflict_do_update(
                index_elements=["patient_key", "topic"],
                set_={"digest": snoozes.excluded.digest, "expires_at": snoozes.excluded.expires_at},
            ),
            purge=tuple(
                Prepared(engine, delete(t).where(t.c.expires_at < bindparam("now")))
                for t in (seen.table, snoozes.table)
            ),
        )


class PolicyGate:
    """Applies the card policy to one call's cards: reads this clinician's and patient's memory, asks
    `policy.decide` what to hold back, remembers what was shown, counts what was held back."""

    def __init__(
        self,
        engine: Engine,
        policy: CardPolicy,
        secret: bytes,
        card_log: CardLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.policy, self.card_log = engine, policy, card_log
        self.clock = clock  # the seam tests turn to run the clock forward
        self.key = Keys(secret)  # key("patient", id): the keyed hash of an id (never stored in the clear)
        self._snoozing = frozenset(family for family, p in policy.families.items() if p.snooze_days)
        self._next_purge = 0.0
        self._lock = threading.Lock()
        self._sql = Statements.build(engine)

    def apply(
        self, service_id: str, context: HookContext, cards: Sequence[Card], about_draft: Sequence[bool]
    ) -> list[Card]:
        """The cards to return, in order; the held-back ones are counted by family and rule."""
        if not cards:
            return []
        now = self.clock()
        candidates = [
            Candidate(c.topic, c.indicator.label, "", about) for c, about in zip(cards, about_draft, strict=True)
        ]
        wants_seen = any(repeat_applies(context.hook, c) for c in candidates)
        wants_snoozes = bool(self._snoozing) and any(c.topic in self._snoozing for c in candidates)
        critical = any(c.indicator == "critical" for c in candidates)

        def decide(cursor: Cursor | None) -> tuple[list[str | None], list[dict[str, Any]]]:
            """What to hold back, and the memory rows still to write (none when written here)."""
            patient, user = self.key("patient", context.patient_id), self.key("user", context.user_id)
            if cursor is None:  # no memory read, so no rule compares digests: the card log's writer hashes the rows'
                held = hold_back(self.policy, context.hook, candidates, {}, {}, now)
                return held, with_findings(cards, seen_rows(self.policy, user, patient, candidates, held, now))
            seen, snoozed = self._memory(cursor, user, patient, wants_seen, wants_snoozes)
            found = with_digests(cards, candidates, seen.keys() | snoozed.keys())
            held = hold_back(self.policy, context.hook, found, seen, snoozed, now)
            rows = seen_rows(self.policy, user, patient, found, held, now)
            if rows and wants_seen:
                # it read the repeat memory, so it writes it in the same transaction: two order-selects a moment apart
                # interrupt once. This memory may lose its last writes in a crash: no wait for PostgreSQL's WAL flush.
                if self._sql.no_sync_commit:
                    cursor.execute(self._sql.no_sync_commit)
                cursor.execute_many(self._sql.remember_seen, rows)
                return held, []
            return held, rows

        def in_transaction() -> tuple[list[str | None], list[dict[str, Any]]]:  # one checkout, at most one commit
            with transaction(self.engine) as cursor:
                return decide(cursor)

        if wants_seen or wants_snoozes:
            try:
                held, later = write(self.engine, in_transaction)
            except SQLAlchemyError as exc:
                log.warning("card policy: memory unavailable, every card returned (%s)", type(exc).__name__)
                return list(cards)
        elif critical:  # nothing to read (patient-view, a card about a draft): what it shows is remembered later
            held, later = decide(None)
        else:  # nothing to read or remember: only "off" can apply
            held, later = hold_back(self.policy, context.hook, candidates, {}, {}, now), []
        if later:  # written by the card log's writer in its next batch (CardLog.remember)
            self.card_log.remember(self._sql.remember_seen, later)
        if (wants_seen or wants_snoozes or critical) and now >= self._next_purge:
            self.purge(now)
        shown = []
        for card, rule in zip(cards, held, strict=True):
            if rule is None:
                shown.append(card)
                continue
            metrics.HELD_BACK.labels(card.topic, rule).inc()
            self.card_log.held_back(service_id, card.topic, rule)
        return shown

    def _memory(
        self, cursor: Cursor, user: str, patient: str, wants_seen: bool, wants_snoozes: bool
    ) -> tuple[dict[str, tuple[str, float]], dict[str, tuple[str, float]]]:
        seen: dict[str, tuple[str, float]] = {}
        snoozed: dict[str, tuple[str, float]] = {}
        if wants_seen:
            seen = {t: (d, at) for t, d, at in cursor.execute(self._sql.read_seen, {"user": user, "patient": patient})}
        if wants_snoozes:
            snoozed = {t: (d, until) for t, d, until in cursor.execute(self._sql.read_snoozes, {"patient": patient})}
        return seen, snoozed

    def on_feedback(self, items: Sequence[Feedback]) -> int:
        """Snooze after override: an override with one of its family's listed reasons silences the family for the
        card's patient for N days while the findings are those of that card. Returns how many snoozes were set."""
        reasons = override_reasons(items)
        if not reasons or not self.policy.snoozes:
            return 0
        now = self.clock()
        try:
            with self.engine.connect() as conn:
                issued = conn.execute(
                    select(IssuedCard.card_uuid, IssuedCard.topic, IssuedCard.patient_key, IssuedCard.digest).where(
                        IssuedCard.card_uuid.in_(list(reasons))
                    )
                ).all()
        except SQLAlchemyError as exc:
            log.warning("card policy: card log unavailable, no snooze set (%s)", type(exc).__name__)
            return 0
        rows = {}
        for card_uuid, topic, patient, found in issued:
            family = self.policy.of(topic)
            if patient and found and family.snooze_days and reasons[card_uuid] in family.snooze_reasons:
                rows[(patient, topic)] = {
                    "patient_key": patient,
                    "topic": topic,
                    "digest": found,
                    "expires_at": now + family.snooze_days * DAY,
                }
        if rows:
            self._write(self._sql.set_snooze, "snooze", list(rows.values()))
        return len(rows)

    def purge(self, now: float) -> None:
        """Have the card log's writer delete expired memory, at most once a minute per process (off the call)."""
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY_SECONDS
        for statement in self._sql.purge:
            self.card_log.remember(statement, [{"now": now}])

    def _write(self, statement: Any, what: str, rows: list[dict[str, Any]]) -> None:
        def run() -> None:
            with self.engine.begin() as conn:
                if self._sql.no_sync_commit:  # this memory may lose its last writes in a crash: no WAL flush wait
                    conn.execute(_NO_SYNC_COMMIT)
                conn.execute(statement, rows)

        try:
            write(self.engine, run)
        except SQLAlchemyError as exc:  # the call is answered; only the memory misses this write
            log.warning("card policy: %s not written (%s)", what, type(exc).__name__)


def override_reasons(items: Sequence[Feedback]) -> dict[str, str]:
    """Card uuid -> the code of its override reason, for overrides with one of our own reasons (feedback keeps a
    reason of another shape, a code sent as a list or an object, but it names none of ours)."""
    return {
        f.card: code
        for f in items
        if f.outcome == "overridden"
        and isinstance(f.override_reason, dict)
        and isinstance(reason := f.override_reason.get("reason"), dict)
        and reason.get("system") == OVERRIDE_SYSTEM
        and isinstance(code := reason.get("code"), str)
    }


def with_digests(cards: Sequence[Card], candidates: list[Candidate], remembered: Set[str]) -> list[Candidate]:
    """The candidates with the digest of their findings where a rule reads it: critical cards (the repeat rule
    remembers them) and families this clinician or patient has memory of (worked out only then: it hashes the
    card's whole text)."""
    return [
        c._replace(digest=digest(card.topic, c.indicator, card.summary, card.detail, card.mme))
        if c.indicator == "critical" or c.topic in remembered
        else c
        for card, c in zip(cards, candidates, strict=True)
    ]
