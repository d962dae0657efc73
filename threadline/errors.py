"""The ThreadlineError tree and the one problem+json renderer (reference §2.5).

    ThreadlineError                    status  code
    ├── BadRequest                     400     bad_request
    ├── Unauthorized                   401     unauthorized
    ├── Forbidden                      403     forbidden
    ├── NotFound                       404     not_found
    ├── MethodNotAllowed               405     method_not_allowed
    ├── RequestTimeout                 408     request_timeout
    ├── Conflict                       409     conflict
    ├── PayloadTooLarge                413     payload_too_large
    ├── UnsupportedMediaType           415     unsupported_media_type
    ├── HeadTooLarge                   431     request_header_fields_too_large
    ├── Unprocessable                  422     unprocessable_entity
    │   └── QueryTimeout(seconds)      422     unprocessable_entity
    ├── TooManyRequests(retry_after)   429     too_many_requests
    ├── InternalError                  500     internal_server_error
    └── Unavailable(retry_after)       503     service_unavailable

Every error answer in threadline is built by `problem_response`, and nowhere else.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
_LEGACY_MESSAGE_LIMIT = 100


class FieldViolation(msgspec.Struct, frozen=True):
    """One reason a request body was refused: where (`$.messages[0].role`) and why."""

    field: str
    message: str


class ThreadlineError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_server_error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        violations: list[FieldViolation] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.violations = violations or []
        self.headers = headers or {}
        super().__init__(self.detail)


class BadRequest(ThreadlineError):
    status, code, title = 400, "bad_request", "Bad Request"


class Unauthorized(ThreadlineError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ThreadlineError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(ThreadlineError):
    status, code, title = 404, "not_found", "Not Found"


class MethodNotAllowed(ThreadlineError):
    status, code, title = 405, "method_not_allowed", "Method Not Allowed"


class RequestTimeout(ThreadlineError):
    """The request body did not arrive in time. The reference's status table (§2.5) has no
    408, so the code is ours, spelled like its siblings; the connection is closed, because
    the rest of the body may still be on its way (RFC 9110 §15.5.9)."""

    status, code, title = 408, "request_timeout", "Request Timeout"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class Conflict(ThreadlineError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ThreadlineError):
    status, code, title = 413, "payload_too_large", "Payload Too Large"


class UnsupportedMediaType(ThreadlineError):
    status, code, title = 415, "unsupported_media_type", "Unsupported Media Type"


class HeadTooLarge(ThreadlineError):
    """The request line and headers together exceed the bound on heads (threadline.protocol).
    Not in the reference's status table (§2.5) either; the code is the status phrase in snake
    case, like 408's, and the connection is closed: the rest of the head may be on its way."""

    status, code, title = 431, "request_header_fields_too_large", "Request Header Fields Too Large"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class Unprocessable(ThreadlineError):
    status, code, title = 422, "unprocessable_entity", "Unprocessable Entity"


class QueryTimeout(Unprocessable):
    """An analytic read stopped at its deadline (THREADLINE_QUERY_TIMEOUT_SECONDS). 422, not
    503: a query that took too long once will take too long again, so the client should narrow
    it rather than retry it (docs/decisions.md)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The query took longer than {seconds:g} s and was stopped; narrow it "
            "(a shorter period, fewer conditions) and try again."
        )
        self.seconds = seconds


class TooManyRequests(ThreadlineError):
    status, code, title = 429, "too_many_requests", "Too Many Requests"

    def __init__(
        self, detail: str | None = None, *, retry_after: int = 1, reason: str = "rate_limit"
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
        # Which limit refused, for the metrics (threadline_refusals_total); never sent.
        self.reason = reason


class InternalError(ThreadlineError):
    status, code, title = 500, "internal_server_error", "Internal Server Error"


class Unavailable(ThreadlineError):
    status, code, title = 503, "service_unavailable", "Service Unavailable"

    def __init__(
        self, detail: str | None = None, *, retry_after: int = 1, reason: str = "unavailable"
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
        # Which limit or outage refused, for the metrics (threadline_refusals_total); never sent.
        self.reason = reason


class ResponseCut(Exception):
    """Ends a streamed answer whose status line is sent already (an export past its deadline):
    the server drops the connection before the last chunk, so the client sees an incomplete
    body rather than a shorter file that looks whole. Raised after the cause was logged."""


_BY_STATUS: dict[int, type[ThreadlineError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        TooManyRequests,
        InternalError,
        Unavailable,
    )
}


def error_for_status(status: int, detail: str | None = None) -> ThreadlineError:
    """The ThreadlineError for an HTTP status raised by the framework (unknown route, ...)."""
    return _BY_STATUS.get(status, InternalError)(detail)


def _legacy_message(detail: str) -> str:
    # Inkeep's sibling service truncates the legacy message to 100 characters (reference §2.5).
    if len(detail) <= _LEGACY_MESSAGE_LIMIT:
        return detail
    return detail[: _LEGACY_MESSAGE_LIMIT - 3] + "..."


def problem_body(
    error: ThreadlineError, *, instance: str, request_id: str | None = None
) -> dict[str, Any]:
    """The problem+json body; without a request_id for the items of a batch answer."""
    body: dict[str, Any] = {
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "code": error.code,
        "error": {"code": error.code, "message": _legacy_message(error.detail)},
    }
    if request_id is not None:
        body["requestId"] = request_id
    if error.violations:
        # An RFC 9457 extension member: every violation, machine-readable.
        body["errors"] = error.violations
    return body


def problem_response(error: ThreadlineError, *, instance: str, request_id: str) -> Response:
    headers = {
        "X-Request-ID": request_id,
        "X-Content-Type-Options": "nosniff",
        **error.headers,
    }
    return Response(
        msgspec.json.encode(problem_body(error, instance=instance, request_id=request_id)),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )
