"""`per_call`: a question about the record worked out once per hook call, its answer kept in the record's memo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from .patient_record import _UNKNOWN, PatientRecord

P = ParamSpec("P")
T = TypeVar("T")


def per_call(fn: Callable[Concatenate[PatientRecord, P], T]) -> Callable[Concatenate[PatientRecord, P], T]:
    """fn(record, *args) as `record.once(fn, *args)` gives it, under the same memo key (either finds what the other
    worked out), in one call instead of two: several families ask the same questions, some a dozen times a call.
    Positional arguments only, as `once` takes them."""

    work_out: Callable[..., T] = fn

    def once(record: PatientRecord, *args: Any) -> T:
        key = (fn, args)
        found = record.memo.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = record.memo[key] = work_out(record, *args)
        return found  # type: ignore[no-any-return]

    once.__name__, once.__qualname__, once.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return once  # type: ignore[return-value]
