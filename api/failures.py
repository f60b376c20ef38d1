"""Every failure classified once: its HTTP status, the spec's code and error type, what it
is answered with, and whether a client may try again. The envelope, the WebSocket, the
OpenAI door and a reply that failed before its first frame all render this, each its own
way; none decides a status of its own."""

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

import msgspec
import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError
from litestar.exceptions import HTTPException

from application.errors import (
    ApplicationError,
    BadGateway,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from application.files import DrawingTooComplex, FileTooLarge, UnsupportedFormat
from infrastructure.pools import PoolBusy

# HTTP status -> (code, error type). 405, 406, 413 and 415 have no code in the spec's
# table, so they carry the HTTP reason phrase as their code.
CODES: dict[int, tuple[str, str]] = {
    400: ("VALIDATION_ERROR", "ValidationError"),
    401: ("UNAUTHORIZED", "AuthenticationError"),
    403: ("FORBIDDEN", "AuthorizationError"),
    404: ("NOT_FOUND", "NotFoundError"),
    405: ("METHOD_NOT_ALLOWED", "MethodNotAllowedError"),
    406: ("NOT_ACCEPTABLE", "NotAcceptableError"),
    409: ("CONFLICT", "ConflictError"),
    413: ("PAYLOAD_TOO_LARGE", "PayloadTooLargeError"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "UnsupportedMediaTypeError"),
    # Not in the spec's table: a request that is well formed but asks for too much work.
    422: ("VALIDATION_ERROR", "ValidationError"),
    429: ("RATE_LIMITED", "RateLimitError"),
    500: ("INTERNAL_ERROR", "InternalError"),
    502: ("BAD_GATEWAY", "BadGatewayError"),
    503: ("SERVICE_UNAVAILABLE", "ServiceUnavailableError"),
}

# The first class that matches decides, so a subclass comes before its base.
STATUS_OF: dict[type[ApplicationError], int] = {
    DrawingTooComplex: 422,
    ValidationFailed: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    ServiceUnavailable: 503,
    BadGateway: 502,
    FileTooLarge: 413,
    UnsupportedFormat: 415,
}

CLIENT_MESSAGES = {
    400: "Request validation failed",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
}

# Saturated, the database up (infrastructure/pools.py): ask again a little later.
BUSY_RETRY_AFTER = 2

DATABASE_DOWN = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
)

# Why it failed, as far as what else is done about it: a refusal is audited, the others
# are logged (an unexpected one with its traceback).
Cause = Literal["refused", "invalid", "busy", "database down", "unexpected"]


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    message: str
    details: Any
    cause: Cause
    headers: dict[str, str] | None = None
    refusal: str = ""
    """What the audit trail keeps of a refusal."""
    kind: str | None = None
    """The error type when it is not the one its status has (a spent budget's)."""
    retry_after: int | None = None

    @property
    def code(self) -> str:
        return code_of(self.status)[0]

    @property
    def type(self) -> str:
        return self.kind or code_of(self.status)[1]

    @property
    def retryable(self) -> bool:
        """The same request may succeed later (after Retry-After, when given)."""
        return self.status in (429, 503)


def code_of(status: int) -> tuple[str, str]:
    """The spec's code and error type of an HTTP status."""
    return CODES.get(status, (HTTPStatus(status).name, "Error"))


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify(exc: BaseException, request_id: str = "-") -> Failure:
    if isinstance(exc, ApplicationError):
        status = next(s for kind, s in STATUS_OF.items() if isinstance(exc, kind))
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        headers = None if retry_after is None else {"Retry-After": str(retry_after)}
        return Failure(
            status,
            exc.message,
            exc.shown(),
            "refused",
            headers,
            refusal=exc.message,
            kind=exc.kind,
            retry_after=retry_after,
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        details: Any = exc.extra if exc.extra else exc.detail
        message = CLIENT_MESSAGES.get(status, exc.detail)
        return Failure(status, message, details, "refused", exc.headers, str(exc.detail))
    if isinstance(exc, msgspec.ValidationError):
        return Failure(400, "Request validation failed", str(exc), "invalid")
    if caused_by(exc, PoolBusy):
        details = "every database connection stayed in use; try again shortly"
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        return Failure(503, "Server busy", details, "busy", headers)
    if isinstance(exc, DATABASE_DOWN):
        retry = {"Retry-After": "1"}
        return Failure(503, "Database unavailable", "try again shortly", "database down", retry)
    return Failure(500, "Internal server error", f"request id {request_id}", "unexpected")
