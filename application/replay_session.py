"""ReplaySession: a conversation as it stood at a moment, rebuilt from its events alone.

For auditors: the conversation stream's events up to the moment give its messages, title
and state; a reply still streaming then shows the text its reply stream held by then.
"""

from dataclasses import dataclass, field
from datetime import datetime

from application.errors import ValidationFailed
from application.ports import EventStore
from domain.conversation import Conversation
from domain.events import Recorded
from domain.ids import is_uuid
from domain.reply_stream import ChunksAppended, ReplyAttemptFailed, ReplyClaimed
from domain.timestamps import parse_stored


@dataclass(frozen=True, slots=True)
class ReplayedAttempt:
    """An agent asked for a reply that failed before its first word."""

    agent_id: str
    provider: str
    model: str
    reason: str
    error: str
    next_agent_id: str | None
    at: str


@dataclass(frozen=True, slots=True)
class ReplayedClaim:
    """An instance that took the reply over after its own stopped beating."""

    instance_id: str
    previous_instance_id: str
    stored_chars: int
    at: str


@dataclass(frozen=True, slots=True)
class ReplayedMessage:
    id: str
    role: str
    content: str
    status: str | None
    at: str  # when the event that added it was appended
    attempts: list[ReplayedAttempt] = field(default_factory=list)
    claims: list[ReplayedClaim] = field(default_factory=list)


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
    conversation = Conversation.replay([(history[0].event, history[0].timestamp)])
    added_at: dict[str, str] = {}
    for recorded in history[1:]:
        known = len(conversation.messages)
        conversation.applied(recorded.event, recorded.timestamp)
        added_at.update({m.id: recorded.timestamp for m in conversation.messages[known:]})
    messages = []
    for m in conversation.messages:
        # A reply's stream says what its agents did; the conversation holds only its end.
        stream = reply_stream(store, m.id, at) if m.role == "assistant" else []
        messages.append(
            ReplayedMessage(
                id=m.id,
                role=m.role,
                content=streamed_text(stream) if m.status == "streaming" else m.content,
                status=m.status,
                at=added_at.get(m.id, history[0].timestamp),
                attempts=attempts_of(stream),
                claims=claims_of(stream),
            )
        )
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


def reply_stream(store: EventStore, message_id: str, at: datetime | None) -> list[Recorded]:
    return [r for r in store.read(message_id) if at is None or parse_stored(r.timestamp) <= at]


def streamed_text(stream: list[Recorded]) -> str:
    return "".join(r.event.text for r in stream if isinstance(r.event, ChunksAppended))


def attempts_of(stream: list[Recorded]) -> list[ReplayedAttempt]:
    return [
        ReplayedAttempt(
            agent_id=e.agent_id,
            provider=e.provider,
            model=e.model,
            reason=e.reason,
            error=e.error_message,
            next_agent_id=e.next_agent_id,
            at=r.timestamp,
        )
        for r in stream
        if isinstance(e := r.event, ReplyAttemptFailed)
    ]


def claims_of(stream: list[Recorded]) -> list[ReplayedClaim]:
    return [
        ReplayedClaim(e.instance_id, e.previous_instance_id, e.stored_chars, r.timestamp)
        for r in stream
        if isinstance(e := r.event, ReplyClaimed)
    ]
