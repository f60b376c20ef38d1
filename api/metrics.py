"""GET /metrics (an admin, or an API key with the `metrics` scope), and the HTTP metrics.

Requests are counted by route template (`/api/agents/{agentId}`), never by raw path, so
the number of series stays bounded whatever clients send; paths no route matches share
the label `unmatched`.
"""

import re
import time
from typing import Any

from anyio import to_thread
from litestar import Litestar, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.dependencies import CallerDep, DatastoreDep
from application.api_keys import ApiKeyClaims
from application.errors import Forbidden
from application.ports import AccessClaims
from infrastructure import metrics

PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
UNMATCHED = "unmatched"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def route_label(template: str) -> str:
    """`/api/agents/{agent_id:str}` -> `/api/agents/{agentId}`, as the spec writes it."""
    return PARAMETER.sub(lambda m: "{" + camel(m.group(1)) + "}", template)


def route_of(scope: Scope) -> str:
    template = scope.get("path_template")
    if template is None:
        # Refused before routing (429, 403): find what it would have matched.
        app: Litestar | None = scope.get("litestar_app")
        try:
            assert app is not None
            template = app.asgi_router.handle_routing(scope["path"], scope.get("method"))[4]
        except Exception:  # no such route, or no such method on it
            return UNMATCHED
    return route_label(str(template))


def http_metrics_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        def count(status: int) -> None:
            method, route = scope["method"], route_of(scope)
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUEST_SECONDS.labels(method, route).observe(elapsed)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()

        async def send_timed(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                count(message["status"])
                # The server's own share of the answer, for clients and benchmarks to tell
                # apart from the network's (W3C Server-Timing).
                spent = (time.perf_counter() - started) * 1000
                timing = (b"server-timing", b"app;dur=%.2f" % spent)
                message["headers"] = [*message.get("headers", []), timing]
            await send(message)

        try:
            await app(scope, receive, send_timed)
        finally:
            if not answered:  # it failed before answering: the server will say 500
                count(500)

    return middleware


def may_read_metrics(principal: AccessClaims) -> bool:
    if principal.role == "admin":
        return True
    return isinstance(principal, ApiKeyClaims) and "metrics" in principal.scopes


@get("/metrics", include_in_schema=False)
async def read_metrics(principal: CallerDep, datastore: DatastoreDep) -> Response[Any]:
    if not may_read_metrics(principal):
        raise Forbidden("Metrics need an administrator or an API key with the metrics scope")
    text = await to_thread.run_sync(metrics.exposition, datastore)
    return Response(text, media_type=metrics.CONTENT_TYPE)
