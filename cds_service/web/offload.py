"""Which calls a worker runs on its event loop, and which it hands to one of its threads.

A call that only computes (discovery, metrics, feedback, a hook call whose prefetch is complete) runs on the event
loop's own thread once its request is whole: handing it to a thread and its answer back to the loop took two thread
switches and the interpreter's lock passed to and fro, a quarter of the CPU of a hook call on a 33 KB record. A call
that may wait on the EHR's FHIR server (a hook call with a prefetch key absent, failed or unreadable, and the preview
page's evaluate, which takes pasted requests) runs on one of BACKPAIN_CDS_THREADS threads, so that the loop goes on
reading requests and answering health probes meanwhile. Either way calls compute one at a time (web/turns.py).

To see the prefetch, the body is decoded here, with the app's own limits, and handed to the app (`body.PARSED`)
rather than decoded twice; a body the app will refuse runs on the loop too: it is answered at once.

Where any call may wait on the network whatever its prefetch, every call runs on a thread, as before: a PostgreSQL
database (a hung one would hold the loop, and the probes queued behind it, for up to BACKPAIN_CDS_DATABASE_TIMEOUT
per call; SQLite is a local file) or client keys fetched from an issuer's `jwks_url` (pinned keys never are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import CdsError
from ..fhir.prefetch import PrefetchState, state_of
from ..services import Registry
from .auth import ClientAuth
from .body import PARSED, decode

HOOKS = "/cds-services/"
_NO_FETCH = (PrefetchState.PRESENT, PrefetchState.EMPTY)  # used as sent: nothing to query

OnLoop = Callable[[dict[str, Any], bytes], bool]


def on_loop(settings: Settings, registry: Registry, auth: ClientAuth | None) -> OnLoop | None:
    """The worker's test: True when a call cannot wait on the network (BufferedWsgi runs it on the loop); None when
    any call may (see above)."""
    if not settings.database_url.startswith("sqlite") or (
        auth is not None and any(keys.jwks_url for keys in auth.issuers.values())
    ):
        return None
    return _computes_only(registry, settings.max_body_bytes, settings.max_json_values)


def _computes_only(registry: Registry, max_body_bytes: int, max_json_values: int) -> OnLoop:

    def computes_only(environ: dict[str, Any], body: bytes) -> bool:
        if environ["REQUEST_METHOD"] != "POST":
            return True  # GET, HEAD, OPTIONS: discovery, OpenAPI, metrics, probes, the preview page's files
        path: str = environ["PATH_INFO"]
        if not path.startswith(HOOKS):
            return False  # the preview's evaluate may fetch for a pasted request
        service_id = path[len(HOOKS) :]
        if service_id.endswith("/feedback") or service_id not in registry.ids:
            return True  # feedback is stored, an unknown service is a 404: neither fetches
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
