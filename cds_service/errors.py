"""Every error we raise on purpose, each with its HTTP status and a stable code; messages carry no PHI."""

from __future__ import annotations


class CdsError(Exception):
    """Base of our deliberate errors; `status` is the HTTP status, `code` a stable machine-readable name."""

    status = 500
    code = "internal-error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_json(self) -> dict[str, object]:
        """The error body: `error` (code), `message`, and any details, plus an OperationOutcome (CDS Hooks 3.0)."""
        body: dict[str, object] = {"error": self.code, "message": self.message, **self.details}
        body["operationOutcome"] = {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": _ISSUE_CODES.get(self.status, "processing"), "diagnostics": self.message}
            ],
        }
        return body


class BadHookRequest(CdsError, ValueError):
    """400: the request body is not a valid CDS Hooks request; `field` names what is wrong."""

    status = 400
    code = "bad-request"


class Unauthorized(CdsError):
    """401: the client JWT is missing or invalid (no detail on why, per CDS Hooks best practice)."""

    status = 401
    code = "unauthorized"


class UnknownService(CdsError, LookupError):
    """404: no service with that id."""

    status = 404
    code = "unknown-service"


class MethodNotAllowed(CdsError):
    """405: the endpoint exists but not for this method."""

    status = 405
    code = "method-not-allowed"


class PrefetchUnavailable(CdsError):
    """412: data the rules need could be had neither from prefetch nor from the FHIR server."""

    status = 412
    code = "prefetch-unavailable"


class PayloadTooLarge(CdsError):
    """413: the body is over the configured limit."""

    status = 413
    code = "payload-too-large"


class UnsupportedMediaType(CdsError):
    """415: the body is declared as something other than JSON."""

    status = 415
    code = "unsupported-media-type"


class ServiceUnavailable(CdsError):
    """503: a store this call depends on (the replay cache, the database) cannot be used; fail closed."""

    status = 503
    code = "unavailable"


class ConfigError(CdsError):
    """Start-up: a BACKPAIN_CDS_* setting is invalid or unknown."""

    code = "config-error"


_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    404: "not-found",
    405: "not-supported",
    412: "incomplete",
    413: "too-costly",
    415: "not-supported",
    503: "transient",
}
