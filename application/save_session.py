"""SaveSession and DeleteSession: a conversation written by the client, or removed."""

import uuid
from dataclasses import dataclass

from application.chat import Caller, Chat, conversation_of, load_conversation
from application.errors import Conflict, NotFound, ValidationFailed
from application.retry import rerun_on_conflict_or
from domain.conversation import (
    MAX_CONTENT,
    ROLES,
    Conversation,
    ConversationFull,
    ImportedMessage,
)
from domain.ids import is_uuid


@dataclass(frozen=True, slots=True)
class SavedMessage:
    role: str
    content: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SaveSession:
    caller: Caller
    session_id: str
    title: str
    agent_id: str
    messages: list[SavedMessage]


def validate(command: SaveSession) -> None:
    if not is_uuid(command.session_id):
        raise ValidationFailed("sessionId: must be a UUID")
    if not 1 <= len(command.title.strip()) <= 200:
        raise ValidationFailed("title: must be 1 to 200 characters")
    for index, message in enumerate(command.messages):
        if message.role not in ROLES:
            raise ValidationFailed(f"messages[{index}].role: must be one of {', '.join(ROLES)}")
        if len(message.content) > MAX_CONTENT:
            raise ValidationFailed(f"messages[{index}].content: at most {MAX_CONTENT} characters")
        if message.id is not None and not is_uuid(message.id):
            raise ValidationFailed(f"messages[{index}].id: must be a UUID")


def new_messages(conversation: Conversation, messages: list[SavedMessage]) -> list[ImportedMessage]:
    """Messages not stored yet: by id when given, else those past the stored ones."""
    stored = [(m.role, m.content) for m in conversation.messages]
    unnamed = [m for m in messages if m.id is None]
    prefix = 0
    while (
        prefix < min(len(stored), len(unnamed))
        and (
            unnamed[prefix].role,
            unnamed[prefix].content,
        )
        == stored[prefix]
    ):
        prefix += 1
    skip = {id(m) for m in unnamed[:prefix]}
    return [
        ImportedMessage(message_id=m.id or str(uuid.uuid4()), role=m.role, content=m.content)
        for m in messages
        if id(m) not in skip
    ]


def session_busy(*_: object) -> Conflict:
    return Conflict("Session is busy; try again")


@rerun_on_conflict_or(session_busy)
def save_session(chat: Chat, command: SaveSession) -> Conversation:
    validate(command)
    conversation = load_conversation(chat.store, command.session_id)
    if conversation is None:
        conversation = Conversation.start(
            command.session_id, command.caller.user_id, command.agent_id, command.title
        )
    elif conversation.deleted or not command.caller.may_see(conversation.owner_id):
        raise NotFound("Session not found")
    else:
        conversation.retitle(command.title)
    try:
        conversation.import_messages(new_messages(conversation, command.messages))
    except ConversationFull as full:
        raise Conflict("Conversation is full; start a new one", str(full)) from None
    chat.repository.save(conversation)
    return conversation_of(chat.store, command.session_id, command.caller)


@rerun_on_conflict_or(session_busy)
def delete_session(chat: Chat, caller: Caller, session_id: str) -> None:
    conversation = conversation_of(chat.store, session_id, caller)
    conversation.delete(caller.user_id)
    chat.repository.save(conversation)
