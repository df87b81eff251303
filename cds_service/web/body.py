"""Reading a request body: JSON only, bounded by BACKPAIN_CDS_MAX_BODY_BYTES whether chunked or not."""

from __future__ import annotations

from typing import Any

import orjson
from flask import current_app, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

from ..errors import BadHookRequest, PayloadTooLarge, UnsupportedMediaType
from ..fhir.http_fetch import json_values
from ..logs import safe


def _is_json(mimetype: str) -> bool:
    """application/json or application/*+json; parameters such as charset were already stripped."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


PARSED = "backpain_cds.json"  # environ key: the body's JSON, decoded by the worker before the app ran (offload.py)


def read_json_body() -> Any:
    """The decoded JSON body; 415 when declared as something else (no Content-Type at all is read as JSON, as some
    EHR clients send), 413 past BACKPAIN_CDS_MAX_BODY_BYTES, chunked or not, 400 when it is not JSON or its chunked
    encoding is broken (gunicorn then closes the connection: where the next request would start is unknown)."""
    settings = current_app.extensions["backpain_cds"].settings
    return read_json(request.environ, settings.max_body_bytes, settings.max_json_values)


def read_json(environ: dict[str, Any], limit: int, most: int) -> Any:
    """`read_json_body` for a WSGI environ, with or without Flask (web/hook_calls.py): the header and the body read
    as werkzeug's request reads them (the app sets no MAX_CONTENT_LENGTH)."""
    content_type = environ.get("CONTENT_TYPE")
    if content_type is not None and not _is_json(mimetype := parse_options_header(content_type)[0].lower()):
        raise UnsupportedMediaType(
            f"the body must be JSON (application/json), not {safe(mimetype, 100)!r}", field="Content-Type"
        )
    length = get_content_length(environ)
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    if PARSED in environ:  # the worker decoded this very body, within the same limits (`decode`)
        return environ[PARSED]
    try:  # a chunked body has no Content-Length: read one byte past the limit
        data = get_input_stream(environ).read(limit + 1)
    except (ParseException, OSError):  # gunicorn: a bad chunk size, extension or terminator, or the body broke off
        raise BadHookRequest(
            "the request body is malformed (broken chunked encoding, or it ended early)", field="(body)"
        ) from None
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return decode(data, most)


def decode(data: bytes, most: int) -> Any:
    """The JSON of a whole body already within the byte limit: 400 when it is empty or not JSON, 413 past `most`
    JSON values (BACKPAIN_CDS_MAX_JSON_VALUES), counted before parsing."""
    if not data:
        raise BadHookRequest("the request body is empty; send a JSON object", field="(body)")
    # counted before parsing (10 MB of `{},` would take 300 MB parsed); at most one value per byte plus one, so a
    # body shorter than the limit cannot exceed it: not counted (three passes over a 200 KB body cost 0.25 ms)
    if len(data) >= most and json_values(data) > most:
        raise PayloadTooLarge(
            f"the request body holds more than {most} JSON values (BACKPAIN_CDS_MAX_JSON_VALUES)",
            field="(body)",
            limit=most,
        )
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadHookRequest(
            f"the request body is not valid JSON ({exc.msg} at character {exc.pos})", field="(body)"
        ) from None
