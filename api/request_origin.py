"""Before each handler: note who is asking and from where, for the events the request appends.

All of it is the request context's (api/request_context.py): the caller as the rate limiter
identified it (a JWT by its signature, an API key by its check), for attribution only.
Authentication proper stays with `principal`; a request whose token fails it appends
nothing but its own AccessDenied.
"""

from typing import Any

from litestar import Request

from api.request_context import context_of, request_id_of
from infrastructure import request_metadata


async def note_request_origin(request: Request[Any, Any, Any]) -> None:
    context = context_of(request.scope)
    request_metadata.attach(
        {
            "ip": context.address,
            "userAgent": context.user_agent,
            "requestId": request_id_of(request.scope),
            "userId": context.user_id or "",
        }
    )
