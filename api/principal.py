"""Who is calling: the request's caller authenticated (api/callers.py), and the admin gate."""

from typing import Any

from anyio import to_thread
from litestar import Request
from litestar.types import Scope

from api.callers import Callers
from api.dependencies import AccountsDep, CallerDep, CallersDep
from api.rate_limit import EARLY_REVOCATION
from api.request_context import context_of
from application.accounts import stored_role
from application.api_keys import ApiKeyClaims
from application.errors import Forbidden
from application.ports import AccessClaims


async def provide_principal(request: Request[Any, Any, Any], callers: CallersDep) -> AccessClaims:
    return await authenticated(request.scope, callers)


async def authenticated(scope: Scope, callers: Callers, token: str | None = None) -> AccessClaims:
    """The caller a token names, an API key or an access token: the same on every door
    (HTTP's bearer, the WebSocket's `?token=` or auth message)."""
    # Taken, not read: the request keeps its state for as long as it streams.
    early = scope.get("state", {}).pop(EARLY_REVOCATION, None)
    return await callers.authenticate(context_of(scope), token, early)


async def provide_admin(principal: CallerDep, accounts: AccountsDep) -> AccessClaims:
    """An API key's role is read with the key; a token's is asked of the store, so a
    demoted administrator is refused with the next request on every instance."""
    role: str | None = principal.role
    if role == "admin" and not isinstance(principal, ApiKeyClaims):
        role = await to_thread.run_sync(stored_role, accounts.store, principal.user_id)
    if role != "admin":
        raise Forbidden("Administrator role required")
    return principal
