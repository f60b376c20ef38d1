"""API versions, before routing: `/api/v1/...` and `Accept: application/vnd.llmchat.v1+json`.

`/api/v1/x` is rewritten to `/api/x`, so every route answers under both without being
declared twice. An Accept header that asks only for versions we do not serve is 406; one
that also accepts plain JSON (or anything) gets v1. Every /api answer says which version
it is (`X-API-Version`).

A handler is retired in two steps: mark it `opt=deprecated(since=...)` and every answer
carries `Deprecation` (RFC 9745) and `Sunset` (RFC 8594, at least three months later, as
the spec promises); after the sunset, remove it.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.envelope import send_error

CURRENT = "v1.0"
SERVED = frozenset({"1", "1.0"})
NOTICE = timedelta(days=92)  # "deprecations announced 3 months ahead"

URL_VERSION = re.compile(r"^/api/v(\d+(?:\.\d+)?)(?=/|$)")
RAW_URL_VERSION = re.compile(rb"^/api/v\d+(?:\.\d+)?(?=/|$)")
VENDOR_TYPE = re.compile(r"^application/vnd\.llmchat(?:\.v(\d+(?:\.\d+)?))?\+json$")


@dataclass(frozen=True, slots=True)
class Deprecation:
    since: datetime
    sunset: datetime
    successor: str | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"deprecation", f"@{int(self.since.timestamp())}".encode()),
            (b"sunset", format_datetime(self.sunset, usegmt=True).encode()),
        ]
        if self.successor:
            headers.append((b"link", f'<{self.successor}>; rel="successor-version"'.encode()))
        return headers


def deprecated(
    since: datetime, sunset: datetime | None = None, successor: str | None = None
) -> dict[str, Any]:
    """A handler's `opt` marking it deprecated; the sunset defaults to three months on."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    sunset = sunset or since + NOTICE
    sunset = sunset if sunset.tzinfo else sunset.replace(tzinfo=UTC)
    if sunset < since + timedelta(days=90):
        raise ValueError("a sunset is announced at least three months after the deprecation")
    return {"deprecation": Deprecation(since.astimezone(UTC), sunset.astimezone(UTC), successor)}


def accepted(accept: str) -> bool:
    """False only when every media range names an llmchat version we do not serve."""
    if "vnd.llmchat" not in accept:
        return True
    for media_range in accept.split(","):
        media_type = media_range.split(";", 1)[0].strip().lower()
        match = VENDOR_TYPE.match(media_type)
        if match is None or match.group(1) is None or match.group(1) in SERVED:
            return True
    return False


def versioning_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await app(scope, receive, send)
            return
        path = scope["path"]
        match = URL_VERSION.match(path)
        if match is not None:
            if match.group(1) not in SERVED:
                await send_error(send, 404, "Unknown API version", f"v{match.group(1)}")
                return
            scope["path"] = "/api" + path[match.end() :]
            raw_path = scope.get("raw_path")
            if raw_path:
                scope["raw_path"] = RAW_URL_VERSION.sub(b"/api", raw_path, count=1)
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/api"):
            await app(scope, receive, send)
            return
        accept = b",".join(v for k, v in scope["headers"] if k == b"accept").decode("latin-1")
        if not accepted(accept):
            await send_error(send, 406, "API version not served", f"this server serves {CURRENT}")
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-api-version", CURRENT.encode())]
                handler = scope.get("route_handler")
                notice = handler.opt.get("deprecation") if handler is not None else None
                if isinstance(notice, Deprecation):
                    extra += notice.headers()
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await app(scope, receive, send_with_version)

    return middleware
