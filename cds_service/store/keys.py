"""The keyed hashes (HMAC-SHA256) under which the card policy and the card log keep patient and user ids."""

from __future__ import annotations

import hashlib
import hmac
import threading

KEPT = 4  # a thread's last keys kept: a hook call asks for its patient's in the card policy and in the card log


class Keys:
    """`keys(kind, value)`: the keyed hash of an id of that kind ("patient", "user"), never stored in the clear.
    This thread's last few are kept, so a call's patient is hashed once."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._kept = threading.local()

    def __call__(self, kind: str, value: str) -> str:
        kept: dict[tuple[str, str], str] = self._kept.__dict__.setdefault("keys", {})
        if (found := kept.get((kind, value))) is None:
            if len(kept) >= KEPT:
                kept.clear()
            found = hmac.new(self._secret, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
            kept[kind, value] = found
        return found
