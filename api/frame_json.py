"""The spec's JSON for a reply's frames: the `data` of an SSE frame, and (with its id and
type) a WebSocket message. camelCase, as every answer is."""

from typing import Any

from application.reply_frames import EndFrame, ErrorFrame, Frame, ReplyUsage, TextFrame


def usage_json(usage: ReplyUsage) -> dict[str, int | bool]:
    return {
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
        "cachedTokens": usage.cached_tokens,
        "cacheWriteTokens": usage.cache_write_tokens,
        "reasoningTokens": usage.reasoning_tokens,
        "estimated": usage.estimated,
    }


def event_name(frame: Frame) -> str:
    """The SSE event a frame is sent as."""
    match frame:
        case TextFrame():
            return "chunk"
        case EndFrame():
            return "end"
        case ErrorFrame():
            return "error"


def frame_json(frame: Frame) -> dict[str, Any]:
    ids = {"messageId": frame.message_id, "sessionId": frame.session_id}
    match frame:
        case TextFrame():
            return {"type": "text", "content": frame.content, **ids}
        case EndFrame():
            return {
                "type": "end",
                **ids,
                "usage": usage_json(frame.usage),
                "finishReason": frame.finish_reason,
                "continuations": frame.continuations,
            }
        case ErrorFrame():
            return {"type": "error", "code": frame.code, "message": frame.message, **ids}
