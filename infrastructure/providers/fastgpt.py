"""FastGPT's OpenAI-compatible app API, which keeps the chat history itself under ``chatId``."""

from __future__ import annotations

import msgspec

from application.provider import Completion, ProviderRequest, ProviderStreamFailed, Usage
from domain.continuation import instruction_with
from infrastructure.providers.http import (
    StreamOutcome,
    bearer,
    decode_json,
    error_details,
    join_url,
)
from infrastructure.providers.openai import (
    ChatCompletion,
    OpenAIProvider,
    chat_body,
    to_completion,
)
from infrastructure.providers.sse import SseEvent

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


class FastGPTProvider(OpenAIProvider):
    """OpenAI's exchange at ``/v1``, with FastGPT's body, events and token counts."""

    accepts_images = False
    answer_type = _Answer

    def completions_url(self, request: ProviderRequest) -> str:
        return join_url(request.endpoint, "/v1/chat/completions")

    def body(self, request: ProviderRequest, stream: bool) -> dict[str, object]:
        return fastgpt_body(request, stream)

    def is_answer(self, event: SseEvent, outcome: StreamOutcome) -> bool:
        provider = self._http.provider
        if event.event == "error":
            message, code = error_details(event.data)
            raise ProviderStreamFailed(provider, message, code=code)
        if event.event == "flowResponses":
            nodes = decode_json(provider, event.data, list[_NodeResponse])
            outcome.usage = node_usage(nodes) or outcome.usage
            return False
        # The rest is workflow progress: flowNodeStatus, toolCall, ...
        return event.event in _ANSWER_EVENTS

    async def complete(self, request: ProviderRequest) -> Completion:
        answer = await self.answer(request)
        completion = to_completion(self._http.provider, answer)
        usage = node_usage(answer.responseData) if isinstance(answer, _Answer) else None
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
    if request.continues is not None:
        # Its history holds the question, and it reads only the last message: the partial
        # answer goes inside the instruction too.
        body["messages"] = [
            {"role": "assistant", "content": request.continues},
            {"role": "user", "content": instruction_with(request.continues)},
        ]
    body["chatId"] = request.session_id
    body["detail"] = True
    return body
