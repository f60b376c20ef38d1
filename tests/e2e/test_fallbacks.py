"""Fallback before the first word: an agent that fails before any text is stored hands the
reply to its fallbacks, within the same request, and the client sees one whole reply.

The primaries are the fake provider behind the openai path with a fault; the fallback,
`backup`, is the same fake behind the custom path, so what it was asked is counted apart.
"""

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.chat_fixtures import agent, agents_env, served
from tests.fake_provider import REPLY_TEXT, FakeProviderThread
from tests.support.builders import login, signed_in
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess, free_port, run_cli
from tests.support.sse import Event, events

BACKUP_PATH = "/custom/v1/chat/completions"
FIRST_BYTE_SECONDS = 1.0

# The fault each primary has, and why its attempt ends (streamed, blocking): the fake
# answers a blocking request meant to end in an error event with an error body (and a 200).
FAULTS = {
    "fb-refused": ("gpt", "unreachable", "unreachable"),
    "fb-timeout": ("gpt;fault-slow-first-byte;delay=5", "timeout", "timeout"),
    "fb-429": ("gpt;fault-429;retry_after=0", "rate_limited", "rate_limited"),
    "fb-500": ("gpt;fault-500", "server_error", "server_error"),
    "fb-error-event": ("gpt;fault-error-event;cut_after=0", "stream_error", "bad_response"),
}


def agents_document(fake: FakeProviderThread) -> dict[str, list[dict[str, object]]]:
    openai, closed = fake.endpoint("openai"), f"http://127.0.0.1:{free_port()}/v1"
    primaries = [
        agent(
            name, "openai", closed if name == "fb-refused" else openai, model, fallbacks=["backup"]
        )
        for name, (model, _, _) in FAULTS.items()
    ]
    return {
        "agents": [
            agent("backup", "custom", fake.endpoint("custom"), "gpt"),
            *primaries,
            agent("fb-401", "openai", openai, "gpt;fault-401", fallbacks=["backup"]),
            agent("retired", "custom", fake.endpoint("custom"), "gpt", status="inactive"),
            agent("fb-skip", "openai", openai, "gpt;fault-500", fallbacks=["retired", "backup"]),
            agent("plain-500", "openai", openai, "gpt;fault-500"),
            agent(
                "fb-all-down",
                "openai",
                openai,
                "gpt;fault-503;retry_after=0",
                fallbacks=["plain-500"],
            ),
            agent("fb-healthy", "openai", openai, "gpt", fallbacks=["backup"]),
        ]
    }


@pytest.fixture(scope="module")
def env(fake, make_database, redis_namespace, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("fallbacks")
    document = agents_document(fake)
    return {
        **agents_env("fallbacks", document, make_database, redis_namespace, folder),
        "LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS": str(FIRST_BYTE_SECONDS),
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


@pytest.fixture(scope="module")
def server(env) -> Iterator[ServerProcess]:
    """The module's server; the root conftest's `http` talks to it."""
    yield from served(env)


@pytest.fixture
def auth(http) -> dict[str, str]:
    return signed_in(http)[1]


def ask(agent_id: str, content: str = "Are you there?") -> dict[str, Any]:
    return {"agentId": agent_id, "messages": [{"role": "user", "content": content}]}


def streamed(http: httpx.Client, auth: dict[str, str], body: dict[str, Any]) -> list[Event]:
    with http.stream(
        "POST", "/api/chat/completions", headers=auth, json={**body, "stream": True}
    ) as response:
        assert response.status_code == 200, response.read()
        return list(events(response))


def history(http, auth, session_id: str) -> list[dict[str, Any]]:
    """The session's messages once the read model has the reply's end."""
    deadline = time.monotonic() + 10
    while True:
        answer = http.get(f"/api/chat/sessions/{session_id}/history", headers=auth)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["data"]["items"]
        done = len(items) == 2 and items[1].get("status") not in (None, "streaming")
        if done or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def only_session(http, auth) -> str:
    """The caller's one session, once the read model lists it."""
    deadline = time.monotonic() + 10
    while True:
        answer = http.get("/api/chat/sessions", headers=auth)
        assert answer.status_code == 200, answer.text
        items = answer.json()["data"]["items"]
        if items or time.monotonic() > deadline:
            [session] = items
            return str(session["id"])
        time.sleep(0.05)


def attempts(env, session_id: str) -> list[dict[str, Any]]:
    found = stored_events(env["LLMCHAT_DATABASE_URL"], "ReplyAttemptFailed")
    return [a for a in found if a["session_id"] == session_id]


def one_whole_reply(frames: list[Event]) -> tuple[str, str]:
    """The session and message of a stream that is one complete, fault-free reply."""
    *chunks, end = frames
    assert chunks and all(f.event == "chunk" for f in chunks), frames
    assert end.event == "end" and end.data["finishReason"] == "stop", end
    ids = [f.id for f in frames]
    assert ids == sorted(set(ids)), "frame ids are unique and increasing"
    assert "".join(f.data["content"] for f in chunks) == REPLY_TEXT
    assert {(f.data["sessionId"], f.data["messageId"]) for f in frames} == {
        (end.data["sessionId"], end.data["messageId"])
    }
    return end.data["sessionId"], end.data["messageId"]


@pytest.mark.parametrize("primary", FAULTS)
def test_a_stream_whose_agent_fails_before_its_first_word_is_answered_by_the_fallback(
    http, auth, env, fake, primary
):
    asked = fake.request_count(BACKUP_PATH)
    session_id, message_id = one_whole_reply(streamed(http, auth, ask(primary)))
    assert fake.request_count(BACKUP_PATH) == asked + 1
    stored = history(http, auth, session_id)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Are you there?"),
        ("assistant", REPLY_TEXT),
    ]
    assert stored[1]["id"] == message_id and stored[1]["status"] == "completed"
    finished = stored_events(env["LLMCHAT_DATABASE_URL"], "ReplyFinished")
    [ended] = [f for f in finished if f["message_id"] == message_id]
    assert (ended["agent_id"], ended["provider"], ended["model"]) == ("backup", "custom", "gpt")
    assert ended["completion_tokens"] > 0, "the usage is the fallback's"
    model, reason, _ = FAULTS[primary]
    [attempt] = attempts(env, session_id)
    assert (attempt["agent_id"], attempt["provider"], attempt["model"]) == (
        primary,
        "openai",
        model,
    )
    assert (attempt["reason"], attempt["next_agent_id"]) == (reason, "backup")


@pytest.mark.parametrize("primary", FAULTS)
def test_a_blocking_answer_whose_agent_fails_before_its_first_word_comes_from_the_fallback(
    http, auth, env, primary
):
    answer = http.post("/api/chat/completions", headers=auth, json=ask(primary))
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["message"] == {"role": "assistant", "content": REPLY_TEXT}
    assert data["finishReason"] == "stop"
    stored = history(http, auth, data["sessionId"])
    assert stored[1]["content"] == REPLY_TEXT and stored[1]["id"] == data["id"]
    [attempt] = attempts(env, data["sessionId"])
    assert (attempt["reason"], attempt["next_agent_id"]) == (FAULTS[primary][2], "backup")


@pytest.mark.parametrize("stream", [True, False])
def test_a_refusal_is_a_clear_error_and_no_fallback_is_asked(http, auth, env, fake, stream):
    asked = fake.request_count(BACKUP_PATH)
    answer = http.post(
        "/api/chat/completions", headers=auth, json={**ask("fb-401"), "stream": stream}
    )
    assert answer.status_code == 502, answer.text
    error = answer.json()
    assert error["code"] == "BAD_GATEWAY"
    said = f"{error['message']} {error['error']}"
    assert "HTTP 401" in said and "no fallback" in said, error
    assert fake.request_count(BACKUP_PATH) == asked
    [attempt] = attempts(env, only_session(http, auth))
    assert (attempt["agent_id"], attempt["reason"], attempt["status"]) == (
        "fb-401",
        "rejected",
        401,
    )
    assert attempt["next_agent_id"] is None


def test_an_inactive_fallback_is_skipped(http, auth, env):
    session_id, _ = one_whole_reply(streamed(http, auth, ask("fb-skip")))
    [attempt] = attempts(env, session_id)
    assert (attempt["agent_id"], attempt["next_agent_id"]) == ("fb-skip", "backup")


def test_when_every_agent_fails_each_attempt_is_recorded_and_the_reply_fails(http, auth, env):
    answer = http.post("/api/chat/completions", headers=auth, json=ask("fb-all-down"))
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
    session_id = only_session(http, auth)
    tried = [(a["agent_id"], a["status"], a["next_agent_id"]) for a in attempts(env, session_id)]
    assert tried == [("fb-all-down", 503, "plain-500"), ("plain-500", 500, None)]
    assert history(http, auth, session_id)[1]["status"] == "failed"


def test_a_healthy_agent_with_fallbacks_streams_as_one_without_any(http, auth, env, fake):
    asked = fake.request_count(BACKUP_PATH)
    frames = streamed(http, auth, ask("fb-healthy"))
    session_id, _ = one_whole_reply(frames)
    assert frames[0].id == 2, "nothing is stored before the first words"
    assert attempts(env, session_id) == [] and fake.request_count(BACKUP_PATH) == asked


@pytest.mark.parametrize("stream", [True, False])
def test_the_openai_door_answers_from_the_fallback(http, server, stream):
    token = signed_in(http)[0]["token"]
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=token, max_retries=0, timeout=30)
    said: list[ChatCompletionMessageParam] = [{"role": "user", "content": "through the door"}]
    if stream:
        chunks = list(client.chat.completions.create(model="fb-500", messages=said, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        [choice] = client.chat.completions.create(model="fb-500", messages=said).choices
        text, finish = choice.message.content or "", choice.finish_reason
    assert (text, finish) == (REPLY_TEXT, "stop")


def test_history_audit_replay_and_metrics_show_the_attempts(http, auth, env):
    session_id, _ = one_whole_reply(streamed(http, auth, ask("fb-500")))
    result = run_cli(["sessions", "replay", session_id, "--json"], env)
    assert result.returncode == 0, result.stderr
    [_, reply] = json.loads(result.stdout)["messages"]
    [attempt] = reply["attempts"]
    assert (attempt["agentId"], attempt["reason"], attempt["nextAgentId"]) == (
        "fb-500",
        "server_error",
        "backup",
    )
    assert "HTTP 500" in attempt["error"]
    text = run_cli(["sessions", "replay", session_id], env).stdout
    assert "attempt by fb-500 (openai gpt;fault-500) failed, server_error" in text

    admin = {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}
    deadline = time.monotonic() + 15
    while True:
        query = {"action": "chat.attempt_failed", "limit": 100}
        answer = http.get("/api/admin/audit", headers=admin, params=query)
        assert answer.status_code == 200, answer.text
        entries = [e for e in answer.json()["data"]["items"] if session_id in e["resource"]]
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [entry] = entries
    assert entry["outcome"] == "failure" and "fell back to backup" in entry["details"]

    scraped = http.get("/metrics", headers=admin)
    assert scraped.status_code == 200, scraped.text
    [family] = [
        f
        for f in text_string_to_metric_families(scraped.text)
        if f.name == "llmchat_provider_fallbacks"
    ]
    counted = {
        (s.labels["from_agent"], s.labels["to_agent"], s.labels["reason"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert counted[("fb-500", "backup", "server_error")] >= 1
    assert ("fb-401", "backup", "rejected") not in counted
