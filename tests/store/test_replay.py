"""The replay cache in the shared database: one claim per token across replicas, purged when expired, fail closed."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import text

from cds_service.errors import ServiceUnavailable
from cds_service.store import database
from cds_service.store.replay import ReplayCache, Replayed


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def url(request, settings):
    return request.getfixturevalue("postgres").url if request.param == "postgresql" else settings.database_url


def test_a_token_is_claimed_once_across_replicas(url):
    """Two engines on one database stand for two replicas (or two workers)."""
    first, second = ReplayCache(database.connect(url)), ReplayCache(database.connect(url))
    jti = f"jti-{time.time_ns()}"
    first.claim("https://ehr.example.org", jti, time.time() + 300)
    with pytest.raises(Replayed):
        second.claim("https://ehr.example.org", jti, time.time() + 300)
    second.claim("https://other-ehr.example.org", jti, time.time() + 300)  # jti is unique per issuer


def test_expired_rows_are_purged(url):
    engine = database.connect(url)
    cache = ReplayCache(engine)
    cache.claim("iss", f"old-{time.time_ns()}", time.time() - 10)
    cache._next_purge = 0.0
    cache.claim("iss", f"new-{time.time_ns()}", time.time() + 300)
    with engine.connect() as conn:
        expired = conn.execute(
            text("SELECT count(*) FROM seen_tokens WHERE expires_at < :now"), {"now": int(time.time())}
        ).scalar()
    assert expired == 0


def test_a_store_that_cannot_be_written_fails_closed(url):
    engine = database.connect(url)
    cache = ReplayCache(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE seen_tokens RENAME TO seen_tokens_away"))
    try:
        with pytest.raises(ServiceUnavailable):
            cache.claim("iss", f"jti-{time.time_ns()}", time.time() + 300)
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE seen_tokens_away RENAME TO seen_tokens"))


def test_failing_store_is_a_503_not_a_pass(settings):
    from cds_service import create_app
    from tests.web.test_auth import BASE, call, jwks, token

    app = create_app(replace(settings, jwt_jwks=jwks(), public_base_url=BASE))
    engine = app.extensions["backpain_cds_feedback"].engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE seen_tokens"))
    response = call(app.test_client(), token())
    assert response.status_code == 503 and response.get_json()["error"] == "unavailable"


def test_a_database_that_cannot_be_reached_is_a_503(tmp_path):
    """PostgreSQL stopped: the pool's connect fails before any statement. That must be the replay cache's 503 (fail
    closed), not the driver's own error escaping as a 500 (seen with replicas behind HAProxy)."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path}")  # a directory: the driver cannot open it
    with pytest.raises(ServiceUnavailable):
        ReplayCache(engine).claim("https://ehr.example.org", "jti", time.time() + 300)
