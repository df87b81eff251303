"""Log set-up: text lines (default) or one JSON object per line (BACKPAIN_CDS_LOG_FORMAT=json), gunicorn's own lines
included (`web/serving.py`), both with one timestamp format: UTC, ISO 8601, milliseconds, `Z`.

Every value a client or a chart sent (hookInstance, a path, a rejected claim, a resource id) goes through `safe`
before it is logged, in either format: control characters escaped, length cut, so a newline cannot forge a line, an
escape sequence cannot reach the operator's terminal and a 5 MB value is not logged whole. No PHI and no tokens are
ever passed in. There is no access log: each hook and feedback call has one structured line (`event`), the same
facts in both formats.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import suppress
from typing import Any

import orjson

MAX_VALUE_CHARS = 200


def safe(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """The value as one printable line: non-printable characters escaped (\\n, \\x1b, \\u2028), cut to `limit`
    characters (the last one then `…`) before escaping. A list or object sent where text belongs is named by its type:
    its text could be megabytes long or nested past the recursion limit."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dict, list, tuple)):
        text = f"<{type(value).__name__}>"
    else:
        text = str(value)
    cut = len(text) > limit
    text = text[: limit - 1] if cut else text
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text + "…" if cut else text


_second: tuple[int, str] = (-1, "")  # the last whole second formatted: most lines fall in the one before them


def timestamp(created: float) -> str:
    """`2026-11-27T10:00:00.123Z`: the one time format of every line."""
    global _second
    whole, text = _second
    if whole != int(created):  # swapped whole (one tuple), so threads never see a second with another's text
        whole = int(created)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return text + f".{int(created % 1 * 1000):03d}Z"


class _Fields:
    """An event's `k=v ...` text, built only if a text line is written (JSON lines take the fields themselves)."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return " ".join(f"{k}={_text(v)}" for k, v in self.fields.items())


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(safe(v) for v in value[:50])
    return safe(value)


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log an event with fields: `name k=v ...` in text, the fields themselves in JSON (values made safe in both).
    When our JSON handler alone would write it (no other handler, no filter), the line is made and written here,
    without a LogRecord and logging's dispatch: the same line for a fraction of the cost, once per hook call."""
    if not logger.isEnabledFor(level):
        return
    fields = {k: v for k, v in fields.items() if v is not None}
    handler = _only_json_handler(logger, level)
    if handler is None or not _write_directly(handler, level, logger, name, fields):
        logger.log(level, "%s %s", name, _Fields(fields), extra={"event_name": name, "event_fields": fields})


def _write_directly(
    handler: logging.StreamHandler, level: int, logger: logging.Logger, name: str, fields: dict[str, Any]
) -> bool:
    """Write the event's line to the handler's stream; False when it could not be made or written (logging's own
    path then reports it its way). A failed flush after the write is not retried: the line is out."""
    pid = os.getpid() if logging.logProcesses else None
    try:
        line = json_line(time.time(), logging.getLevelName(level), logger.name, pid, name, fields)
        with handler.lock:  # type: ignore[union-attr]  # StreamHandler's, as its emit takes it
            handler.stream.write(line + handler.terminator)
    except Exception:
        return False
    with suppress(Exception):
        handler.flush()
    return True


def _only_json_handler(logger: logging.Logger, level: int) -> logging.StreamHandler | None:
    """The one handler that would write this logger's record, when it is a plain StreamHandler with our JSON
    formatter and nothing on the way filters; else None (tests' capture handlers, an operator's extra handler)."""
    found = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if found is not None or type(handler) is not logging.StreamHandler or handler.filters:
                return None
            if type(handler.formatter) is not JsonFormatter or level < handler.level:
                return None
            found = handler
        current = current.parent if current.propagate else None
    return found


class TextFormatter(logging.Formatter):
    """`<time> LEVEL logger[pid]: message`."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{timestamp(record.created)} {record.levelname} {record.name}[{record.process}]: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, event and its fields, or the message."""

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "event_name", None)
        fields = record.event_fields if name is not None else None  # type: ignore[attr-defined]
        exception = self.formatException(record.exc_info) if record.exc_info else None
        message = None if name is not None else safe(record.getMessage(), 2000)
        at, level, pid = record.created, record.levelname, record.process
        return json_line(at, level, record.name, pid, name, fields, message, exception)


def json_line(
    created: float,
    level: str,
    logger: str,
    pid: int | None,
    name: str | None,
    fields: dict[str, Any] | None,
    message: str | None = None,
    exception: str | None = None,
) -> str:
    """One JSON line: time, level, logger, pid, then the event and its fields (made safe), or the message."""
    out: dict[str, Any] = {"time": timestamp(created), "level": level, "logger": logger, "pid": pid}
    if name is not None:
        out["event"] = name
        for key, value in (fields or {}).items():
            out[key] = value if isinstance(value, (int, float)) else _json_value(value)  # bool is an int
    else:
        out["message"] = message
    if exception:
        out["exception"] = exception
    return orjson.dumps(out).decode()


def _json_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [safe(v) for v in value[:50]]
    return safe(value)


def handler(fmt: str) -> logging.Handler:
    """A stderr handler writing our format."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return out


def configure(level: str, fmt: str) -> None:
    """Send our logs to stderr in the chosen format (idempotent: the app factory may run more than once)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_backpain_cds", False)]:
        root.removeHandler(old)
    ours = handler(fmt)
    ours._backpain_cds = True  # type: ignore[attr-defined]
    root.addHandler(ours)
    root.setLevel(level)
