"""One server for the hostile-input suite: real PostgreSQL and Redis, its projections running
in-process, rate limits out of the way (the suite is one busy client), and this client
trusted as a proxy so each sign-in attempt can come from an address of its own."""

import json
from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REDIS_URL
from tests.e2e.chat_fixtures import agents_document
from tests.e2e.hostile.world import EDITABLE_AGENT, PROBE_AGENT, World
from tests.fake_provider import FakeProviderThread
from tests.support.server import ServerProcess

UNLIMITED = str(10**9)


@pytest.fixture(scope="package")
def hostile_fake() -> Iterator[FakeProviderThread]:
    with FakeProviderThread() as fake:
        yield fake


@pytest.fixture(scope="package")
def hostile_env(hostile_fake, make_database, redis_namespace, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    document = agents_document(hostile_fake)
    demo = document["agents"][-1]
    # The probe's own agent: no hostile request ever names it, so a probe that fails says
    # the projections stopped, not that the fuzzing reconfigured the agent it uses. And one
    # for the admin's hostile updates, which no chat uses.
    document["agents"] += [
        {**demo, "id": PROBE_AGENT, "name": "probe"},
        {**demo, "id": EDITABLE_AGENT, "name": "editable"},
    ]
    agents_file = folder / "agents.json"
    agents_file.write_text(json.dumps(document))
    return {
        "LLMCHAT_DATABASE_URL": make_database("hostile"),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}_hostile",
        "LLMCHAT_DATA_DIR": str(folder),
        "LLMCHAT_JWT_SECRET": "hostile-secret-" + "h" * 40,
        "LLMCHAT_AGENTS_FILE": str(agents_file),
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LLMCHAT_RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "LLMCHAT_RATE_LIMIT_USER": UNLIMITED,
        "LLMCHAT_RATE_LIMIT_ENTERPRISE": UNLIMITED,
        "LLMCHAT_TRUSTED_PROXIES": "127.0.0.1/32",
        "LLMCHAT_CAD_JOB_WAIT_SECONDS": "5",
        "LLMCHAT_DB_POOL_SIZE": "4",
        # The slow replies the cancel cases start need not hold up the server's stop.
        "LLMCHAT_SHUTDOWN_GRACE_SECONDS": "1",
    }


@pytest.fixture(scope="package")
def hostile_server(hostile_env) -> Iterator[ServerProcess]:
    process = ServerProcess(hostile_env, args=())  # with its projection workers
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="package")
def world(hostile_server) -> Iterator[World]:
    world = World(hostile_server)
    yield world
    world.close()
