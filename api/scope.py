"""Reading a request straight from its ASGI scope, and what events keep of it.

Imports nothing of the API's own, so the middleware and the error envelope can use it.
"""

from litestar.types import Scope

from domain.text import storable

# How much of a request's User-Agent and path an event keeps.
MAX_USER_AGENT = 256
MAX_PATH = 512


def header(scope: Scope, name: bytes) -> str:
    """A request header straight from the ASGI scope (`name` in lower case): Litestar's
    `request.headers` builds a multidict that stays with the request, for minutes when
    it is a stream."""
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), "")


def user_agent_of(scope: Scope) -> str:
    """The User-Agent header as events keep it: cleaned of what no event holds, bounded."""
    return storable(header(scope, b"user-agent"), MAX_USER_AGENT)


def path_of(scope: Scope) -> str:
    """The request's (percent-decoded) path as events keep it."""
    return storable(str(scope.get("path", "")), MAX_PATH)
