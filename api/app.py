"""create_app: the fully wired Litestar application, the same for the server and the tests."""

from litestar import Litestar
from litestar.di import Provide

from api.auth import AuthController
from api.bootstrap import Container
from api.envelope import EXCEPTION_HANDLERS
from api.health import HealthController
from api.principal import provide_admin, provide_principal
from api.request_id import request_id_middleware


def create_app(container: Container) -> Litestar:
    def provide_container() -> Container:
        return container

    return Litestar(
        route_handlers=[AuthController, HealthController],
        dependencies={
            "container": Provide(provide_container, sync_to_thread=False, use_cache=True),
            "principal": Provide(provide_principal),
            "admin": Provide(provide_admin),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware],
        request_max_body_size=container.settings.max_body_bytes,
        on_shutdown=[container.close],
        debug=False,
        # Logging is ours (see api/cli.py); Litestar's own config would replace its handlers.
        logging_config=None,
    )
