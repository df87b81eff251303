"""Which calls a worker runs on its event loop, and which it hands to one of its threads.

A call that only computes (discovery, metrics, feedback, the preview, a hook call whose prefetch is complete) runs on
the event loop's own thread once its request is whole: handing it to a thread and its answer back to the loop took
two thread switches and the interpreter's lock passed to and fro, a quarter of the CPU of a hook call on a 33 KB
record. It runs there only when it can take its turn at once (web/turns.py: the loop never waits while a thread
computes) and when its body is at most INLINE_MAX_BYTES: a large record computes for long enough that handing it
over costs little, and the loop must not stop reading and answering probes for long (nor let a kept-alive
connection's timer run out behind it). Every other call runs on one of BACKPAIN_CDS_THREADS threads, above all a
hook call that may wait on the EHR's FHIR server (a prefetch key absent, failed or unreadable), so that the loop
goes on reading requests and answering health probes meanwhile.

To see the prefetch, the body is decoded here, with the app's own limits, and handed to the app (`body.PARSED`)
rather than decoded twice; a body the app will refuse (not JSON, too many values, no Authorization header when
client tokens are required: not decoded then) runs on the loop too: it is answered at once.

Where any call may wait on the network whatever its prefetch, every call runs on a thread, as before: a PostgreSQL
database (a hung one would hold the loop, and the probes queued behind it, for up to BACKPAIN_CDS_DATABASE_TIMEOUT
per call; SQLite is a local file) or client keys fetched from an issuer's `jwks_url` (pinned keys never are).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ..config import Settings
from ..errors import CdsError
from ..fhir.prefetch import PrefetchState, state_of
from ..services import Registry
from . import turns
from .auth import ClientAuth
from .body import PARSED, decode

HOOKS = "/cds-services/"
INLINE_MAX_BYTES = 256 * 1024  # about 0.5 ms to compute per call at most (Corrin Jast's 197 KB record)
_NO_FETCH = (PrefetchState.PRESENT, PrefetchState.EMPTY)  # used as sent: nothing to query

# For BufferedWsgi: what to run a call on the loop under (its turn, taken), or None to hand it to a thread.
OnLoop = Callable[[dict[str, Any], bytes], AbstractContextManager[Any] | None]


def on_loop(settings: Settings, registry: Registry, auth: ClientAuth | None) -> OnLoop | None:
    """The worker's placement of calls (see above); None when any call may wait on the network."""
    if not settings.database_url.startswith("sqlite") or (
        auth is not None and any(keys.jwks_url for keys in auth.issuers.values())
    ):
        return None
    computes_only = _computes_only(registry, settings.max_body_bytes, settings.max_json_values, auth is not None)

    def place(environ: dict[str, Any], body: bytes) -> AbstractContextManager[Any] | None:
        if environ["PATH_INFO"] in turns.NO_TURN:
            return nullcontext()  # probes answer at once, turn or no turn
        if len(body) > INLINE_MAX_BYTES or not computes_only(environ, body):
            return None
        return turns.take_now()

    return place


def _computes_only(
    registry: Registry, max_body_bytes: int, max_json_values: int, tokens_required: bool
) -> Callable[[dict[str, Any], bytes], bool]:
    """True when a call cannot wait on a FHIR server; a hook call's body is decoded (and kept) to see its prefetch."""

    def computes_only(environ: dict[str, Any], body: bytes) -> bool:
        if environ["REQUEST_METHOD"] != "POST":
            return True  # GET, HEAD, OPTIONS: discovery, OpenAPI, metrics, the preview page and its files
        path: str = environ["PATH_INFO"]
        if not path.startswith(HOOKS):
            return True  # the preview's evaluate has no FHIR server (it names missing prefetch): computes only
        service_id = path[len(HOOKS) :]
        if service_id.endswith("/feedback") or service_id not in registry.ids:
            return True  # feedback is stored, an unknown service is a 404: neither fetches
        if tokens_required and "HTTP_AUTHORIZATION" not in environ:
            return True  # 401 at once: a body is not decoded for a caller without a token
        if len(body) > max_body_bytes:
            return True  # 413 at once
        try:
            parsed = decode(body, max_json_values)
        except CdsError:
            return True  # 400 or 413 at once
        environ[PARSED] = parsed
        prefetch = parsed.get("prefetch") if isinstance(parsed, dict) else None
        if not isinstance(prefetch, dict):
            return prefetch is not None or not isinstance(parsed, dict)  # refused at once (400) unless absent
        return all(state_of(prefetch, key) in _NO_FETCH for key in registry.get(service_id).prefetch)

    return computes_only
