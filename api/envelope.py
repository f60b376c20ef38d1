"""The spec's envelopes, and the one place where every failure becomes one."""

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import msgspec
import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import Send

from api.access_audit import note_refusal
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
from domain.timestamps import iso_millis
from infrastructure.pools import PoolBusy

log = logging.getLogger("llmchat.api")

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

# Saturated, the database up (infrastructure/pools.py): ask again a little later.
BUSY_RETRY_AFTER = 2

DATABASE_DOWN = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
)


def now() -> str:
    return iso_millis(datetime.now(UTC))


def success(data: Any, message: str = "OK") -> dict[str, Any]:
    return {"code": "SUCCESS", "message": message, "data": data, "timestamp": now()}


def paginated(items: list[Any], page: int, limit: int, total: int) -> dict[str, Any]:
    pages = (total + limit - 1) // limit if limit else 0
    pagination = {"page": page, "limit": limit, "total": total, "totalPages": pages}
    return success({"items": items, "pagination": pagination})


def error_body(status: int, message: str, details: Any, kind: str | None = None) -> dict[str, Any]:
    code, usual = CODES.get(status, (HTTPStatus(status).name, "Error"))
    kind = kind or usual
    return {
        "code": code,
        "message": message,
        "error": {"type": kind, "details": details},
        "timestamp": now(),
    }


def error_response(
    status: int,
    message: str,
    details: Any,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
) -> Response[Any]:
    body = error_body(status, message, details, kind)
    return Response(body, status_code=status, headers=headers)


def request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def security_log_of(request: Request[Any, Any, Any]) -> Any:
    """Where refusals are recorded (an app built without one records none)."""
    return request.app.state.get("security_log")


def on_application_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ApplicationError)
    status = next(s for kind, s in STATUS_OF.items() if isinstance(exc, kind))
    note_refusal(request.scope, security_log_of(request), status, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(status, exc.message, exc.shown(), headers, exc.kind)


def on_http_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= 500:
        return on_unexpected(request, exc)
    note_refusal(request.scope, security_log_of(request), status, str(exc.detail))
    details: Any = exc.extra if exc.extra else exc.detail
    message = CLIENT_MESSAGES.get(status, exc.detail)
    return error_response(status, message, details, exc.headers)


CLIENT_MESSAGES = {
    400: "Request validation failed",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
}


def on_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable [request %s]: %s", request_id(request), exc)
    return error_response(503, "Database unavailable", "try again shortly", {"Retry-After": "1"})


def on_server_busy(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("server busy [request %s]: %s", request_id(request), exc)
    return error_response(
        503,
        "Server busy",
        "every database connection stayed in use; try again shortly",
        {"Retry-After": str(BUSY_RETRY_AFTER)},
    )


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if caused_by(exc, PoolBusy):
        return on_server_busy(request, exc)
    if isinstance(exc, DATABASE_DOWN):
        return on_database_down(request, exc)
    rid = request_id(request)
    log.error("unexpected error [request %s]", rid, exc_info=exc)
    return error_response(500, "Internal server error", f"request id {rid}")


EXCEPTION_HANDLERS: Any = {
    ApplicationError: on_application_error,
    HTTPException: on_http_exception,
    msgspec.ValidationError: lambda r, e: error_response(400, "Request validation failed", str(e)),
    Exception: on_unexpected,
}


async def send_error(
    send: Send, status: int, message: str, details: Any, headers: dict[str, str] | None = None
) -> None:
    """An error envelope straight onto an ASGI channel, for middleware that answers early."""
    body = msgspec.json.encode(error_body(status, message, details))
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
