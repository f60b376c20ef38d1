"""Exceptions: one class per envelope `code`, all under `LLMChatError`.

An error answer `{code, message, error: {type, details}}` becomes the class named for its
code, carrying the code, message, HTTP status, error type and details. An error frame in
the middle of a stream becomes the same class, with `status` None (the HTTP answer was a 200).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec


class LLMChatError(Exception):
    """Anything the API (or the way to it) refused or failed to do."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "ERROR",
        status: int | None = None,
        error_type: str | None = None,
        details: Any = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.error_type = error_type
        self.details = details
        self.retry_after = retry_after
        """Seconds to wait before trying again, from `Retry-After` (429 and 503)."""
        self.request_id = request_id

    def __str__(self) -> str:
        where = f"HTTP {self.status} " if self.status is not None else ""
        details = f": {self.details}" if self.details and self.details != self.message else ""
        return f"{where}{self.code}: {self.message}{details}"


class ValidationError(LLMChatError):
    """400 VALIDATION_ERROR: the request's parameters failed validation."""


class UnauthorizedError(LLMChatError):
    """401 UNAUTHORIZED: no valid token (after one refresh, if the client could refresh)."""


class ForbiddenError(LLMChatError):
    """403 FORBIDDEN: signed in, but not allowed."""


class NotFoundError(LLMChatError):
    """404 NOT_FOUND."""


class MethodNotAllowedError(LLMChatError):
    """405 METHOD_NOT_ALLOWED."""


class NotAcceptableError(LLMChatError):
    """406 NOT_ACCEPTABLE: the server does not serve the API version asked for."""


class ConflictError(LLMChatError):
    """409 CONFLICT."""


class PayloadTooLargeError(LLMChatError):
    """413 PAYLOAD_TOO_LARGE: e.g. an upload over 10 MiB."""


class UnsupportedMediaTypeError(LLMChatError):
    """415 UNSUPPORTED_MEDIA_TYPE: e.g. a DWG sent to be parsed."""


class RateLimitedError(LLMChatError):
    """429 RATE_LIMITED; `retry_after` says how many seconds to wait."""


class InternalServerError(LLMChatError):
    """500 INTERNAL_ERROR."""


class BadGatewayError(LLMChatError):
    """502 BAD_GATEWAY: the agent's provider answered with nonsense or an error."""


class ServiceUnavailableError(LLMChatError):
    """503 SERVICE_UNAVAILABLE: the database or the agent's provider is unreachable."""


class APIConnectionError(LLMChatError):
    """The server could not be reached, or a stream could not be resumed."""


class APITimeoutError(APIConnectionError):
    """The server took too long to answer."""


ERROR_CLASSES: dict[str, type[LLMChatError]] = {
    "VALIDATION_ERROR": ValidationError,
    "UNAUTHORIZED": UnauthorizedError,
    "FORBIDDEN": ForbiddenError,
    "NOT_FOUND": NotFoundError,
    "METHOD_NOT_ALLOWED": MethodNotAllowedError,
    "NOT_ACCEPTABLE": NotAcceptableError,
    "CONFLICT": ConflictError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError,
    "UNSUPPORTED_MEDIA_TYPE": UnsupportedMediaTypeError,
    "RATE_LIMITED": RateLimitedError,
    "INTERNAL_ERROR": InternalServerError,
    "BAD_GATEWAY": BadGatewayError,
    "SERVICE_UNAVAILABLE": ServiceUnavailableError,
}

CODE_OF_STATUS: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}


class _ErrorInfo(msgspec.Struct):
    type: str | None = None
    details: Any = None


class _ErrorEnvelope(msgspec.Struct):
    code: str
    message: str = ""
    error: _ErrorInfo | None = None


def error_class(code: str) -> type[LLMChatError]:
    return ERROR_CLASSES.get(code, LLMChatError)


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare enough to leave to the caller's own policy


def error_from_response(response: httpx.Response) -> LLMChatError:
    """The exception for an error answer; the body must have been read."""
    status = response.status_code
    fallback_code = CODE_OF_STATUS.get(status) or response.reason_phrase.upper().replace(" ", "_")
    try:
        body = msgspec.json.decode(response.content, type=_ErrorEnvelope)
        code, message = body.code, body.message or response.reason_phrase
        info = body.error or _ErrorInfo()
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Not our envelope (a proxy's page, say): keep the start of it as the details.
        code, message = fallback_code, response.reason_phrase or f"HTTP {status}"
        info = _ErrorInfo(details=response.text[:500] or None)
    return error_class(code)(
        message,
        code=code,
        status=status,
        error_type=info.type,
        details=info.details,
        retry_after=retry_after_of(response),
        request_id=response.headers.get("x-request-id"),
    )


def error_from_frame(data: dict[str, Any]) -> LLMChatError:
    """The exception for an `event: error` frame of a stream."""
    code = str(data.get("code") or "STREAM_ERROR")
    message = str(data.get("message") or "The reply failed")
    return error_class(code)(message, code=code, details=data.get("messageId"))


def connection_error(error: httpx.TransportError) -> APIConnectionError:
    kind = APITimeoutError if isinstance(error, httpx.TimeoutException) else APIConnectionError
    return kind(f"{type(error).__name__}: {error}", code="CONNECTION_ERROR")
