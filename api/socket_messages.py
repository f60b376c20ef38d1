"""What /api/ws sends: a reply's frames as messages, its `complete`, and its errors."""

from typing import Any

from api.failures import Failure
from api.frame_json import frame_json
from application.reply_frames import Frame, TextFrame


def frame_message(frame: Frame) -> dict[str, Any]:
    data = frame_json(frame)
    if isinstance(frame, TextFrame):
        data["type"] = "chunk"
    return {**data, "id": frame.id}


def complete_message(message_id: str, last_event_id: int) -> dict[str, Any]:
    """The socket's 204: nothing follows `lastEventId`, and nothing ever will."""
    return {"type": "complete", "messageId": message_id, "lastEventId": last_event_id}


def error_message(failure: Failure) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "error", "code": failure.code, "message": failure.message}
    if failure.kind is not None:
        # As the HTTP envelope says it (a spent budget: which one, and when it resets).
        message["error"] = {"type": failure.type, "details": failure.details}
        message["retryAfter"] = failure.retry_after
    return message
