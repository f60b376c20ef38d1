"""Before each handler: note who is asking and from where, for the events the request appends.

The caller is read cheaply and only for attribution: a JWT by its signature, an API key
from the check the rate limiter already made. Authentication proper stays with `principal`;
a request whose token fails it appends nothing but its own AccessDenied.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request

from api.bootstrap import Container
from api.envelope import request_id
from api.key_principal import CHECKED_KEY, is_api_key
from api.principal import bearer_token, client_address, user_agent
from application.errors import ApplicationError
from infrastructure import request_metadata

Hook = Callable[[Request[Any, Any, Any]], Awaitable[None]]


def caller_id(request: Request[Any, Any, Any], container: Container) -> str | None:
    token = bearer_token(request)
    if token is None:
        return None
    if is_api_key(token):
        checked = request.scope.get("state", {}).get(CHECKED_KEY)
        return str(checked[1].user_id) if checked and checked[0] == token else None
    try:
        return container.accounts.tokens.read_access(token).user_id
    except ApplicationError:
        return None


def note_request_origin(container: Container) -> Hook:
    async def before_request(request: Request[Any, Any, Any]) -> None:
        request_metadata.attach(
            {
                "ip": client_address(request),
                "userAgent": user_agent(request),
                "requestId": request_id(request),
                "userId": caller_id(request, container) or "",
            }
        )

    return before_request
