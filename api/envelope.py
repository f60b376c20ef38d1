"""The spec's envelopes, and the one place where every failure becomes one."""

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import Send

from api.access_audit import note_refusal
from api.failures import Failure, classify, code_of
from application.errors import ApplicationError
from domain.timestamps import iso_millis

log = logging.getLogger("llmchat.api")


def now() -> str:
    return iso_millis(datetime.now(UTC))


def success(data: Any, message: str = "OK") -> dict[str, Any]:
    return {"code": "SUCCESS", "message": message, "data": data, "timestamp": now()}


def paginated(items: list[Any], page: int, limit: int, total: int) -> dict[str, Any]:
    pages = (total + limit - 1) // limit if limit else 0
    pagination = {"page": page, "limit": limit, "total": total, "totalPages": pages}
    return success({"items": items, "pagination": pagination})


def error_body(status: int, message: str, details: Any, kind: str | None = None) -> dict[str, Any]:
    code, usual = code_of(status)
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


def failure_of(request: Request[Any, Any, Any], exc: Exception) -> Failure:
    """The failure, classified, and accounted for: a refusal is audited, the rest logged."""
    rid = request_id(request)
    failure = classify(exc, rid)
    match failure.cause:
        case "refused":
            note_refusal(request.scope, security_log_of(request), failure.status, failure.refusal)
        case "busy":
            log.warning("server busy [request %s]: %s", rid, exc)
        case "database down":
            log.warning("database unavailable [request %s]: %s", rid, exc)
        case "unexpected":
            log.error("unexpected error [request %s]", rid, exc_info=exc)
    return failure


def on_failure(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    failure = failure_of(request, exc)
    return error_response(
        failure.status, failure.message, failure.details, failure.headers, failure.kind
    )


EXCEPTION_HANDLERS: Any = dict.fromkeys(
    (ApplicationError, HTTPException, msgspec.ValidationError, Exception), on_failure
)


async def send_error(
    send: Send, status: int, message: str, details: Any, headers: dict[str, str] | None = None
) -> None:
    """An error envelope straight onto an ASGI channel, for middleware that answers early."""
    body = msgspec.json.encode(error_body(status, message, details))
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
