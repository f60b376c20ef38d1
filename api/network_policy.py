"""IP allow-lists, before routing: every route (LLMCHAT_ALLOW_CIDRS) and admin routes
(LLMCHAT_ADMIN_ALLOW_CIDRS) answer 403 to addresses outside them.

The client address is the request context's (api/request_context.py), worked out once
with the trusted-proxy rule before these run.
"""

from collections.abc import Callable
from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import normalize_path

from api.access_audit import note_refusal
from api.envelope import send_error
from api.request_context import context_of
from application.security_log import SecurityLog
from infrastructure.network import Networks
from infrastructure.settings import Settings


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    allow: Networks
    admin_allow: Networks
    trusted_proxies: Networks

    @classmethod
    def of(cls, settings: Settings) -> "NetworkPolicy":
        return cls(
            Networks.parse(settings.allow_cidrs),
            Networks.parse(settings.admin_allow_cidrs),
            Networks.parse(settings.trusted_proxies),
        )


def is_admin_route(method: str, path: str) -> bool:
    """Routes that change what everyone sees or reveal how the system runs."""
    path = normalize_path(path)  # as the router will: "/api//admin/" is "/api/admin"
    if path == "/api/admin" or path.startswith("/api/admin/") or path == "/metrics":
        return True
    if method == "PUT" and path.startswith("/api/agents/"):
        return True
    return method == "POST" and path == "/api/agents/reload"


def network_policy_middleware(
    policy: NetworkPolicy, security_log: SecurityLog | None = None
) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
                await app(scope, receive, send)
                return
            address = context_of(scope).address
            method = str(scope.get("method", "GET"))
            if not policy.allow.allows(address) or (
                policy.admin_allow
                and is_admin_route(method, scope["path"])
                and not policy.admin_allow.contains(address)
            ):
                note_refusal(scope, security_log, 403, "address not in the allow-list")
                if scope["type"] == ScopeType.WEBSOCKET:
                    await send({"type": "websocket.close", "code": 1008, "reason": "address"})
                    return
                details = f"{address} is not in the allow-list"
                await send_error(send, 403, "Access from this address is not allowed", details)
                return
            await app(scope, receive, send)

        return middleware

    return wrap
