"""FastGPT's OpenAI-compatible app API, which keeps the chat history itself under ``chatId``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import msgspec

from application.provider import (
    Chunk,
    Completion,
    ProviderRequest,
    ProviderStreamFailed,
    Usage,
)
from infrastructure.providers.http import (
    ProviderHttp,
    StreamOutcome,
    bearer,
    decode_json,
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


class _NodeResponse(msgspec.Struct):
    """One workflow node's report (``flowResponses`` / ``responseData``): AI nodes say
    what they used as ``inputTokens`` and ``outputTokens``."""

    inputTokens: int | None = None  # FastGPT's names
    outputTokens: int | None = None


class _Answer(ChatCompletion):
    responseData: list[_NodeResponse] = []


def node_usage(nodes: list[_NodeResponse]) -> Usage | None:
    """The tokens of every AI node of the workflow; None if no node reports any. (FastGPT's
    OpenAI-style ``usage`` is not a count: it may say 1 and 1 whatever was used.)"""
    counted = [n for n in nodes if n.inputTokens is not None or n.outputTokens is not None]
    if not counted:
        return None
    prompt = sum(n.inputTokens or 0 for n in counted)
    completion = sum(n.outputTokens or 0 for n in counted)
    return Usage(prompt, completion, prompt + completion)


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
                if event.event == "flowResponses":
                    nodes = decode_json(provider, event.data, list[_NodeResponse])
                    outcome.usage = node_usage(nodes) or outcome.usage
                    continue
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
            answer_type=_Answer,
        )
        completion = to_completion(self._http.provider, answer)
        usage = node_usage(answer.responseData)
        return completion if usage is None else msgspec.structs.replace(completion, usage=usage)

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
