"""A fake provider, an agents file naming an agent per provider, and servers using them."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.fake_provider import FakeProviderThread
from tests.support.builders import signed_in
from tests.support.server import ServerProcess

PROVIDERS = ("openai", "anthropic", "fastgpt", "dify", "custom")


def agent(
    agent_id: str, provider: str, endpoint: str, model: str, **extra: object
) -> dict[str, object]:
    return {
        "id": agent_id,
        "name": f"{provider} test agent",
        "description": "talks to the fake provider",
        "category": "test",
        "provider": provider,
        "endpoint": endpoint,
        "apiKey": extra.pop("api_key", "sk-test-key"),
        "model": model,
        "capabilities": ["chat"],
        "config": {"temperature": 0.5, "maxTokens": 512},
        **extra,
    }


def agents_document(fake: FakeProviderThread) -> dict[str, list[dict[str, object]]]:
    agents = [agent(p, p, fake.endpoint(p), f"{p}-model") for p in PROVIDERS]
    slow = "gpt;interval=0.05;chunks=40"
    agents += [
        agent("slow", "openai", fake.endpoint("openai"), slow),
        agent("down", "openai", fake.endpoint("openai"), "gpt;fault-500"),
        agent("garbled", "openai", fake.endpoint("openai"), "gpt;fault-malformed"),
        agent("cut", "openai", fake.endpoint("openai"), "gpt;fault-cut;cut_after=5"),
        agent("stalled", "openai", fake.endpoint("openai"), "gpt;fault-stall;cut_after=2;delay=60"),
        agent("retired", "openai", fake.endpoint("openai"), "gpt", status="inactive"),
        agent("demo", "demo", "", "demo-echo"),
    ]
    return {"agents": agents}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderThread]:
    with FakeProviderThread() as server:
        yield server


def agents_env(
    name: str,
    document: dict[str, list[dict[str, object]]],
    make_database: Callable[[str], str],
    redis_namespace: str,
    folder: Path,
) -> dict[str, str]:
    """A server's environment of its own (database, Redis namespace, data dir, secret) with
    `document` as its agents file."""
    agents_file = folder / "agents.json"
    agents_file.write_text(json.dumps(document))
    return {
        "LLMCHAT_DATABASE_URL": make_database(f"{name}_{folder.name[-4:]}"),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": redis_namespace,
        "LLMCHAT_DATA_DIR": str(folder),
        "LLMCHAT_JWT_SECRET": f"{name}-secret-" + name[0] * 40,
        "LLMCHAT_AGENTS_FILE": str(agents_file),
    }


@pytest.fixture(scope="module")
def chat_env(fake, make_database, redis_namespace, tmp_path_factory, run_id) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("chat")
    return agents_env("chat", agents_document(fake), make_database, redis_namespace, folder)


def served(env: dict[str, str]) -> Iterator[ServerProcess]:
    """A server on `env` (workers in it) for a module's tests, stopped after them."""
    process = ServerProcess(env, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def chat_server(chat_env) -> Iterator[ServerProcess]:
    yield from served(chat_env)


@pytest.fixture
def client(chat_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat_server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def auth(client) -> dict[str, str]:
    return signed_in(client)[1]
