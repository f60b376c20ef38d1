"""Who asks and from where, worked out once per request (or WebSocket), before routing.

The client address (with the trusted-proxy rule), the user agent, the request id and the
token presented are read from the scope here, once; everything after (allow-lists, rate
limits, attribution of events, the audit of refusals, controllers) reads them from the
`RequestContext` kept in the scope's state. Who the token names is asked of `Callers`
(api/callers.py), which keeps the answer in the same context, so a JWT's signature is
checked at most once per request and an API key read once.
"""

from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from api.key_principal import presented_token
from api.scope import user_agent_of
from application.errors import Unauthorized
from application.ports import AccessClaims
from infrastructure.network import Networks, client_address, forwarded_chain

CONTEXT = "llmchat.request"


@dataclass(slots=True)
class RequestContext:
    address: str
    user_agent: str
    token: str | None
    # Filled by Callers.identify: the token's caller (a JWT's signature checked, not yet
    # its revocation; an API key checked in full), or why it names nobody.
    caller: AccessClaims | None = None
    refused: Unauthorized | None = None

    @property
    def user_id(self) -> str | None:
        return None if self.caller is None else self.caller.user_id


def scope_client_address(scope: Scope, trusted_proxies: Networks) -> str:
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    return client_address(peer, forwarded_chain(forwarded), trusted_proxies)


def context_of(scope: Scope) -> RequestContext:
    """The request's context; a scope that never met the middleware (a test's bare ASGI
    call) gets one worked out now, trusting no proxy."""
    state: dict[str, Any] = scope.setdefault("state", {})
    context = state.get(CONTEXT)
    if context is None:
        context = state[CONTEXT] = context_for(scope, Networks.parse(None))
    assert isinstance(context, RequestContext)
    return context


def context_for(scope: Scope, trusted_proxies: Networks) -> RequestContext:
    return RequestContext(
        address=scope_client_address(scope, trusted_proxies),
        user_agent=user_agent_of(scope),
        token=presented_token(scope),
    )


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "-"))


def request_context_middleware(trusted_proxies: Networks) -> Any:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in (ScopeType.HTTP, ScopeType.WEBSOCKET):
                state: dict[str, Any] = scope.setdefault("state", {})
                state[CONTEXT] = context_for(scope, trusted_proxies)
            await app(scope, receive, send)

        return middleware

    return wrap
