"""What a chat stream has delivered so far: where to resume from, and the reply until now.

Both the sync and the async stream feed their server-sent events through `accept`; a frame
whose id was seen already (a resume overlapping what arrived) is dropped, so the caller
sees every chunk exactly once.
"""

from __future__ import annotations

from typing import Any

import msgspec

from llmchat.errors import APIConnectionError, LLMChatError, error_from_frame
from llmchat.models import ChatChunk, StreamEnd, Usage
from llmchat.sse import ServerSentEvent
from llmchat.transport_base import RETRYABLE_STATUSES

NOTHING_AFTER = 204
"""A resume's answer when the reply has ended and nothing follows the frame it names: the
reply is complete (SSE's "stop reconnecting"), not a broken stream to retry."""


class StreamState:
    def __init__(self, message_id: str | None = None, last_event_id: int = 0) -> None:
        self.message_id = message_id
        self.session_id: str | None = None
        self.last_event_id = last_event_id
        self.end: StreamEnd | None = None
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """The reply's text as far as it has been read."""
        return "".join(self._parts)

    @property
    def usage(self) -> Usage | None:
        return self.end.usage if self.end else None

    @property
    def finish_reason(self) -> str | None:
        return self.end.finish_reason if self.end else None

    def accept(self, event: ServerSentEvent) -> ChatChunk | StreamEnd | None:
        """The chunk or end an event carries; None for one to skip. An error frame raises."""
        frame_id = int(event.id) if event.id and event.id.isdigit() else None
        if frame_id is not None and frame_id <= self.last_event_id:
            return None
        data = frame_data(event.data)
        self.message_id = data.get("messageId") or self.message_id
        self.session_id = data.get("sessionId") or self.session_id
        if frame_id is not None:
            self.last_event_id = frame_id
        if event.event == "chunk":
            chunk = msgspec.convert({**data, "eventId": frame_id or 0}, ChatChunk)
            self._parts.append(chunk.content)
            return chunk
        if event.event == "end":
            self.end = msgspec.convert(data, StreamEnd)
            return self.end
        if event.event == "error":
            raise error_from_frame(data)
        return None

    def resume_target(self) -> str:
        """The message id to resume; raises if the stream broke before saying it."""
        if self.message_id is None:
            raise APIConnectionError(
                "the stream broke before its first frame, so it cannot be resumed",
                code="CONNECTION_ERROR",
            )
        return self.message_id

    def gave_up(self, attempts: int) -> APIConnectionError:
        return APIConnectionError(
            f"the stream of message {self.message_id} could not be resumed after "
            f"{attempts} attempts (last frame {self.last_event_id})",
            code="CONNECTION_ERROR",
        )


def frame_data(text: str) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(text)
    except msgspec.DecodeError:
        data = None
    if not isinstance(data, dict):
        message = f"a stream frame is not a JSON object: {text[:200]}"
        raise LLMChatError(message, code="MALFORMED_FRAME")
    return data


def worth_retrying(error: LLMChatError) -> bool:
    """Errors that a resume a moment later may not meet again."""
    return isinstance(error, APIConnectionError) or error.status in RETRYABLE_STATUSES
