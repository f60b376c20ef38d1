"""The token a request presents (a bearer header, or `?token=` on a stream route), and
whether it is an API key. Who it names is asked once per request of api/callers.py."""

import re
from urllib.parse import parse_qs

from litestar.types import Scope

from api.scope import header
from domain.api_key import PREFIX


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
