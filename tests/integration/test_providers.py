"""Every provider adapter against the fake provider server, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import aclosing
from typing import Any

import httpx2
import msgspec
import pytest

from application.provider import (
    ChatProvider,
    ProviderBadResponse,
    ProviderRejected,
    ProviderRequest,
    ProviderStreamFailed,
    ProviderUnavailable,
    Usage,
)
from domain.continuation import CONTINUE_INSTRUCTION, PARTIAL_OPEN, overlap
from infrastructure.providers import build_providers, http, new_http_client
from infrastructure.providers.http import ProviderTimeouts, on_asyncio_sockets
from infrastructure.providers.network import AsyncioBackend
from tests.fake_provider import (
    REPLY_TEXT,
    STREAM_ERROR_CODE,
    STREAM_ERROR_MESSAGE,
    FakeProvider,
    FakeProviderProcess,
    FakeProviderThread,
    reply_pieces,
    reported_usage,
)
from tests.support.provider_calls import CONVERSATION, FAST, read_all, read_until_failure

HTTP_PROVIDERS = ["openai", "custom", "anthropic", "fastgpt", "dify"]
CALL_PATHS = {
    "openai": "/openai/v1/chat/completions",
    "custom": "/custom/v1/chat/completions",
    "anthropic": "/anthropic/v1/messages",
    "fastgpt": "/fastgpt/api/v1/chat/completions",
    "dify": "/dify/v1/chat-messages",
}


def usage_reported(provider: str) -> Usage:
    """What the fake provider reported, in the adapter's terms."""
    sent = reported_usage(provider)
    return Usage(
        sent.prompt,
        sent.completion,
        sent.total,
        cached_tokens=sent.cached,
        cache_write_tokens=sent.cache_write,
        reasoning_tokens=sent.reasoning,
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderThread]:
    with FakeProviderThread() as server:
        yield server


@pytest.fixture(params=["asyncio-sockets", "httpx2-default"])
async def client(
    request: pytest.FixtureRequest, fake: FakeProviderThread
) -> AsyncIterator[httpx2.AsyncClient]:
    """The client on the sockets the server uses (AsyncioBackend), and on httpx2's own.
    Each starts with a fake that has served no fault yet (their scenarios' tags repeat)."""
    fake.reset()
    shared = httpx2.AsyncClient(trust_env=False)
    if request.param == "asyncio-sockets":
        on_asyncio_sockets(shared, AsyncioBackend())
    async with shared:
        yield shared


def adapter(
    client: httpx2.AsyncClient, provider: str, timeouts: ProviderTimeouts = FAST
) -> ChatProvider:
    return build_providers(client, timeouts)[provider]


def request_to(
    fake: FakeProvider, provider: str, *, scenario: str = "", **changes: Any
) -> ProviderRequest:
    """A request to the fake ``provider``; ``scenario`` directives ride on the model and key."""
    request = ProviderRequest(
        provider=provider,
        endpoint=fake.endpoint(provider),
        api_key=f"sk-test;{scenario}",
        model=f"fake-model;{scenario}",
        messages=CONVERSATION,
        session_id="session-1",
        user_id="user-1",
    )
    return msgspec.structs.replace(request, **changes)


# --- the normal answer ------------------------------------------------------


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_stream_yields_the_reply_then_one_closing_chunk(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    chunks = await read_all(adapter(client, provider), request_to(fake, provider))

    *texts, last = chunks
    assert "".join(chunk.text for chunk in texts) == REPLY_TEXT
    assert len(texts) == 32
    assert all(chunk.finish_reason is None for chunk in texts)
    assert last.text == ""
    assert last.finish_reason == "stop"


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_stream_captures_usage_with_cached_and_reasoning_tokens(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    chunks = await read_all(adapter(client, provider), request_to(fake, provider))

    assert chunks[-1].usage == usage_reported(provider)


def test_the_fake_reports_cache_and_reasoning_where_the_format_has_them() -> None:
    assert usage_reported("openai").cached_tokens > 0
    assert usage_reported("openai").reasoning_tokens > 0
    assert usage_reported("anthropic").cached_tokens > 0
    assert usage_reported("anthropic").cache_write_tokens > 0


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_an_answer_without_usage_has_none(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="usage=none")

    chunks = await read_all(adapter(client, provider), request)
    completion = await adapter(client, provider).complete(request)

    assert chunks[-1].usage is None
    assert completion.usage is None


async def test_openai_streams_always_ask_for_usage(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    await read_all(adapter(client, "openai"), request_to(fake, "openai"))

    sent = fake.last_request(CALL_PATHS["openai"]).body
    assert sent["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_complete_returns_the_whole_reply_with_usage(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    completion = await adapter(client, provider).complete(request_to(fake, provider))

    assert completion.text == REPLY_TEXT
    assert completion.usage == usage_reported(provider)
    assert completion.finish_reason == "stop"


@pytest.mark.parametrize("provider", ["openai", "anthropic", "dify"])
async def test_reply_written_in_tiny_pieces_splitting_utf8_arrives_intact(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="chunks=4;split=5")

    chunks = await read_all(adapter(client, provider), request)

    assert "".join(chunk.text for chunk in chunks) == REPLY_TEXT


@pytest.mark.parametrize(
    ("provider", "wire_reason", "expected"),
    [
        ("openai", "length", "length"),
        ("openai", "content_filter", "error"),
        ("openai", "tool_calls", "stop"),
        ("anthropic", "max_tokens", "length"),
        ("anthropic", "refusal", "error"),
        ("anthropic", "stop_sequence", "stop"),
    ],
)
async def test_finish_reasons_map_to_one_vocabulary(
    fake: FakeProviderThread,
    client: httpx2.AsyncClient,
    provider: str,
    wire_reason: str,
    expected: str,
) -> None:
    request = request_to(fake, provider, scenario=f"finish={wire_reason}")
    chat = adapter(client, provider)

    chunks = await read_all(chat, request)
    completion = await chat.complete(request)

    assert chunks[-1].finish_reason == expected
    assert completion.finish_reason == expected


async def test_a_finished_stream_leaves_its_connection_for_the_next_request(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    chat = adapter(client, "openai")
    path = CALL_PATHS["openai"]

    await read_all(chat, request_to(fake, "openai"))
    first_port = fake.last_request(path).client_port
    await read_all(chat, request_to(fake, "openai"))

    assert fake.last_request(path).client_port == first_port


async def test_closing_a_stream_early_raises_nothing_and_frees_the_client(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    chat = adapter(client, "anthropic")

    stream = chat.stream(request_to(fake, "anthropic"))
    assert isinstance(stream, AsyncGenerator)  # what lets a caller stop it early
    async with aclosing(stream) as chunks:
        first = await anext(chunks)

    assert first.text == reply_pieces(32)[0]
    assert (await chat.complete(request_to(fake, "anthropic"))).text == REPLY_TEXT


# --- what is sent -------------------------------------------------------------


async def test_openai_sends_bearer_key_and_chat_completion_body(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    request = request_to(fake, "openai", temperature=0.2, max_tokens=50)

    await read_all(adapter(client, "openai"), request)

    sent = fake.last_request(CALL_PATHS["openai"])
    assert sent.headers["authorization"] == f"Bearer {request.api_key}"
    assert sent.body == {
        "model": request.model,
        "messages": [{"role": turn.role, "content": turn.content} for turn in CONVERSATION],
        "stream": True,
        "temperature": 0.2,
        "max_tokens": 50,
        "stream_options": {"include_usage": True},
    }


async def test_openai_blocking_call_asks_for_no_stream_and_omits_unset_options(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    await adapter(client, "openai").complete(request_to(fake, "openai"))

    sent = fake.last_request(CALL_PATHS["openai"]).body
    assert sent["stream"] is False
    assert not {"stream_options", "temperature", "max_tokens"} & sent.keys()


async def test_custom_provider_without_key_sends_no_authorization(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    await adapter(client, "custom").complete(request_to(fake, "custom", api_key=""))

    assert "authorization" not in fake.last_request(CALL_PATHS["custom"]).headers


async def test_anthropic_sends_key_version_and_system_at_top_level(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    request = request_to(fake, "anthropic", temperature=0.5)

    await read_all(adapter(client, "anthropic"), request)

    sent = fake.last_request(CALL_PATHS["anthropic"])
    assert sent.headers["x-api-key"] == request.api_key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": request.model,
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [{"role": turn.role, "content": turn.content} for turn in CONVERSATION[1:]],
        "stream": True,
        "temperature": 0.5,
    }


async def test_anthropic_uses_the_agents_max_tokens_when_set(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    await adapter(client, "anthropic").complete(request_to(fake, "anthropic", max_tokens=77))

    sent = fake.last_request(CALL_PATHS["anthropic"]).body
    assert sent["max_tokens"] == 77
    assert sent["stream"] is False


async def test_fastgpt_sends_session_as_chat_id_with_detail_and_the_new_question(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    request = request_to(fake, "fastgpt", session_id="our-session-42")

    await read_all(adapter(client, "fastgpt"), request)

    sent = fake.last_request(CALL_PATHS["fastgpt"])
    assert sent.headers["authorization"] == f"Bearer {request.api_key}"
    assert sent.body["chatId"] == "our-session-42"
    assert sent.body["detail"] is True
    assert sent.body["stream"] is True
    assert sent.body["messages"] == [{"role": "user", "content": "Say 你好"}]


async def test_dify_sends_query_user_and_kept_conversation_and_returns_it(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    request = request_to(fake, "dify", provider_conversation_id="conv-7", user_id="user-9")

    chunks = await read_all(adapter(client, "dify"), request)

    sent = fake.last_request(CALL_PATHS["dify"])
    assert sent.headers["authorization"] == f"Bearer {request.api_key}"
    assert sent.body == {
        "inputs": {},
        "query": "Say 你好",
        "response_mode": "streaming",
        "conversation_id": "conv-7",
        "user": "user-9",
    }
    assert {chunk.provider_conversation_id for chunk in chunks} == {"conv-7"}


async def test_dify_new_conversation_sends_empty_id_and_returns_difys(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    completion = await adapter(client, "dify").complete(request_to(fake, "dify"))

    sent = fake.last_request(CALL_PATHS["dify"]).body
    assert sent["conversation_id"] == ""
    assert sent["response_mode"] == "blocking"
    assert completion.provider_conversation_id


# --- faults before the first byte: retried --------------------------------------


async def test_429_is_retried_after_the_retry_after_delay(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    request = request_to(fake, "openai", scenario="fault-429;times=1;tag=wait")
    before = fake.request_count(CALL_PATHS["openai"])
    started = time.monotonic()

    chunks = await read_all(adapter(client, "openai"), request)

    assert time.monotonic() - started >= 1.0  # the fake sends Retry-After: 1
    assert "".join(chunk.text for chunk in chunks) == REPLY_TEXT
    assert fake.request_count(CALL_PATHS["openai"]) - before == 2


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize("fault", ["fault-429", "fault-503", "fault-500", "fault-529"])
async def test_transient_failures_are_retried_until_success(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str, fault: str
) -> None:
    scenario = f"{fault};times=2;retry_after=0;tag=success-{provider}"
    before = fake.request_count(CALL_PATHS[provider])

    completion = await adapter(client, provider).complete(
        request_to(fake, provider, scenario=scenario)
    )

    assert completion.text == REPLY_TEXT
    assert fake.request_count(CALL_PATHS[provider]) - before == 3


async def test_retry_after_is_capped(
    fake: FakeProviderThread, client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "RETRY_AFTER_CAP", 0.1)
    request = request_to(fake, "anthropic", scenario="fault-429;times=1;retry_after=3600;tag=cap")
    started = time.monotonic()

    await read_all(adapter(client, "anthropic"), request)

    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_persistent_429_gives_up_as_unavailable_after_the_retries(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="fault-429;retry_after=0")
    before = fake.request_count(CALL_PATHS[provider])

    with pytest.raises(ProviderUnavailable) as raised:
        await read_all(adapter(client, provider), request)

    assert raised.value.status == 429
    assert "fake HTTP 429" in raised.value.detail
    assert raised.value.provider == provider
    assert fake.request_count(CALL_PATHS[provider]) - before == FAST.retries + 1


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_500_is_unavailable_for_stream_and_blocking_calls(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    chat = adapter(client, provider)
    request = request_to(fake, provider, scenario="fault-500")

    with pytest.raises(ProviderUnavailable) as streamed:
        await read_all(chat, request)
    with pytest.raises(ProviderUnavailable) as blocking:
        await chat.complete(request)

    assert streamed.value.status == blocking.value.status == 500


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_rejections_and_not_retried(
    fake: FakeProviderThread, client: httpx2.AsyncClient, status: int
) -> None:
    before = fake.request_count(CALL_PATHS["openai"])

    with pytest.raises(ProviderRejected) as raised:
        await adapter(client, "openai").complete(
            request_to(fake, "openai", scenario=f"fault-{status}")
        )

    assert isinstance(raised.value, ProviderBadResponse)  # so the API answers 502
    assert raised.value.status == status
    assert raised.value.detail == f"HTTP {status}: fake HTTP {status}"
    assert fake.request_count(CALL_PATHS["openai"]) - before == 1


async def test_unreachable_provider_is_unavailable_after_retries(
    client: httpx2.AsyncClient, fake: FakeProviderThread
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = request_to(fake, "openai", endpoint=f"http://127.0.0.1:{port}/v1")

    with pytest.raises(ProviderUnavailable) as raised:
        await read_all(adapter(client, "openai"), request)

    assert "unreachable" in raised.value.detail


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_slow_first_byte_is_unavailable_without_retrying(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    impatient = ProviderTimeouts(first_byte=0.2, retries=2, backoff=0.01)
    chat = adapter(client, provider, impatient)
    request = request_to(fake, provider, scenario="fault-slow-first-byte;delay=1")
    before = fake.request_count(CALL_PATHS[provider])
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable, match=r"no answer within 0\.2s"):
        await read_all(chat, request)
    with pytest.raises(ProviderUnavailable):
        await chat.complete(request)

    assert time.monotonic() - started < 1.0
    # The fake counts a request once it has read its body: under load that can come after
    # the client gave up at 0.2 s, so wait for the second before checking there is no third.
    for _ in range(100):  # up to 2 s
        if fake.request_count(CALL_PATHS[provider]) - before >= 2:
            break
        await asyncio.sleep(0.02)
    assert fake.request_count(CALL_PATHS[provider]) - before == 2


# --- faults after the first byte: never retried --------------------------------


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_cut_stream_fails_after_yielding_what_arrived(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="fault-cut;cut_after=3")
    before = fake.request_count(CALL_PATHS[provider])

    text, error = await read_until_failure(adapter(client, provider), request, ProviderStreamFailed)

    assert text == "".join(reply_pieces(32)[:3])
    assert "dropped mid-stream" in str(error)
    assert fake.request_count(CALL_PATHS[provider]) - before == 1


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_cut_blocking_answer_is_a_bad_response(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="fault-cut")

    with pytest.raises(ProviderBadResponse, match="dropped"):
        await adapter(client, provider).complete(request)


async def test_stalled_stream_fails_after_the_read_timeout(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    chat = adapter(client, "dify", ProviderTimeouts(read=0.2))
    request = request_to(fake, "dify", scenario="fault-stall;delay=1;cut_after=2")

    text, error = await read_until_failure(chat, request, ProviderStreamFailed)

    assert text == "".join(reply_pieces(32)[:2])
    assert "silent" in str(error)


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_error_event_fails_the_stream_with_the_providers_words(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="fault-error-event;cut_after=3")

    text, error = await read_until_failure(adapter(client, provider), request, ProviderStreamFailed)

    assert text == "".join(reply_pieces(32)[:3])
    assert isinstance(error, ProviderStreamFailed)
    assert error.detail == STREAM_ERROR_MESSAGE
    if provider != "fastgpt":  # FastGPT's error event carries only a message
        assert error.code == STREAM_ERROR_CODE


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize("fault", ["fault-malformed", "fault-wrong-shape"])
async def test_malformed_answers_are_bad_responses(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str, fault: str
) -> None:
    chat = adapter(client, provider)
    request = request_to(fake, provider, scenario=fault)

    with pytest.raises(ProviderBadResponse):
        await read_all(chat, request)
    with pytest.raises(ProviderBadResponse):
        await chat.complete(request)


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_error_object_instead_of_blocking_answer_is_a_bad_response(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    request = request_to(fake, provider, scenario="fault-error-event")

    with pytest.raises(ProviderBadResponse, match="gave up mid-answer"):
        await adapter(client, provider).complete(request)


# --- probe ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_probe_returns_latency_of_a_reachable_provider(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    latency = await adapter(client, provider).probe(request_to(fake, provider))

    assert 0 < latency < 1


async def test_probe_counts_a_rejected_key_as_reachable(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    latency = await adapter(client, "anthropic").probe(
        request_to(fake, "anthropic", scenario="fault-401")
    )

    assert latency > 0


async def test_probe_of_a_failing_provider_is_unavailable(
    fake: FakeProviderThread, client: httpx2.AsyncClient
) -> None:
    with pytest.raises(ProviderUnavailable):
        await adapter(client, "dify").probe(request_to(fake, "dify", scenario="fault-503"))


async def test_the_shared_production_client_streams_from_the_fake(
    fake: FakeProviderThread,
) -> None:
    async with new_http_client(FAST) as shared:
        chat = build_providers(shared, FAST)["openai"]
        chunks = await read_all(chat, request_to(fake, "openai"))

    assert "".join(chunk.text for chunk in chunks) == REPLY_TEXT


async def test_build_providers_offers_every_provider(client: httpx2.AsyncClient) -> None:
    providers: Mapping[str, ChatProvider] = build_providers(client, FAST)

    assert set(providers) == {"openai", "anthropic", "fastgpt", "dify", "custom", "demo"}


# --- the fake server in its own process --------------------------------------------


@pytest.mark.slow
async def test_fake_provider_runs_as_a_subprocess(client: httpx2.AsyncClient) -> None:
    with FakeProviderProcess() as fake:
        request = request_to(fake, "anthropic")
        chunks = await read_all(adapter(client, "anthropic"), request)
        sent = fake.last_request(CALL_PATHS["anthropic"])

    assert "".join(chunk.text for chunk in chunks) == REPLY_TEXT
    assert sent.headers["x-api-key"] == request.api_key


# --- continuing a broken answer --------------------------------------------
# The text before a fault and the continuation make the fault-free reply.


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize("cut_after", [1, 5, 17])
async def test_a_continuation_streams_the_rest_of_the_reply(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str, cut_after: int
) -> None:
    chat = build_providers(client, FAST)[provider]
    broken = request_to(fake, provider, scenario=f"fault-cut;cut_after={cut_after}")
    stored, _ = await read_until_failure(chat, broken, ProviderStreamFailed)

    again = msgspec.structs.replace(request_to(fake, provider), continues=stored)
    chunks = await read_all(chat, again)

    # (Anthropic's prefill leaves out a trailing space, which the model then writes again.)
    text = "".join(c.text for c in chunks)
    assert stored + text[overlap(stored, text) :] == REPLY_TEXT
    assert provider == "anthropic" or stored + text == REPLY_TEXT
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None  # the fake counts the continuation's pieces
    assert chunks[-1].usage.completion_tokens in (32 - cut_after, 33 - cut_after)


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_a_continuation_may_repeat_the_stored_tail_which_the_seam_drops(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    chat = build_providers(client, FAST)[provider]
    stored = "".join(reply_pieces(32)[:9])
    again = request_to(fake, provider, scenario="repeat=7", continues=stored)

    text = "".join(c.text for c in await read_all(chat, again))

    assert text == REPLY_TEXT[len(stored) - 7 :]
    assert stored + text[overlap(stored, text) :] == REPLY_TEXT


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_a_blocking_continuation_answers_the_rest(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    stored = REPLY_TEXT[:40]
    again = request_to(fake, provider, continues=stored)

    completion = await build_providers(client, FAST)[provider].complete(again)

    assert stored + completion.text[overlap(stored, completion.text) :] == REPLY_TEXT


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_each_api_is_asked_to_continue_in_its_own_way(
    fake: FakeProviderThread, client: httpx2.AsyncClient, provider: str
) -> None:
    stored = "Hello from the fake "
    await read_all(
        build_providers(client, FAST)[provider],
        request_to(fake, provider, continues=stored),
    )
    body = fake.last_request(CALL_PATHS[provider]).body
    if provider == "anthropic":
        # Continued natively: the partial answer is the last turn, without its trailing space.
        assert body["messages"][-1] == {"role": "assistant", "content": stored.rstrip()}
    elif provider in ("openai", "custom"):
        assert body["messages"][-2] == {"role": "assistant", "content": stored}
        assert body["messages"][-1] == {"role": "user", "content": CONTINUE_INSTRUCTION}
    elif provider == "fastgpt":
        assert body["messages"][0] == {"role": "assistant", "content": stored}
        assert f"{PARTIAL_OPEN}{stored}" in body["messages"][-1]["content"]
    else:
        assert body["query"].endswith(f"{PARTIAL_OPEN}{stored}</partial>")
