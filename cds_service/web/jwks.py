"""Each trusted issuer's signing keys: pinned in the BACKPAIN_CDS_JWT_JWKS file, or fetched from its `jwks_url`.

Fetched keys are cached for the response's `Cache-Control: max-age` (bounded to 1 minute .. 1 day; 1 hour when
absent), refetched when a token names a `kid` we do not have, never more than once a minute per issuer across every
worker and replica (the limit and the keys fetched are shared through the database, `store/jwks_fetches.py`), and
kept working while the URL is down. Keys are only ever fetched from the configured URL (https, or http on loopback).
PyJWT's own `PyJWKClient` follows redirects and reads unbounded bodies, so the fetch goes through `http_fetch`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from ..fhir.http_fetch import Budget, FetchError, get_json, new_session
from ..logs import safe
from ..store.jwks_fetches import SharedJwks

log = logging.getLogger(__name__)
MIN_REFETCH_SECONDS = 60  # at most one fetch a minute per issuer, whatever tokens arrive
LOOK_SECONDS = 2  # with shared state: how often a worker may look there for another worker's fetch
MAX_CACHE_SECONDS = 24 * 3600
DEFAULT_CACHE_SECONDS = 3600
FETCH_SECONDS = 3.0
FETCH_MAX_BYTES = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)

Fetcher = Callable[[str], tuple[dict[str, Any], float]]  # url -> (JWKS, seconds to cache)


def usable_keys(jwks: Any) -> dict[str, jwt.PyJWK]:
    """kid -> key for every asymmetric signing key with a kid; others (shared secrets, encryption keys) are left out."""
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) and isinstance(jwks.get("keys"), list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("EC", "RSA") or jwk.get("use", "sig") != "sig":
            continue
        if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(jwk)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return keys


def cache_seconds(cache_control: str | None) -> float:
    """How long to keep fetched keys: max-age within [1 minute, 1 day], 1 hour when the server says nothing."""
    match = _MAX_AGE.search(cache_control or "")
    if match is None:
        return MIN_REFETCH_SECONDS if "no-store" in (cache_control or "") else DEFAULT_CACHE_SECONDS
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > 9:  # more than 31 years, and int() refuses over 4,300 digits
        return float(MAX_CACHE_SECONDS)
    return float(min(max(int(digits), MIN_REFETCH_SECONDS), MAX_CACHE_SECONDS))


def fetch_jwks(url: str) -> tuple[dict[str, Any], float]:
    """GET a JWKS within 3 s and 256 KiB, no redirects; return (JWKS, seconds to cache); raise FetchError."""
    budget = Budget(FETCH_SECONDS, FETCH_MAX_BYTES)
    with budget.watchdog(), new_session() as session:
        body, headers = get_json(session, url, {"Accept": "application/json"}, budget, FETCH_SECONDS, FETCH_SECONDS)
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise FetchError("the JWKS URL sent JSON that is not a JWK Set")
    return body, cache_seconds(headers.get("Cache-Control"))


class IssuerKeys:
    """One issuer's keys: pinned ones first, then (when it has a `jwks_url`) the ones fetched from there."""

    def __init__(
        self,
        issuer: str,
        entry: dict[str, Any],
        fetch: Fetcher = fetch_jwks,
        clock: Callable[[], float] = time.time,
        shared: SharedJwks | None = None,
    ) -> None:
        self.issuer = issuer
        self.jwks_url: str | None = entry.get("jwks_url")
        self._pinned = usable_keys({"keys": entry.get("keys", [])})
        self._fetched: dict[str, jwt.PyJWK] = {}
        self._fresh_until = 0.0
        self._next_fetch = 0.0
        self._fetch = fetch
        self._clock = clock  # wall-clock seconds: with `shared`, every process compares the same times
        self._shared = shared
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this kid, fetching the issuer's JWKS when it is stale or lacks the kid; None if unknown."""
        if kid in self._pinned:
            return self._pinned[kid]
        if self.jwks_url is None:
            return None
        now = self._clock()
        wanted = now >= self._fresh_until or kid not in self._fetched
        # Whoever holds the lock fetches; others go on with the keys they have, unless there are none yet.
        if wanted and now >= self._next_fetch and self._lock.acquire(blocking=not self._fetched):
            try:
                if self._clock() >= self._next_fetch:
                    self._refresh(kid)
            finally:
                self._lock.release()
        return self._fetched.get(kid)

    def _refresh(self, kid: str) -> None:
        now = self._clock()
        self._next_fetch = now + MIN_REFETCH_SECONDS
        if self._shared is not None:
            self._next_fetch = now + LOOK_SECONDS  # the shared limit decides the fetches; look again soon
            found = self._shared.load(self.issuer)
            if found is not None and found[1] > now and usable_keys(found[0]):
                self._fetched, self._fresh_until = usable_keys(found[0]), found[1]
                if kid in self._fetched:
                    return  # another worker fetched them
            claimed = self._shared.claim(self.issuer, now, MIN_REFETCH_SECONDS)
            if claimed is False:
                return
            if claimed is None:  # the database cannot say: this worker's own limit
                self._next_fetch = now + MIN_REFETCH_SECONDS
        try:
            jwks, seconds = self._fetch(self.jwks_url)  # type: ignore[arg-type]
        except FetchError as exc:  # keep the keys we have: an issuer's outage must not lock its users out
            log.warning("JWKS fetch failed for issuer %s: %s", safe(self.issuer), safe(exc.reason))
            return
        keys = usable_keys(jwks)
        if not keys:
            log.warning("JWKS of issuer %s has no usable signing key; keeping the previous ones", safe(self.issuer))
            return
        self._fetched, self._fresh_until = keys, now + seconds
        if self._shared is not None:
            self._shared.store(self.issuer, jwks, now + seconds)
