"""The call's JSON log line written without logging's dispatch (logs.event): the same line, and logging's own path
whenever anything else would see the record."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from cds_service import logs

FIELDS = {
    "service": "backpain-patient-view",
    "hookInstance": 'd1577c69\n{"forged": true}\x1b[2J',  # a client's value: escaped, never a second line
    "status": 200,
    "ms": 1.8,
    "topics": ["red-flags", "nsaid-first-line"],
    "error": None,  # left out
}


@pytest.fixture
def logger(monkeypatch):
    """A logger of its own (not the root's) with our JSON handler on a buffer, at a fixed clock."""
    monkeypatch.setattr(time, "time", lambda: 1796378400.5)
    log = logging.getLogger("tests.logs.direct")
    log.propagate, log.level = False, logging.INFO
    stream = io.StringIO()
    handler = logs.handler("json")
    handler.setStream(stream)
    monkeypatch.setattr(log, "handlers", [handler])
    return log, handler, stream


def alone(log: logging.Logger, handler: logging.Handler) -> None:
    """Our handler alone on the logger: pytest attaches its capture handlers to non-propagating loggers too."""
    log.handlers[:] = [handler]


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_line_written_directly_is_the_line_logging_writes(logger, monkeypatch):
    log, handler, stream = logger
    dispatched_by_logging: list[str] = []
    monkeypatch.setattr(log, "makeRecord", lambda *a, **k: dispatched_by_logging.append("record") or make(*a, **k))
    make = logging.Logger.makeRecord.__get__(log)
    alone(log, handler)
    logs.event(log, logging.INFO, "hook", **FIELDS)  # directly: our handler alone writes it
    assert dispatched_by_logging == []
    handler.addFilter(lambda record: True)  # a filter on the way: logging's own path, which the filter lets through
    logs.event(log, logging.INFO, "hook", **FIELDS)
    assert dispatched_by_logging == ["record"]
    direct, dispatched = stream.getvalue().splitlines()
    assert direct == dispatched
    assert len(stream.getvalue().splitlines()) == 2  # the newline in hookInstance forged no line
    assert lines(stream)[0] == {
        "time": "2026-12-04T10:00:00.500Z",
        "level": "INFO",
        "logger": "tests.logs.direct",
        "pid": lines(stream)[0]["pid"],
        "event": "hook",
        "service": "backpain-patient-view",
        "hookInstance": 'd1577c69\\n{"forged": true}\\x1b[2J',
        "status": 200,
        "ms": 1.8,
        "topics": ["red-flags", "nsaid-first-line"],
    }


def test_a_filter_or_a_second_handler_sees_the_record_as_logging_gives_it(logger):
    log, handler, stream = logger
    alone(log, handler)
    handler.addFilter(lambda record: False)
    logs.event(log, logging.INFO, "hook", **FIELDS)
    assert stream.getvalue() == ""  # the filter dropped it: the direct path did not write around it
    handler.filters.clear()
    seen: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = seen.append  # type: ignore[method-assign]
    log.addHandler(capture)
    try:
        logs.event(log, logging.INFO, "hook", **FIELDS)
    finally:
        log.removeHandler(capture)
    assert [r.event_fields["status"] for r in seen] == [200]  # type: ignore[attr-defined]
    assert [line["status"] for line in lines(stream)] == [200]


def test_below_its_level_nothing_is_made(logger):
    log, handler, stream = logger
    alone(log, handler)
    handler.setLevel(logging.WARNING)
    logs.event(log, logging.INFO, "hook", **FIELDS)
    log.setLevel(logging.ERROR)
    logs.event(log, logging.WARNING, "hook", **FIELDS)
    assert stream.getvalue() == ""


def test_a_line_the_direct_path_cannot_make_never_reaches_the_call(logger, monkeypatch):
    """orjson refuses an integer over 64 bits: logging's own path then reports it (handleError), as before; the
    call that logged is never failed by its log line."""
    log, handler, stream = logger
    alone(log, handler)
    monkeypatch.setattr(logging, "raiseExceptions", False)  # handleError stays quiet, as in production
    logs.event(log, logging.INFO, "hook", status=2**70)
    assert stream.getvalue() == ""


def test_a_flush_failing_after_the_write_does_not_write_the_line_twice(logger):
    log, handler, _ = logger

    class FlushFails(io.StringIO):
        def flush(self) -> None:
            raise BlockingIOError("stderr is non-blocking and full")

    stream = FlushFails()
    handler.setStream(stream)
    alone(log, handler)
    logs.event(log, logging.INFO, "hook", **FIELDS)
    assert len(stream.getvalue().splitlines()) == 1
