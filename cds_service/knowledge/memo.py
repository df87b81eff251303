"""`Memo`: a process-wide dict of answers bounded by the bytes it holds, not by a count of entries.

Keys come from requests (codes, CodeableConcept JSON), so a count bound lets a client fill a cache with a few long
keys: 10,000 concepts of 1 MB each. A Memo estimates each entry's bytes (`sys.getsizeof` of key and value, their
strings included) and, when the next entry would pass its allowance, empties itself and starts over: answers that
matter come back at once, and an attacker's keys go. An entry larger than 1/64 of the allowance is never kept.
Reads are plain dict reads (`get`, `in`, `[]`), as fast as before.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

ENTRY_OVERHEAD = 100  # a dict slot and its hash, roughly


def size_of(value: Any) -> int:
    """Bytes of a key or value: strings, bytes, numbers, and tuples/frozensets of them (nested), estimated."""
    if isinstance(value, tuple | frozenset | list):
        return sys.getsizeof(value) + sum(size_of(v) for v in value)
    return sys.getsizeof(value)


class Memo(dict):
    """Answers by key, at most `max_bytes` of them (estimated); `put` adds one, emptying the Memo when full."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.used = 0
        self._lock = threading.Lock()

    def put(self, key: Any, value: Any, value_bytes: int | None = None) -> None:
        cost = size_of(key) + (size_of(value) if value_bytes is None else value_bytes) + ENTRY_OVERHEAD
        if cost > self.max_bytes // 64:
            return  # no answer worth keeping is this large: it would only push the others out
        with self._lock:
            if self.used + cost > self.max_bytes:
                self.clear()
                self.used = 0
            if key not in self:
                self[key] = value
                self.used += cost
