"""What browsers may do with our answers: security headers on every answer, and CORS.

The API serves JSON and event streams, never pages, so the policy is the strictest one:
nothing may be loaded, framed or sniffed from an answer, which also makes an uploaded
file served back (an SVG, say) inert. Headers a handler set itself are left alone, and
the headers are only added (never a body touched), so streams flow as before. The
OpenAPI pages under /schema load their own scripts and get no Content-Security-Policy.
"""

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.settings import Settings

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
CONTENT_SECURITY_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
)
DOCUMENTATION = "/schema"

# Headers a browser script may read from a cross-origin answer.
EXPOSED = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-API-Version",
    "Deprecation",
    "Sunset",
]


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        wanted = HEADERS
        if not scope["path"].startswith(DOCUMENTATION):
            wanted = (*HEADERS, CONTENT_SECURITY_POLICY)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for the origins in LLMCHAT_CORS_ORIGINS; none at all when it is unset."""
    if not settings.cors_origins:
        return None
    origins = [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Accept", "Last-Event-ID", "X-Request-ID"],
        expose_headers=EXPOSED,
        # Bearer tokens, not cookies: credentials mode is never needed.
        allow_credentials=False,
        max_age=600,
    )
