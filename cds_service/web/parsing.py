"""Which HTTP/1 parser reads a connection: gunicorn_h1c's (C) for requests framed by Content-Length, gunicorn's own
(Python) for those with a Transfer-Encoding (chunked).

gunicorn's pure-Python parser cost about 28 us of a worker's CPU per hook call (a 26 KB request), the C parser 2.4.
But the C parser checks a chunk extension only for a bare CR (`;ext="unterminated` passed, where the Python parser
answers 400) and answers an unsupported transfer coding with 400, not 501 (tests/test_serve_hostile.py). So a
connection starts on the C parser, and the bytes of the request it is reading are kept until its head is complete;
a head that names a Transfer-Encoding is read, from its first byte, by the Python parser, which reads that connection
from then on. Clients that send chunked bodies are rare; every other request is read in C.
"""

from __future__ import annotations

from typing import Any


class _Chunked(Exception):
    """Raised from the C parser's headers callback: this request is chunked, the Python parser must read it."""


class _PythonParser:
    """The worker's settings, but for the parser: gunicorn's own (`http_parser = "python"`)."""

    def __init__(self, cfg: Any) -> None:
        self._cfg = cfg

    def __getattr__(self, name: str) -> Any:
        return "python" if name == "http_parser" else getattr(self._cfg, name)


class CParserFirst:
    """Mixed into gunicorn's ASGIProtocol (before it), which calls these hooks."""

    _callback_parser: Any
    cfg: Any
    _head: bytearray | None = None  # the request's bytes so far, until its head is complete (C parser only)
    _on_python = False  # this connection's parser is gunicorn's own

    def _setup_callback_parser(self) -> None:
        super()._setup_callback_parser()  # type: ignore[misc]
        self._on_python = type(self._callback_parser).__module__.startswith("gunicorn.")
        self._head = None if self._on_python else bytearray()

    def _feed_callback_parser(self, data: bytes) -> bool:
        head = self._head
        # bytes fed once a message is complete are its pipelined tail: gunicorn takes them back (`remaining`) and
        # feeds them again as the next request's start, which is when they are kept here
        if head is not None and not self._callback_parser.is_complete:
            head += data
            end = head.find(b"\r\n\r\n")
            if b"transfer-encoding" in (head if end < 0 else head[:end]).lower():
                return self._read_in_python()  # before the C parser sees a whole head that names a transfer coding
        try:
            return super()._feed_callback_parser(data)  # type: ignore[misc, no-any-return]
        except _Chunked:
            return self._read_in_python()

    def _read_in_python(self) -> bool:
        """Read this connection from its current request's first byte on with gunicorn's own parser."""
        whole = bytes(self._head or b"")
        original, self.cfg = self.cfg, _PythonParser(self.cfg)
        try:
            self._setup_callback_parser()
        finally:
            self.cfg = original
        return super()._feed_callback_parser(whole)  # type: ignore[misc, no-any-return]

    def _on_headers_complete(self) -> Any:
        if not self._on_python:
            if self._callback_parser.is_chunked:
                raise _Chunked()
            self._head = None  # the body is not kept
        return super()._on_headers_complete()  # type: ignore[misc]

    def _on_message_complete(self) -> None:
        if not self._on_python:
            self._head = bytearray()  # the next request starts
        super()._on_message_complete()  # type: ignore[misc]
