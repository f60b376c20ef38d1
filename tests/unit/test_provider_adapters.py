"""Provider adapters where no server is needed: the demo, answers scripted in memory by an
httpx mock transport, and the pure readers of Retry-After and error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest

from application.provider import (
    ChatProvider,
    ProviderBadResponse,
    ProviderRequest,
    ProviderStreamFailed,
)
from infrastructure.providers import build_providers, http
from infrastructure.providers.demo import DemoProvider
from infrastructure.providers.http import error_details, parse_retry_after
from tests.support.provider_calls import CONVERSATION, FAST, read_all, read_until_failure

# --- demo -----------------------------------------------------------------------


async def test_demo_streams_a_labelled_echo_without_network() -> None:
    request = ProviderRequest(
        provider="demo",
        endpoint="",
        api_key="",
        model="",
        messages=CONVERSATION,
        session_id="s",
        user_id="u",
    )
    demo = DemoProvider(delay=0)

    *texts, last = await read_all(demo, request)
    completion = await demo.complete(request)

    reply = "".join(chunk.text for chunk in texts)
    assert len(texts) > 5
    assert reply.startswith("[Demo reply]")
    assert '"Say 你好"' in reply
    assert completion.text == reply
    assert last.finish_reason == completion.finish_reason == "stop"
    assert last.usage == completion.usage
    assert last.usage is not None
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens > 0
    assert await demo.probe(request) == 0.0


# --- edge cases no fault switch produces: a scripted transport -------------------


@asynccontextmanager
async def scripted_provider(
    provider: str, response: httpx2.Response
) -> AsyncIterator[ChatProvider]:
    transport = httpx2.MockTransport(lambda request: response)
    async with httpx2.AsyncClient(transport=transport) as scripted:
        yield build_providers(scripted, FAST)[provider]


def scripted_request(provider: str) -> ProviderRequest:
    return ProviderRequest(
        provider=provider,
        endpoint="http://provider.test/v1",
        api_key="k",
        model="m",
        messages=CONVERSATION,
        session_id="s",
        user_id="u",
    )


async def test_stream_closed_cleanly_without_end_marker_is_a_failed_stream() -> None:
    body = b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    async with scripted_provider("openai", response) as chat:
        text, _ = await read_until_failure(chat, scripted_request("openai"), ProviderStreamFailed)

    assert text == "Hel"


async def test_json_answer_to_a_stream_request_is_a_bad_response() -> None:
    response = httpx2.Response(200, json={"error": {"message": "streaming is off", "type": "x"}})
    async with scripted_provider("anthropic", response) as chat:
        with pytest.raises(ProviderBadResponse, match="streaming is off"):
            await read_all(chat, scripted_request("anthropic"))


async def test_answer_without_choices_is_a_bad_response() -> None:
    async with scripted_provider("openai", httpx2.Response(200, json={"choices": []})) as chat:
        with pytest.raises(ProviderBadResponse, match="no choices"):
            await chat.complete(scripted_request("openai"))


# --- pure helpers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("1", 1.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("3600", http.RETRY_AFTER_CAP),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_header_is_read_in_seconds_form_only(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        (b'{"error": {"message": "bad key", "type": "auth"}}', ("bad key", "auth")),
        (b'{"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}',
         ("busy", "overloaded_error")),
        (b'{"code": "invalid_param", "message": "no query", "status": 400}',
         ("no query", "invalid_param")),
        (b'{"code": 500, "statusText": "x", "message": "boom"}', ("boom", "500")),
        (b"<html>Bad Gateway</html>", ("<html>Bad Gateway</html>", None)),
    ],
)  # fmt: skip
def test_error_details_read_every_providers_error_shape(
    payload: bytes, details: tuple[str, str | None]
) -> None:
    assert error_details(payload) == details
