"""ReplaySession: a conversation as it stood at a moment, rebuilt from its events alone.

For auditors: the conversation stream's events up to the moment give its messages, title
and state; a reply still streaming then shows the text its reply stream held by then.
"""

from dataclasses import dataclass, field
from datetime import datetime

from application.errors import ValidationFailed
from application.ports import EventStore
from domain.conversation import Conversation
from domain.ids import is_uuid
from domain.reply_stream import ChunksAppended
from domain.timestamps import parse_stored


@dataclass(frozen=True, slots=True)
class ReplayedMessage:
    id: str
    role: str
    content: str
    status: str | None
    at: str  # when the event that added it was appended


@dataclass(frozen=True, slots=True)
class ReplayedSession:
    id: str
    owner_id: str
    agent_id: str
    title: str
    deleted: bool
    events: int  # of the conversation stream, up to the moment
    last_change: str
    messages: list[ReplayedMessage] = field(default_factory=list)


def replay_session(
    store: EventStore, session_id: str, at: datetime | None = None
) -> ReplayedSession | None:
    """None if the session did not exist (yet) at that moment."""
    if not is_uuid(session_id):
        raise ValidationFailed("SESSION_ID: must be a UUID")
    history = [r for r in store.read(session_id) if at is None or parse_stored(r.timestamp) <= at]
    if not history:
        return None
    conversation = Conversation.replay([history[0].event])
    added_at: dict[str, str] = {}
    for recorded in history[1:]:
        known = len(conversation.messages)
        conversation.apply(recorded.event)
        added_at.update({m.id: recorded.timestamp for m in conversation.messages[known:]})
    messages = [
        ReplayedMessage(
            id=m.id,
            role=m.role,
            content=streamed_text(store, m.id, at) if m.status == "streaming" else m.content,
            status=m.status,
            at=added_at.get(m.id, history[0].timestamp),
        )
        for m in conversation.messages
    ]
    return ReplayedSession(
        id=conversation.id,
        owner_id=conversation.owner_id,
        agent_id=conversation.agent_id,
        title=conversation.title,
        deleted=conversation.deleted,
        events=len(history),
        last_change=history[-1].timestamp,
        messages=messages,
    )


def streamed_text(store: EventStore, message_id: str, at: datetime | None) -> str:
    return "".join(
        r.event.text
        for r in store.read(message_id)
        if isinstance(r.event, ChunksAppended) and (at is None or parse_stored(r.timestamp) <= at)
    )
