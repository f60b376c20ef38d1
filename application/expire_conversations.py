"""ExpireConversations: conversations idle past the retention period lose their text.

The text is erased from the stored events first, then ConversationExpired is recorded, so a
sweep cut short is simply done again by the next one: erasing is idempotent, and the
conversation stays a candidate until it is recorded as expired.
"""

from datetime import datetime, timedelta
from typing import Protocol

from application.chat import load_conversation
from application.errors import StreamConflict
from application.ports import Clock, EventStore, PendingEvent
from domain.conversation import ConversationExpired


class IdleConversations(Protocol):
    def idle_since(self, cutoff: datetime) -> list[tuple[str, str]]:
        """(session id, last activity) of conversations quiet since before `cutoff`."""
        ...


class TextEraser(Protocol):
    def erase(self, stream_id: str) -> int:
        """Rewrite the stream's stored events without their text; returns how many changed."""
        ...


def expire_conversations(
    store: EventStore, idle: IdleConversations, eraser: TextEraser, clock: Clock, days: float
) -> int:
    cutoff = clock.now() - timedelta(days=days)
    expired = 0
    for session_id, last_active in idle.idle_since(cutoff):
        conversation = load_conversation(store, session_id)
        if conversation is None or conversation.deleted or conversation.open_reply:
            continue
        replies = [m.id for m in conversation.messages if m.role == "assistant" and m.status]
        for stream_id in (session_id, *replies):
            eraser.erase(stream_id)
        event = ConversationExpired(session_id=session_id, idle_since=last_active)
        try:
            store.append([PendingEvent(session_id, conversation.version + 1, event)])
        except StreamConflict:
            continue  # it moved meanwhile: no longer idle, or another sweep got there
        expired += 1
    return expired
