"""The floor: a bare WSGI app doing only the unavoidable work of a hook call, and answering no cards.

Demo floor (no BENCH_JWKS): read the body, parse it with orjson. Same-work floor for production mode (BENCH_JWKS,
BENCH_PUBLIC_BASE, BENCH_DB set): also verify the client JWT as ours does (ES384/RS384 by the pinned key, `aud`,
`exp`, `iat`, `jti` required) with PyJWT and insert its `jti` into SQLite in WAL mode (401 on a replay).
BENCH_ANSWER_BYTES pads the answer with spaces to that size (serving.py: as many bytes as our cards). Served by our
worker (serving.py), the body our placement decoded already is taken, as our app takes it (web/offload.py).
"""

import base64
import gc
import json
import os
import sqlite3
import threading

import jwt
import orjson

JWKS = os.environ.get("BENCH_JWKS")
PUBLIC_BASE = os.environ.get("BENCH_PUBLIC_BASE", "")
_keys = {}
if JWKS:
    with open(JWKS) as f:
        issuers = json.load(f)
    for issuer, entry in issuers.items():
        for jwk in entry["keys"]:
            _keys[(issuer, jwk["kid"])] = jwt.PyJWK(jwk)
_local = threading.local()
ANSWER = b'{"cards":[]}'.ljust(int(os.environ.get("BENCH_ANSWER_BYTES") or 0))
PARSED = "backpain_cds.json"  # cds_service/web/body.py's environ key


def _db() -> sqlite3.Connection:
    if getattr(_local, "pid", None) != os.getpid():
        conn = sqlite3.connect(os.environ["BENCH_DB"], isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS seen (jti TEXT PRIMARY KEY, expires_at INTEGER)")
        _local.conn, _local.pid = conn, os.getpid()
    return _local.conn


def _json_object(segment: str) -> dict:
    return json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True))


def _verify(environ: dict) -> bool:
    token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
    try:
        # the key chosen from the header and claims read as ours reads them (cds_service/web/auth.py), then PyJWT
        header, unverified = (_json_object(part) for part in token.split(".")[:2])
        issuer = unverified["iss"]
        key = _keys[(issuer, header["kid"])]
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[header["alg"]],
            audience=PUBLIC_BASE + environ["PATH_INFO"],
            issuer=issuer,
            options={"require": ["exp", "iat", "jti"]},
        )
        _db().execute("INSERT INTO seen VALUES (?, ?)", (claims["jti"], claims["exp"]))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, RecursionError, sqlite3.IntegrityError):
        return False
    return True


def app(environ: dict, start_response) -> list[bytes]:
    if environ["REQUEST_METHOD"] == "GET":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"services":[]}']
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if JWKS and not _verify(environ):
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"error":"unauthorized"}']
    if PARSED not in environ:
        orjson.loads(body)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


gc.freeze()  # the same GC settings as `backpain-cds serve`, so the ratio compares work, not GC policy
gc.set_threshold(10_000, 10, 10)
