"""A conversation (chat session): its messages, and the one reply that may be in progress."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain.aggregate import Aggregate
from domain.events import stored_as
from domain.timestamps import parse_stored

MAX_MESSAGES = 1000
MAX_CONTENT = 10_000
ROLES = ("system", "user", "assistant")
REPLY_OUTCOMES = ("completed", "failed", "interrupted", "cancelled")


class ConversationFull(Exception):
    """The conversation reached its message limit; a new one must be started."""


class ReplyInProgress(Exception):
    """A reply is still streaming; the next turn waits for it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedMessage:
    message_id: str
    role: str
    content: str


@stored_as("ConversationStarted")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationStarted:
    session_id: str
    owner_id: str
    agent_id: str
    title: str


@stored_as("UserMessagePosted")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessagePosted:
    session_id: str
    message_id: str
    content: str


@stored_as("ReplyStarted")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyStarted:
    session_id: str
    message_id: str
    agent_id: str
    instance_id: str


@stored_as("ReplyFinished")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyFinished:
    """The reply's whole text and how it ended: completed, failed, interrupted or cancelled;
    and its usage, the fact the usage ledger (projections/usage.py) is built from.

    The tokens are the provider's own figures (``cached_tokens`` and ``cache_write_tokens``
    are parts of ``prompt_tokens``, ``reasoning_tokens`` of ``completion_tokens``), or our
    estimate when ``usage_estimated``. ``user_id`` asked (an API key's service account
    when ``api_key_id`` is set) of ``agent_id``, through ``provider`` and ``model``.
    Replies finished before the ledger existed have none of these (None, 0, False).
    """

    session_id: str
    message_id: str
    outcome: str
    content: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_code: str | None = None
    error_message: str | None = None
    provider_conversation_id: str | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False
    user_id: str | None = None
    api_key_id: str | None = None
    agent_id: str | None = None
    provider: str | None = None
    model: str | None = None


@stored_as("MessagesImported")
@dataclass(frozen=True, slots=True, kw_only=True)
class MessagesImported:
    session_id: str
    messages: list[ImportedMessage]


@stored_as("ConversationTitled")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationTitled:
    session_id: str
    title: str


@stored_as("ConversationDeleted")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationDeleted:
    session_id: str
    deleted_by: str


@stored_as("ConversationExpired")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationExpired:
    """Idle past the retention period: gone from the read models, its text erased."""

    session_id: str
    idle_since: str


@dataclass(slots=True)
class Message:
    id: str
    role: str
    content: str
    status: str | None = None


@dataclass(slots=True, kw_only=True)
class Conversation(Aggregate):
    starts_with: ClassVar[type[Any]] = ConversationStarted

    owner_id: str
    agent_id: str
    title: str
    messages: list[Message] = field(default_factory=list)
    open_reply: str | None = None
    provider_conversation_id: str | None = None
    deleted: bool = False
    # When the newest stored event was stored ("" for one decided and not yet saved).
    changed_at: str = ""

    @classmethod
    def start(cls, session_id: str, owner_id: str, agent_id: str, title: str) -> "Conversation":
        """A new conversation, its start pending."""
        return cls.begin(
            ConversationStarted(
                session_id=session_id, owner_id=owner_id, agent_id=agent_id, title=title[:200]
            )
        )

    @classmethod
    def started(cls, first: ConversationStarted, timestamp: str) -> "Conversation":
        return cls(
            id=first.session_id, owner_id=first.owner_id, agent_id=first.agent_id, title=first.title
        )

    def apply(self, event: object, timestamp: str) -> None:
        self.changed_at = timestamp
        match event:
            case UserMessagePosted(message_id=mid, content=content):
                self.messages.append(Message(mid, "user", content))
            case ReplyStarted(message_id=mid, agent_id=agent_id):
                self.messages.append(Message(mid, "assistant", "", "streaming"))
                self.open_reply, self.agent_id = mid, agent_id
            case ReplyFinished() as finished:
                self.close_reply(finished)
            case MessagesImported(messages=imported):
                self.messages += [Message(m.message_id, m.role, m.content) for m in imported]
            case ConversationTitled(title=title):
                self.title = title
            case ConversationDeleted() | ConversationExpired():
                self.deleted = True

    def close_reply(self, finished: ReplyFinished) -> None:
        for message in reversed(self.messages):
            if message.id == finished.message_id:
                message.content, message.status = finished.content, finished.outcome
                break
        if self.open_reply == finished.message_id:
            self.open_reply = None
        if finished.provider_conversation_id:
            self.provider_conversation_id = finished.provider_conversation_id

    def room_for(self, count: int) -> None:
        if len(self.messages) + count > MAX_MESSAGES:
            raise ConversationFull(
                f"this conversation has {len(self.messages)} of {MAX_MESSAGES} messages"
            )

    def post(
        self, message_id: str, content: str, reply_id: str, instance_id: str, agent_id: str
    ) -> list[object]:
        """The user's turn and the start of its reply."""
        if self.open_reply is not None:
            raise ReplyInProgress(self.open_reply)
        self.room_for(2)
        posted = UserMessagePosted(session_id=self.id, message_id=message_id, content=content)
        started = ReplyStarted(
            session_id=self.id, message_id=reply_id, agent_id=agent_id, instance_id=instance_id
        )
        return [self.trigger(posted), self.trigger(started)]

    def import_messages(self, messages: list[ImportedMessage]) -> MessagesImported | None:
        known = {m.id for m in self.messages}
        new = [m for m in messages if m.message_id not in known]
        if not new:
            return None
        self.room_for(len(new))
        return self.trigger(MessagesImported(session_id=self.id, messages=new))

    def retitle(self, title: str) -> ConversationTitled | None:
        title = title.strip()[:200]
        if title == self.title:
            return None
        return self.trigger(ConversationTitled(session_id=self.id, title=title))

    def delete(self, by: str) -> ConversationDeleted:
        return self.trigger(ConversationDeleted(session_id=self.id, deleted_by=by))

    def expire(self, cutoff: datetime) -> ConversationExpired | None:
        """Expired if nothing happened in it since before `cutoff` and no reply is open;
        None when it stays."""
        if self.deleted or self.open_reply or parse_stored(self.changed_at) >= cutoff:
            return None
        idle_since = self.changed_at
        return self.trigger(ConversationExpired(session_id=self.id, idle_since=idle_since))
