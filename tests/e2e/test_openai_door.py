"""The OpenAI-compatible door (/v1), driven by OpenAI's own Python client.

Each call must be an LLMChat conversation like any other: the caller's history shows it and
the audit trail records it.
"""

import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fake_provider import PROMPT_TOKENS, REPLY_TEXT
from tests.support.builders import login, signed_in
from tests.support.server import ServerProcess

ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello through the door"}]


@pytest.fixture(scope="module")
def door_server(chat_env) -> Iterator[ServerProcess]:
    # The chat agents (the fake provider's), an administrator, and projection workers in
    # process so that sessions and the audit trail follow.
    env = {**chat_env, "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL, "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = ServerProcess(env, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(door_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=door_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(http) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}


@pytest.fixture
def api_key(http, admin):
    answer = http.post("/api/admin/api-keys", headers=admin, json={"name": "openai-door"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def door(server: ServerProcess, key: str) -> OpenAI:
    # No retries: a refusal must surface as the error it is, at once.
    return OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=30)


def eventually(read, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (answer := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return answer


def test_an_api_key_completes_a_chat_blocking_and_streaming(door_server, api_key, fake):
    client = door(door_server, api_key["key"])

    completion = client.chat.completions.create(
        model="openai", messages=ASK, temperature=0.2, max_tokens=64, top_p=1, n=1
    )
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == "openai" and abs(completion.created - time.time()) < 60
    [choice] = completion.choices
    assert choice.message.role == "assistant" and choice.message.content == REPLY_TEXT
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens == PROMPT_TOKENS
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > PROMPT_TOKENS
    sent = fake.last_request("/openai/v1/chat/completions").body
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 64

    chunks = list(
        client.chat.completions.create(
            model="openai",
            messages=ASK,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens == PROMPT_TOKENS and last.usage.completion_tokens > 0


def test_a_door_chat_is_in_the_callers_history_and_the_audit_trail(
    http, door_server, admin, api_key
):
    client = door(door_server, api_key["key"])
    completion = client.chat.completions.create(model="openai", messages=ASK)
    message_id = completion.id.removeprefix("chatcmpl-")
    as_key = {"Authorization": f"Bearer {api_key['key']}"}

    def sessions():
        answer = http.get("/api/chat/sessions", headers=as_key)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["items"]

    [session] = eventually(sessions)
    assert session["agentId"] == "openai"
    history = http.get(f"/api/chat/sessions/{session['id']}/history", headers=as_key)
    items = history.json()["data"]["items"]
    assert [(m["role"], m["content"]) for m in items] == [
        ("user", ASK[0]["content"]),
        ("assistant", REPLY_TEXT),
    ]
    assert items[1]["id"] == message_id

    def sent_by_key():
        query = {"userId": api_key["id"], "action": "chat.send"}
        answer = http.get("/api/admin/audit", headers=admin, params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["items"]

    assert len(eventually(sent_by_key)) == 1


def test_an_access_token_works_too_and_models_are_the_active_agents(http, door_server):
    token = signed_in(http)[0]["token"]
    client = door(door_server, token)
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert {"openai", "anthropic", "demo", "slow"} <= set(ids)
    assert "retired" not in ids  # an inactive agent is no model
    assert {(m.object, m.owned_by) for m in models.data} == {("model", "llmchat")}
    assert client.models.retrieve("anthropic").id == "anthropic"
    reply = client.chat.completions.create(model="anthropic", messages=ASK)
    assert reply.choices[0].message.content == REPLY_TEXT


def test_refusals_are_openai_errors_with_their_status(door_server, api_key):
    with pytest.raises(openai.AuthenticationError) as refused:
        door(door_server, "llmk_not_a_key").chat.completions.create(model="openai", messages=ASK)
    assert refused.value.code == "invalid_api_key"

    client = door(door_server, api_key["key"])
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-agent", messages=ASK)
    assert missing.value.code == "model_not_found" and missing.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="retired", messages=ASK)
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("retired")

    with pytest.raises(openai.BadRequestError) as several:
        client.chat.completions.create(model="openai", messages=ASK, n=2)
    assert several.value.param == "n" and several.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as no_turn:
        client.chat.completions.create(model="openai", messages=[])
    assert no_turn.value.param == "messages"

    with pytest.raises(openai.InternalServerError) as down:
        client.chat.completions.create(model="down", messages=ASK)
    assert down.value.status_code == 503 and down.value.type == "server_error"


def test_the_door_is_rate_limited_and_not_versioned(http, api_key):
    headers = {"Authorization": f"Bearer {api_key['key']}"}
    answer = http.get("/v1/models", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit"] == "2000"  # a user key's budget
    assert "x-api-version" not in answer.headers  # /v1 is OpenAI's version, not /api's
    body = {"model": "openai", "messages": ASK, "stream": True}
    with http.stream("POST", "/v1/chat/completions", headers=headers, json=body) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "x-ratelimit-remaining" in stream.headers
        lines = [line for line in stream.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
