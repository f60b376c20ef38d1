"""FastGPT's OpenAI-compatible app API, which keeps the chat history itself under ``chatId``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from application.provider import (
    Chunk,
    Completion,
    ProviderRequest,
    ProviderStreamFailed,
)
from infrastructure.providers.http import (
    ProviderHttp,
    StreamOutcome,
    bearer,
    error_details,
    join_url,
)
from infrastructure.providers.openai import (
    DONE,
    ChatCompletion,
    chat_body,
    read_chunk,
    to_completion,
)

# With ``detail`` on, answer text arrives as ``answer`` (generated) or
# ``fastAnswer`` (a fixed reply node); plain ``message`` is the detail-off form.
_ANSWER_EVENTS = frozenset({"answer", "fastAnswer", "message"})


class FastGPTProvider:
    def __init__(self, http: ProviderHttp) -> None:
        self._http = http

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        provider = self._http.provider
        outcome = StreamOutcome(provider)
        events = self._http.stream_events(
            _completions_url(request),
            headers=bearer(request.api_key),
            body=fastgpt_body(request, True),
            outcome=outcome,
        )
        async with aclosing(events):
            async for event in events:
                if event.event == "error":
                    message, code = error_details(event.data)
                    raise ProviderStreamFailed(provider, message, code=code)
                if event.event not in _ANSWER_EVENTS:
                    continue  # workflow progress: flowNodeStatus, flowResponses, toolCall, ...
                if event.data == DONE:
                    outcome.finished = True
                    continue
                text = read_chunk(provider, event.data, outcome)
                if text:
                    yield Chunk(text=text)
        yield outcome.last_chunk()

    async def complete(self, request: ProviderRequest) -> Completion:
        answer = await self._http.fetch_json(
            _completions_url(request),
            headers=bearer(request.api_key),
            body=fastgpt_body(request, False),
            answer_type=ChatCompletion,
        )
        return to_completion(self._http.provider, answer)

    async def probe(self, request: ProviderRequest) -> float:
        # FastGPT has no cheap authenticated GET; any answer from the API root proves it is up.
        return await self._http.probe(request.endpoint, headers=bearer(request.api_key))


def fastgpt_body(request: ProviderRequest, stream: bool) -> dict[str, object]:
    body = chat_body(request, stream)
    # FastGPT loads the history stored under chatId and reads only the last
    # message as the new question, so the rest would be sent for nothing.
    body["messages"] = [
        {"role": turn.role, "content": turn.content} for turn in request.messages[-1:]
    ]
    body["chatId"] = request.session_id
    body["detail"] = True
    return body


def _completions_url(request: ProviderRequest) -> str:
    return join_url(request.endpoint, "/v1/chat/completions")
