"""Continuation mid-stream: a provider that fails after text was stored is asked again to
continue it, then the fallbacks are, and the client sees one whole reply.

The primaries are the fake provider behind the openai path with a fault that strikes after
five pieces; `backup` is the same fake behind the custom path. The fake continues its own
reply from any prefix (saying a few characters again, `repeat=N`, as models do), so the text
a client receives across faults must equal the fault-free reply character for character.
"""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_ws import connect_ws
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.chat_fixtures import agent, agents_env, served
from tests.e2e.test_chat_socket import collect
from tests.e2e.test_fallbacks import ask, attempts, history, one_whole_reply, streamed
from tests.fake_provider import REPLY_TEXT, FakeProviderThread
from tests.support.builders import signed_in
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess, free_port
from tests.support.sse import Event

IDLE_SECONDS = 1.0
BACKUP_PATH = "/custom/v1/chat/completions"

# A fault after text was stored: the agent is asked once more (and breaks off again, five
# pieces further), then `backup` continues. Why each attempt ended, as stored.
MID_STREAM = {
    "c-cut": ("gpt;fault-cut;cut_after=5;repeat=6", "stream_error"),
    "c-error-event": ("gpt;fault-error-event;cut_after=5", "stream_error"),
    "c-idle": ("gpt;fault-stall;cut_after=5;delay=5", "stream_error"),
}
# A fault before a continuation's first word: the cut agent's first fallback has it, so
# its continuation falls back to `backup` in turn.
BEFORE_FIRST_WORD = {
    "refused": ("gpt", "unreachable"),
    "timeout": ("gpt;fault-slow-first-byte;delay=5", "timeout"),
    "429": ("gpt;fault-429;retry_after=0", "rate_limited"),
    "500": ("gpt;fault-500", "server_error"),
}


CUT = MID_STREAM["c-cut"][0]


def agents_document(fake: FakeProviderThread) -> dict[str, list[dict[str, object]]]:
    openai, closed = fake.endpoint("openai"), f"http://127.0.0.1:{free_port()}/v1"
    mid_stream = [
        agent(name, "openai", openai, model, fallbacks=["backup"])
        for name, (model, _) in MID_STREAM.items()
    ]
    before = [
        agent(f"x-{fault}", "openai", closed if fault == "refused" else openai, model)
        for fault, (model, _) in BEFORE_FIRST_WORD.items()
    ]
    then = [
        agent(f"c-then-{fault}", "openai", openai, CUT, fallbacks=["x-" + fault, "backup"])
        for fault in BEFORE_FIRST_WORD
    ]
    return {
        "agents": [
            agent("backup", "custom", fake.endpoint("custom"), "gpt;repeat=7"),
            *mid_stream,
            *before,
            *then,
            agent("c-alone", "openai", openai, "gpt;fault-cut;cut_after=5"),
        ]
    }


@pytest.fixture(scope="module")
def env(fake, make_database, redis_namespace, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("continuation")
    document = agents_document(fake)
    return {
        **agents_env("continuation", document, make_database, redis_namespace, folder),
        "LLMCHAT_PROVIDER_FIRST_BYTE_SECONDS": "1",
        "LLMCHAT_PROVIDER_IDLE_SECONDS": str(IDLE_SECONDS),
    }


@pytest.fixture(scope="module")
def server(env) -> Iterator[ServerProcess]:
    """The module's server; the root conftest's `http` talks to it."""
    yield from served(env)


@pytest.fixture
def auth(http) -> dict[str, str]:
    return signed_in(http)[1]


def closed_event(env: dict[str, str], message_id: str) -> dict[str, Any]:
    [finished] = [
        f
        for f in stored_events(env["LLMCHAT_DATABASE_URL"], "ReplyFinished")
        if f["message_id"] == message_id
    ]
    return finished


def stored_as_received(http, auth, session_id: str, message_id: str) -> None:
    stored = history(http, auth, session_id)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Are you there?"),
        ("assistant", REPLY_TEXT),
    ]
    assert stored[1]["id"] == message_id and stored[1]["status"] == "completed"


def end_of(frames: list[Event]) -> dict[str, Any]:
    return frames[-1].data


@pytest.mark.parametrize("primary", MID_STREAM)
def test_a_stream_broken_mid_answer_is_continued_into_the_whole_reply(
    http, auth, env, fake, primary
):
    asked = fake.request_count(BACKUP_PATH)
    frames = streamed(http, auth, ask(primary))
    session_id, message_id = one_whole_reply(frames)
    assert end_of(frames)["continuations"] == 2
    assert fake.request_count(BACKUP_PATH) == asked + 1
    stored_as_received(http, auth, session_id, message_id)
    _, reason = MID_STREAM[primary]
    tried = [
        (a["agent_id"], a["reason"], a["next_agent_id"], a["stored_chars"] > 0)
        for a in attempts(env, session_id)
    ]
    assert tried == [(primary, reason, primary, True), (primary, reason, "backup", True)]
    # Usage sums every attempt: five pieces, five more, then the rest (one token a piece).
    finished = closed_event(env, message_id)
    spent = sum(a["completion_tokens"] for a in attempts(env, session_id))
    assert spent > 0 and finished["completion_tokens"] > spent
    assert finished["agent_id"] == "backup"


@pytest.mark.parametrize("fault", BEFORE_FIRST_WORD)
def test_a_continuation_whose_agent_fails_before_its_first_word_falls_back_again(
    http, auth, env, fault
):
    primary = f"c-then-{fault}"
    frames = streamed(http, auth, ask(primary))
    session_id, message_id = one_whole_reply(frames)
    assert end_of(frames)["continuations"] == 3
    stored_as_received(http, auth, session_id, message_id)
    tried = [(a["agent_id"], a["reason"], a["next_agent_id"]) for a in attempts(env, session_id)]
    assert tried == [
        (primary, "stream_error", primary),
        (primary, "stream_error", f"x-{fault}"),
        (f"x-{fault}", BEFORE_FIRST_WORD[fault][1], "backup"),
    ]


def test_a_reply_continued_as_often_as_it_may_fails_keeping_its_text(http, auth, env):
    frames = streamed(http, auth, ask("c-alone"))
    assert frames[-1].event == "error"
    text = "".join(f.data["content"] for f in frames if f.event == "chunk")
    assert REPLY_TEXT.startswith(text) and len(text) < len(REPLY_TEXT)
    session_id = frames[-1].data["sessionId"]
    stored = history(http, auth, session_id)
    assert stored[1]["status"] == "failed" and stored[1]["content"] == text
    # Without fallbacks the agent is asked once more, which breaks off too.
    tried = [(a["agent_id"], a["next_agent_id"]) for a in attempts(env, session_id)]
    assert tried == [("c-alone", "c-alone"), ("c-alone", None)]


def test_a_socket_follower_receives_the_continued_reply(http, server):
    token = signed_in(http)[0]["token"]
    url = server.base_url.replace("http", "ws") + "/api/ws?token=" + token
    with httpx.Client() as client, connect_ws(url, client) as ws:
        ws.send_text(json.dumps({"type": "chat", "requestId": "r", **ask("c-cut")}))
        messages = collect(ws, ["r"])["r"]
    chunks = [m for m in messages if m["type"] == "chunk"]
    end = messages[-1]
    assert end["type"] == "end" and end["finishReason"] == "stop"
    assert end["continuations"] == 2
    assert "".join(m["content"] for m in chunks) == REPLY_TEXT
    ids = [m["id"] for m in messages if "id" in m]
    assert ids == sorted(set(ids)), "frame ids are unique and increasing"


@pytest.mark.parametrize("stream", [True, False])
def test_the_openai_door_just_continues(http, server, stream):
    token = signed_in(http)[0]["token"]
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=token, max_retries=0, timeout=30)
    said: list[ChatCompletionMessageParam] = [{"role": "user", "content": "through the door"}]
    if stream:
        chunks = list(client.chat.completions.create(model="c-cut", messages=said, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        [choice] = client.chat.completions.create(model="c-cut", messages=said).choices
        text, finish = choice.message.content or "", choice.finish_reason
    assert (text, finish) == (REPLY_TEXT, "stop")
