"""Checks the client's JWT (CDS Hooks security, checklist section 7) before a hook, discovery or feedback call.

Trusted issuers and their keys are configured out of band (BACKPAIN_CDS_JWT_JWKS); keys are never fetched from
a `jku` in the token. Every failure is a bare 401: the reason goes to the log, never to the client.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt

from .errors import Unauthorized

log = logging.getLogger(__name__)
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
LEEWAY_SECONDS = 60
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


class ClientAuth:
    """Verifies `Authorization: Bearer <JWT>`: issuer allowlisted, signature by its key `kid`, asymmetric `alg`,
    `aud` the exact URL called, `exp`/`iat` in range, `jti` never seen before (kept until it expires)."""

    def __init__(self, jwks_by_issuer: dict[str, dict[str, Any]]) -> None:
        self.keys = {iss: {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys} for iss, jwks in
                     jwks_by_issuer.items()}
        self._seen: dict[str, float] = {}  # jti -> exp, per worker process
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """Return the token's claims; raise Unauthorized for anything but a valid, fresh, well-addressed token."""
        try:
            return self._verify(authorization, audience)
        except (jwt.PyJWTError, ValueError) as exc:
            log.info("client JWT rejected: %s", exc)  # no token content in the log
            raise Unauthorized("client authentication failed") from None

    def _verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ValueError("no bearer token")
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithm {header.get('alg')!r} not accepted")
        if str(header.get("typ", "")).upper() != "JWT":
            raise ValueError("typ is not JWT")
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        key = self.keys.get(issuer, {}).get(header.get("kid"))
        if key is None:
            raise ValueError("unknown issuer or key id")
        claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience, issuer=issuer,
                            leeway=LEEWAY_SECONDS, options={"require": REQUIRED_CLAIMS})
        if claims["iat"] > time.time() + LEEWAY_SECONDS:
            raise ValueError("iat in the future")
        self._remember(str(claims["jti"]), float(claims["exp"]))
        return claims

    def _remember(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            for old in [j for j, exp in self._seen.items() if exp + LEEWAY_SECONDS < now]:
                del self._seen[old]
            if jti in self._seen:
                raise ValueError("jti replayed")
            self._seen[jti] = expires
