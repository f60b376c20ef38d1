"""What every request meets before routing, outermost first.

Litestar runs its `middleware` only once a route has matched; these must also see
requests that match none (a 404 flood is still counted and limited) and must rewrite
the path before routing (versioning), so they wrap the app's router itself.

  admission (chats only) -> request id -> metrics -> security headers -> versioning
    -> request context -> allow-lists -> rate limit
"""

from litestar import Litestar

from api.admission import admission_middleware
from api.bootstrap import Container
from api.metrics import http_metrics_middleware
from api.network_policy import NetworkPolicy, network_policy_middleware
from api.rate_limit import rate_limit_middleware
from api.request_context import request_context_middleware
from api.request_id import request_id_middleware
from api.security_headers import security_headers_middleware
from api.versioning import versioning_middleware


def wrap_router(app: Litestar, container: Container) -> Litestar:
    policy = NetworkPolicy.of(container.settings)
    layers = [
        # A chat's place among those starting at once covers the loop work below it too.
        admission_middleware(container.chat.admission, container.settings.max_body_bytes),
        request_id_middleware,  # first: every answer below carries its id
        http_metrics_middleware,  # refusals below are counted and timed too
        security_headers_middleware,
        versioning_middleware,  # the allow-lists see /api/admin, not /api/v1/admin
        # Address, user agent and token, read once for everything below and the handlers.
        request_context_middleware(policy.trusted_proxies),
        network_policy_middleware(policy, container.security_log),
        rate_limit_middleware(container.rate_limits),  # last: a refused address costs no Redis call
    ]
    handler = app.asgi_handler
    for layer in reversed(layers):
        handler = layer(handler)
    app.asgi_handler = handler
    return app
