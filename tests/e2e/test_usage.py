"""Usage as facts: every reply's tokens as the provider reported them, shown alike by
/api/chat/completions and the OpenAI door, over real server processes."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.chat_fixtures import PROVIDERS, agent, agents_document
from tests.fake_provider import FakeProviderThread, reported_usage
from tests.support.builders import signed_in
from tests.support.server import ServerProcess
from tests.support.sse import events

ASK = [{"role": "user", "content": "How much did this cost?"}]


def usage_agents(fake: FakeProviderThread) -> dict[str, list[dict[str, object]]]:
    document = agents_document(fake)
    quiet = agent("quiet", "openai", fake.endpoint("openai"), "gpt;usage=none")
    return {"agents": [*document["agents"], quiet]}


@pytest.fixture(scope="module")
def usage_env(chat_env, fake, tmp_path_factory) -> dict[str, str]:
    agents_file = tmp_path_factory.mktemp("usage") / "agents.json"
    agents_file.write_text(json.dumps(usage_agents(fake)))
    return {**chat_env, "LLMCHAT_AGENTS_FILE": str(agents_file)}


@pytest.fixture(scope="module")
def usage_server(usage_env) -> Iterator[ServerProcess]:
    process = ServerProcess(usage_env, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(usage_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=usage_server.base_url, timeout=30) as client:
        yield client


def expected(provider: str) -> dict[str, Any]:
    """The fake provider's report, as LLMChat's camelCase usage."""
    sent = reported_usage(provider)
    return {
        "promptTokens": sent.prompt,
        "completionTokens": sent.completion,
        "totalTokens": sent.total,
        "cachedTokens": sent.cached,
        "cacheWriteTokens": sent.cache_write,
        "reasoningTokens": sent.reasoning,
        "estimated": False,
    }


def chat(http: httpx.Client, auth: dict[str, str], agent_id: str, stream: bool) -> dict[str, Any]:
    """The usage the answer (or the stream's end frame) reports."""
    body = {"agentId": agent_id, "messages": ASK, "stream": stream}
    if not stream:
        answer = http.post("/api/chat/completions", headers=auth, json=body)
        assert answer.status_code == 200, answer.text
        usage: dict[str, Any] = answer.json()["data"]["usage"]
        return usage
    with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as answer:
        assert answer.status_code == 200, answer.read()
        end = list(events(answer))[-1]
    assert end.event == "end", end
    streamed: dict[str, Any] = end.data["usage"]
    return streamed


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_s_usage_is_reported_as_the_provider_reported_it(
    http, provider, stream
) -> None:
    _, auth = signed_in(http)

    assert chat(http, auth, provider, stream) == expected(provider)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
def test_a_provider_that_reports_no_usage_is_estimated_and_marked(http, stream) -> None:
    _, auth = signed_in(http)

    usage = chat(http, auth, "quiet", stream)

    assert usage["estimated"] is True
    assert usage["promptTokens"] > 0 and usage["completionTokens"] > 0
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
    assert usage["cachedTokens"] == usage["reasoningTokens"] == 0


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
def test_the_openai_door_reports_the_same_figures_with_openai_s_details(http, stream) -> None:
    _, auth = signed_in(http)
    body: dict[str, Any] = {"model": "openai", "messages": ASK, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
        with http.stream("POST", "/v1/chat/completions", headers=auth, json=body) as answer:
            assert answer.status_code == 200, answer.read()
            lines = [line for line in answer.iter_lines() if line.startswith("data: {")]
        usage = json.loads(lines[-1].removeprefix("data: "))["usage"]
    else:
        answer = http.post("/v1/chat/completions", headers=auth, json=body)
        assert answer.status_code == 200, answer.text
        usage = answer.json()["usage"]

    sent = reported_usage("openai")
    assert usage == {
        "prompt_tokens": sent.prompt,
        "completion_tokens": sent.completion,
        "total_tokens": sent.total,
        "prompt_tokens_details": {"cached_tokens": sent.cached},
        "completion_tokens_details": {"reasoning_tokens": sent.reasoning},
    }
