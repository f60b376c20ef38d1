"""What the chat use cases share: their ports, and loading a conversation its owner may see."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from application.admission import Admission
from application.agents import AgentDirectory
from application.budgets import BudgetGate, NoBudgets
from application.errors import NotFound
from application.live_replies import LiveReplies
from application.ports import EventStore, EventWriter, ReplyMetrics, ReplySignals
from application.provider import ChatProvider, ImagePart
from application.repository import Repository
from domain.conversation import Conversation
from domain.events import Recorded
from domain.ids import is_uuid
from domain.reply_stream import ReplyOpened


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str
    role: str
    api_key: bool = False
    """An API key calls as its own service account: ``user_id`` is the key's id."""

    def may_see(self, owner_id: str) -> bool:
        return owner_id == self.user_id or self.role == "admin"


@dataclass(frozen=True, slots=True)
class Attached:
    """What a turn's files add to it: context text, and images for providers that take them."""

    text: str
    images: tuple[ImagePart, ...] = ()


class Attachments(Protocol):
    def attach(self, file_ids: list[str], caller: Caller, with_images: bool) -> Attached:
        """The files for the provider; NotFound for a file the caller may not see. Without
        `with_images`, images are named in the text instead."""
        ...


@dataclass(frozen=True, slots=True)
class Chat:
    store: EventStore
    writer: EventWriter
    live: LiveReplies
    signals: ReplySignals
    agents: AgentDirectory
    providers: Mapping[str, ChatProvider]
    instance_id: str
    metrics: ReplyMetrics
    attachments: Attachments
    budgets: BudgetGate = field(default_factory=NoBudgets)
    admission: Admission = field(default_factory=Admission)
    """How many chats start at once (admission.py)."""
    max_continuations: int = 3
    """How many times a reply whose provider failed mid-answer is continued (fallbacks.py)."""

    @property
    def repository(self) -> Repository:
        return Repository(self.store)


def load_conversation(store: EventStore, session_id: str) -> Conversation | None:
    return Repository(store).get(Conversation, session_id)


def conversation_of(store: EventStore, session_id: str, caller: Caller) -> Conversation:
    """The conversation, if it exists and the caller may see it; 404 alike otherwise."""
    conversation = load_conversation(store, session_id)
    if conversation is None or conversation.deleted or not caller.may_see(conversation.owner_id):
        raise NotFound("Session not found")
    return conversation


def reply_of(store: EventStore, message_id: str, caller: Caller) -> ReplyOpened:
    opened = reply_history(store, message_id, caller)[0].event
    assert isinstance(opened, ReplyOpened)
    return opened


def reply_history(store: EventStore, message_id: str, caller: Caller) -> list[Recorded]:
    """A reply's stored events, if the caller may see it; NotFound otherwise."""
    history = store.read(message_id) if is_uuid(message_id) else []
    opened = history[0].event if history else None
    if not isinstance(opened, ReplyOpened) or not caller.may_see(opened.owner_id):
        raise NotFound("Stream not found")
    return history
