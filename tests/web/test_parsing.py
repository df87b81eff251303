"""The worker reads requests with gunicorn_h1c's C parser (web/parsing.py, web/serving.py): chosen for every
connection, then given up for gunicorn's own parser on a connection whose request names a Transfer-Encoding
(the behaviour on real sockets is in tests/test_serve_hostile.py)."""

from __future__ import annotations

from typing import Any

from gunicorn.asgi.parser import PythonProtocol
from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.config import Config
from gunicorn_h1c import H1CProtocol

from cds_service.web.serving import worker_class


def protocol() -> Any:
    """A connection's protocol without a worker or a socket: only its parser's choice is looked at."""
    cls = worker_class().protocol
    conn = cls.__new__(cls)
    conn.cfg = Config()
    conn.transport = None
    return conn


def test_gunicorn_h1c_is_found_where_gunicorn_looks_for_it():
    worker_class()
    assert ASGIProtocol._h1c_available and ASGIProtocol._h1c_has_limits
    assert ASGIProtocol._h1c_protocol_class is H1CProtocol


def test_a_connection_starts_on_the_c_parser_and_keeps_the_head_of_its_request():
    conn = protocol()
    conn._setup_callback_parser()
    assert type(conn._callback_parser) is H1CProtocol and conn._head == bytearray()


def test_a_head_that_names_a_transfer_coding_is_read_again_by_gunicorn_s_parser(monkeypatch):
    conn = protocol()
    conn._setup_callback_parser()
    fed: list[bytes] = []
    monkeypatch.setattr(ASGIProtocol, "_feed_callback_parser", lambda self, data: fed.append(data) or True)
    conn._feed_callback_parser(b"POST /x HTTP/1.1\r\nHost: x\r\n")  # the head so far: still the C parser's
    assert type(conn._callback_parser) is H1CProtocol
    conn._feed_callback_parser(b"TRANSFER-encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert type(conn._callback_parser) is PythonProtocol and conn._head is None
    assert fed[-1] == b"POST /x HTTP/1.1\r\nHost: x\r\nTRANSFER-encoding: chunked\r\n\r\n3\r\nabc\r\n"  # whole
