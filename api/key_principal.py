"""An API key as the caller: checked once per request, by whichever part asks first.

The rate limiter needs to know the key before routing and the handler's `principal`
after; both come here, so a request with a key costs one read of the key's stream.
"""

import re
from typing import Any
from urllib.parse import parse_qs

from anyio import to_thread
from litestar.types import Scope

from api.bootstrap import Container
from api.network_policy import CLIENT_ADDRESS
from api.scope import header, user_agent_of
from application.api_keys import ApiKeyClaims
from application.authenticate_api_key import AuthenticateApiKey, authenticate_api_key
from domain.api_key import PREFIX

CHECKED_KEY = "api_key_claims"


def is_api_key(token: str) -> bool:
    return token.startswith(PREFIX)


# A browser's EventSource sends no headers: the stream routes also take `?token=`, as the
# WebSocket does. Only there, so a token in a URL stays the exception (URLs end up in logs).
STREAM_ROUTE = re.compile(r"^/api(?:/v\d+(?:\.\d+)?)?/chat/streams/")


def presented_token(scope: Scope) -> str | None:
    """The token a request presents: `Authorization: Bearer`, or `?token=` on a stream route."""
    return bearer(scope) or stream_query_token(scope)


def stream_query_token(scope: Scope) -> str | None:
    if not STREAM_ROUTE.match(scope["path"]):
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    token = next(iter(parse_qs(query).get("token", [])), "").strip()
    return token or None


def bearer(scope: Scope) -> str | None:
    scheme, _, token = header(scope, b"authorization").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def key_claims(scope: Scope, container: Container, token: str) -> ApiKeyClaims:
    """The key's principal; raises Unauthorized for an unknown, wrong or revoked key."""
    state: dict[str, Any] = scope.setdefault("state", {})
    checked = state.get(CHECKED_KEY)
    if checked is not None and checked[0] == token:
        claims: ApiKeyClaims = checked[1]
        return claims
    client = scope.get("client")
    address = state.get(CLIENT_ADDRESS) or (client[0] if client else "unknown")
    command = AuthenticateApiKey(token, address, user_agent_of(scope))
    claims = await to_thread.run_sync(authenticate_api_key, container.api_keys, command)
    state[CHECKED_KEY] = (token, claims)
    return claims
