"""A reply's frames as OpenAI's stream: chunks of `chat.completion.chunk`, then `[DONE]`."""

from collections.abc import AsyncIterator

import msgspec

from api.failures import classify
from api.openai_wire import CompletionIds, chunk, openai_error, usage_chunk, usage_of
from application.reply_frames import EndFrame, ErrorFrame, Frame, TextFrame

DONE = b"data: [DONE]\n\n"


def finish_of(end: EndFrame) -> str:
    # LLMChat's reasons are OpenAI's `stop` and `length`, or `cancelled`/`interrupted`,
    # passed on as they are: a reply cut short must not look like a complete one.
    return end.finish_reason or "stop"


def encode(data: object) -> bytes:
    return b"data: " + msgspec.json.encode(data) + b"\n\n"


async def completion_chunks(
    frames: AsyncIterator[Frame], ids: CompletionIds, with_usage: bool
) -> AsyncIterator[bytes]:
    """Role first, text deltas, finish, usage, [DONE]."""
    yield encode(chunk(ids, {"role": "assistant", "content": ""}, None, with_usage))
    async for frame in frames:
        match frame:
            case TextFrame():
                yield encode(chunk(ids, {"content": frame.content}, None, with_usage))
            case EndFrame():
                yield encode(chunk(ids, {}, finish_of(frame), with_usage))
                if with_usage:
                    yield encode(usage_chunk(ids, usage_of(frame.usage)))
                yield DONE
            case ErrorFrame():
                # A failure after the first frame: OpenAI's clients raise on an error chunk.
                failure = classify(frame.error())
                yield encode(openai_error(failure.status, failure.message))
