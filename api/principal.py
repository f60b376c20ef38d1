"""Who is calling: the bearer token read once per request, and the admin-only gate."""

from typing import Any

from anyio import to_thread
from litestar import Request
from litestar.di import NamedDependency

from api.bootstrap import Container
from application.authenticate import authenticate
from application.errors import Forbidden, Unauthorized
from application.ports import AccessClaims


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def provide_principal(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> AccessClaims:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Authentication required", "missing bearer token")
    return await to_thread.run_sync(authenticate, container.accounts, token)


async def provide_admin(principal: NamedDependency[AccessClaims]) -> AccessClaims:
    if principal.role != "admin":
        raise Forbidden("Administrator role required")
    return principal


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def user_agent(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("user-agent", "")[:256]
