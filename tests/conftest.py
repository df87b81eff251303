"""Fixtures shared by the tests: settings, app, client, runtime and the evaluation date."""

from __future__ import annotations

import functools
import gc
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from cds_service import create_app, rules
from cds_service.config import Settings
from cds_service.fhir.prefetch import resolve
from cds_service.hook_request import parse_hook_request
from cds_service.knowledge import load
from cds_service.knowledge.memo import Memo
from cds_service.pipeline import Runtime
from cds_service.record.builder import build_record
from cds_service.rules import _orders
from tests.fhir_builders import TODAY, hook_request

# CI explores the same examples on every run (a new random find must not block a landing unseen); locally each run
# explores new ones, which is how the negative dose and the feedback 500s were found.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FHIR_DATA = SHARED / "fhir-data"
COMPILED_COPY = ".compiled-copy"  # tests/test_compiled.py's mark on its copy of the tree


def pytest_configure(config: pytest.Config) -> None:
    """Refuse compiled modules in the source tree (left by an in-place mypyc build): Python imports them before the
    .py beside them, so the tests would run whatever code they were built from. tests/test_compiled.py puts the
    installed build's beside a copy of the tree on purpose, and marks the copy."""
    root = Path(__file__).resolve().parents[1]
    if (root / COMPILED_COPY).exists():
        return
    if stale := sorted(str(p.relative_to(root)) for p in [*root.glob("*.so"), *(root / "cds_service").rglob("*.so")]):
        raise pytest.UsageError(f"compiled modules in the source tree, delete them: {', '.join(stale[:3])}...")


_CACHES: list[Any] = []  # our process-wide memos and lru_caches, found once


@pytest.fixture(autouse=True)
def _cold_process_caches() -> None:
    """Every test starts with our process-wide memos and lru_caches empty. Mutation testing runs a mutant's tests in
    a process forked from one that ran them all with the code unchanged, and picks the tests of a function by which
    of them called it there: a cache warm from an earlier test (escaped text, drugs read, an order's MME, "3 days
    ago") would answer for the mutated function, or hide which tests depend on it."""
    if not _CACHES:
        load()  # the knowledge holds most of them: made before they are looked for, whichever test comes first
        _CACHES.extend(
            obj
            for obj in gc.get_objects()
            if isinstance(obj, Memo)
            or (
                isinstance(obj, functools._lru_cache_wrapper)
                and obj.__module__.startswith("cds_service")
                and obj is not load  # the knowledge itself: objects made at import hold it (no rule's answer cached)
            )
        )
    for cache in _CACHES:
        if isinstance(cache, Memo):
            cache.clear()
            cache.used = 0
        else:
            cache.cache_clear()
    _orders._PARTS.clear()  # suggested orders' template parts, by ActivityDefinition


needs_shared = pytest.mark.skipif(
    not FHIR_DATA.is_dir(), reason=f"../shared/fhir-data not present at {FHIR_DATA} (third-party data)"
)


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the whole run (skips, saying why, where it cannot be had)."""
    from tests.postgres import MISSING, cluster

    if MISSING:
        pytest.skip(MISSING)
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install '.[postgres]')")
    with cluster() as pg:
        yield pg


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, as_of=TODAY)


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runtime(settings: Settings) -> Runtime:
    return Runtime.create(settings)


def cards_for(resources: list[dict[str, Any]], hook: str = "patient-view", **kw: Any) -> list[Any]:
    """Card objects (not JSON) the rules produce for these resources, through the real record builder."""
    kb = load()
    body = hook_request(resources, hook, **kw)
    request = parse_hook_request(body, hook)
    from cds_service.services import Registry

    service = next(s for s in Registry(kb).services if s.hook == hook)
    values, _ = resolve(service, request, lambda r, q: {})
    record = build_record(kb, request.context, values.values(), TODAY)
    return rules.evaluate(record, request.context, TODAY)


def by_topic(cards: list[Any]) -> dict[str, Any]:
    return {c.topic: c for c in cards}
