"""Checks the client's JWT (CDS Hooks security, checklist section 7) before a hook, discovery or feedback call.

Trusted issuers and their keys (pinned, or a JWKS URL) come from BACKPAIN_CDS_JWT_JWKS; a token's `jku` is accepted
only when it is its issuer's configured `jwks_url`, and keys are never fetched from anywhere else. Every failure
is a bare 401 (the reason goes to the log, escaped, never to the client); a replay cache that cannot be written
is a 503: fail closed.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt

from ..errors import Unauthorized
from ..logs import safe
from ..store.jwks_fetches import SharedJwks
from ..store.replay import ReplayCache, Replayed
from .jwks import IssuerKeys

log = logging.getLogger(__name__)
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
LEEWAY_SECONDS = 60
MAX_LIFETIME_SECONDS = 300  # CDS Hooks: tokens live 5 minutes; `exp` further out is refused, `iat` older too
MAX_TOKEN_CHARS = 16 * 1024
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


class _Rejected(Exception):
    """Why a token was refused; logged, never shown to the client."""


class ClientAuth:
    """Verifies `Authorization: Bearer <JWT>`: issuer allowlisted, signature by its key `kid`, asymmetric `alg`,
    `aud` the configured public URL of the path called, `exp`/`iat` within 5 minutes, `jti` claimed once in the
    shared replay cache."""

    def __init__(
        self, issuers: dict[str, dict[str, Any]], replay: ReplayCache, clock: Callable[[], float] = time.time
    ) -> None:
        shared = SharedJwks(replay.engine)  # the refetch limit per issuer, across workers and replicas
        self.issuers = {iss: IssuerKeys(iss, entry, shared=shared) for iss, entry in issuers.items()}
        self.replay = replay
        self.clock = clock

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """Return the token's claims; raise Unauthorized for anything but a valid, fresh, well-addressed token,
        ServiceUnavailable when the replay cache cannot record it."""
        try:
            claims = self._verify(authorization, audience)
            self.replay.claim(claims["iss"], claims["jti"], claims["exp"] + LEEWAY_SECONDS)
            return claims
        except Replayed:
            reason = "jti replayed"
        except _Rejected as exc:
            reason = str(exc)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            reason = f"{type(exc).__name__}: {exc}"  # PyJWT on malformed input; never a 500
        log.info("client JWT rejected: %s", safe(reason))  # no token content in the log
        raise Unauthorized("client authentication failed") from None

    def _verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
            raise _Rejected("no bearer token")
        header, unverified = _unverified(token)
        alg, kid, jku = header.get("alg"), header.get("kid"), header.get("jku")
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            raise _Rejected("algorithm not accepted")
        if not isinstance(header.get("typ"), str) or header["typ"].upper() != "JWT":
            raise _Rejected("typ is not JWT")
        if not isinstance(kid, str) or not kid:
            raise _Rejected("no kid")
        issuer = unverified.get("iss")
        keys = self.issuers.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise _Rejected("issuer not trusted")
        if jku is not None and jku != keys.jwks_url:
            raise _Rejected("jku is not the issuer's configured jwks_url")
        key = keys.key(kid)
        if key is None:
            raise _Rejected("unknown key id")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS, "strict_aud": False},
        )
        self._check_times(claims)
        if not isinstance(claims["jti"], str) or not claims["jti"].strip():
            raise _Rejected("jti is not a non-empty string")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock()
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
            raise _Rejected("exp or iat is not a number")
        if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise _Rejected("exp more than 5 minutes ahead")
        if iat > now + LEEWAY_SECONDS:
            raise _Rejected("iat in the future")
        if iat < now - MAX_LIFETIME_SECONDS - LEEWAY_SECONDS:
            raise _Rejected("iat more than 5 minutes old")


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and claims, unchecked, only to choose the issuer's key: PyJWT then decodes and checks the
    whole token with that key. (PyJWT's own unverified header and claims cost two more decodes, ~90 us a call.)
    Parsed with `json`, as PyJWT parses them: orjson refuses what PyJWT takes (a lone UTF-16 surrogate, which
    JavaScript writes for a string cut mid-emoji; NaN; a byte-order mark), and a token it refused would be a 401."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _Rejected("not a compact JWS")
    return _json_object(parts[0]), _json_object(parts[1])


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True))
    except RecursionError:  # arrays nested thousands deep fit in a 16 KiB token
        raise _Rejected("a token segment nests too deep") from None
    if not isinstance(value, dict):
        raise _Rejected("a token segment is not a JSON object")
    return value
