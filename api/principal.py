"""Who is calling: the bearer token read once per request, and the admin-only gate."""

from typing import Any

from litestar import Request
from litestar.types import Scope

from api.bootstrap import Container
from api.dependencies import CallerDep, ContainerDep
from api.key_principal import is_api_key, key_claims, presented_token
from api.network_policy import CLIENT_ADDRESS
from api.rate_limit import EARLY_REVOCATION
from api.scope import user_agent_of
from application.authenticate import authenticate
from application.errors import Forbidden, Unauthorized
from application.ports import AccessClaims


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    return presented_token(request.scope)


async def provide_principal(
    request: Request[Any, Any, Any], container: ContainerDep
) -> AccessClaims:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Authentication required", "missing bearer token")
    return await claims_of(request.scope, container, token)


async def claims_of(scope: Scope, container: Container, token: str) -> AccessClaims:
    """The caller a token names, an API key or an access token: the same on every door
    (HTTP's bearer, the WebSocket's `?token=` or auth message)."""
    if is_api_key(token):
        return await key_claims(scope, container, token)
    # Taken, not read: the request keeps its state for as long as it streams.
    early = scope.get("state", {}).pop(EARLY_REVOCATION, None)
    revocations = early or container.revocation_check
    return await authenticate(container.accounts.tokens, revocations, container.known_users, token)


async def provide_admin(principal: CallerDep) -> AccessClaims:
    if principal.role != "admin":
        raise Forbidden("Administrator role required")
    return principal


def client_address(request: Request[Any, Any, Any]) -> str:
    # Worked out before routing, trusting X-Forwarded-For only from LLMCHAT_TRUSTED_PROXIES.
    address = request.scope.get("state", {}).get(CLIENT_ADDRESS)
    if address:
        return str(address)
    return request.client.host if request.client else "unknown"


def user_agent(request: Request[Any, Any, Any]) -> str:
    return user_agent_of(request.scope)
