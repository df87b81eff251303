"""Log set-up: text lines (default) or one JSON object per line (BACKPAIN_CDS_LOG_FORMAT=json).

Values a client sent (hookInstance, a path, a rejected claim) go through `safe` before a text line: control
characters escaped, length cut, so a newline cannot forge a line and a 5 MB value is not logged whole. JSON
lines are escaped by the encoder; their fields are cut the same way. No PHI and no tokens are ever passed in.
"""
from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

MAX_VALUE_CHARS = 200


def safe(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """The value as one printable line: non-printable characters escaped (\\n, \\x1b, \\u2028), cut to `limit`."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text + "…" if cut else text


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log an event with fields: `name k=v ...` in text (values made safe), the fields themselves in JSON."""
    if not logger.isEnabledFor(level):
        return
    fields = {k: v for k, v in fields.items() if v is not None}
    text = " ".join(f"{k}={safe(v)}" for k, v in fields.items())
    logger.log(level, "%s %s", name, text, extra={"event_name": name, "event_fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and its fields (cut), or the message."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "pid": record.process}
        name = getattr(record, "event_name", None)
        if name is not None:
            out["event"] = name
            for key, value in record.event_fields.items():  # type: ignore[attr-defined]
                out[key] = value if isinstance(value, int | float | bool) else _cut(value)
        else:
            out["message"] = safe(record.getMessage(), 2000)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()


def _cut(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_cut(v) for v in value[:50]]
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_VALUE_CHARS]


def configure(level: str, fmt: str) -> None:
    """Send our logs to stderr in the chosen format (idempotent: the app factory may run more than once)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_backpain_cds", False)]:
        root.removeHandler(old)
    handler._backpain_cds = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
