"""Shared fixtures: a database and a Redis namespace of this run's own, and a live server."""

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from tests.fake_provider import FakeProviderThread
from tests.support.server import ServerProcess

PG_ADMIN_URL = os.environ.get("LLMCHAT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LLMCHAT_TEST_REDIS", "redis://127.0.0.1:6379/0")
ADMIN_EMAIL = "admin@llmchat.test"
ADMIN_PASSWORD = "admin-password-1"
JWT_SECRET = "test-secret-" + "x" * 40
# The shared server's agent keys: tests check that neither ever appears in an answer.
AGENT_LITERAL_KEY = "sk-shared-literal-" + "k" * 24
AGENT_ENV_KEY = "sk-shared-from-env-" + "e" * 24
AGENT_KEY_VARIABLE = "TEST_ANTHROPIC_KEY"


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def make_database(run_id: str) -> Iterator[Callable[[str], str]]:
    """Creates databases of this run's own; all are dropped at the end."""
    created: list[str] = []

    def make(label: str = "main") -> str:
        name = f"llmchat_test_{run_id}_{label}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        created.append(name)
        return database_url(name)

    yield make
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in created:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def db_url(make_database: Callable[[str], str]) -> str:
    return make_database("main")


@pytest.fixture(scope="session")
def redis_namespace(run_id: str) -> Iterator[str]:
    namespace = f"llmchat_test_{run_id}"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProviderThread]:
    with FakeProviderThread() as fake:
        yield fake


def shared_agents(fake: FakeProviderThread) -> list[dict[str, object]]:
    """The shared server's agents: the demo, two on the fake provider, one that is down."""

    def agent(agent_id: str, provider: str, category: str, **extra: object) -> dict[str, object]:
        return {
            "id": agent_id,
            "name": f"Test {agent_id}",
            "description": f"{provider} agent for the tests",
            "category": category,
            "provider": provider,
            "endpoint": fake.endpoint(provider) if provider != "demo" else "",
            "apiKey": AGENT_LITERAL_KEY,
            "model": f"{provider}-model",
            "capabilities": ["chat"],
            "config": {"temperature": 0.5, "maxTokens": 1024},
            **extra,
        }

    return [
        agent("demo", "demo", "demo", apiKey="", name="Demo (local echo)"),
        agent("gpt", "openai", "general"),
        agent("claude", "anthropic", "writing", apiKey=f"env:{AGENT_KEY_VARIABLE}"),
        # Nothing listens on port 9 (discard): connecting is refused at once.
        agent("offline", "custom", "code", endpoint="http://127.0.0.1:9/v1"),
        agent("editable", "openai", "general", avatar="/avatars/editable.png"),
        agent("dormant", "fastgpt", "code", status="inactive"),
    ]


@pytest.fixture(scope="session")
def agents_file(
    fake_provider: FakeProviderThread, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("agents") / "agents.json"
    path.write_text(json.dumps({"agents": shared_agents(fake_provider)}))
    return path


@pytest.fixture(scope="session")
def server_env(
    db_url: str,
    redis_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    agents_file: Path,
) -> dict[str, str]:
    return {
        "LLMCHAT_AGENTS_FILE": str(agents_file),
        AGENT_KEY_VARIABLE: AGENT_ENV_KEY,
        "LLMCHAT_DATABASE_URL": db_url,
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": redis_namespace,
        "LLMCHAT_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "LLMCHAT_JWT_SECRET": JWT_SECRET,
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


@pytest.fixture(scope="session")
def server(server_env: dict[str, str]) -> Iterator[ServerProcess]:
    process = ServerProcess(server_env)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")
