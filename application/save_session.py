"""SaveSession and DeleteSession: a conversation written by the client, or removed."""

import uuid
from dataclasses import dataclass

from application.chat import Caller, Chat, conversation_of, load_conversation
from application.errors import Conflict, NotFound, StreamConflict, ValidationFailed
from application.ports import PendingEvent
from domain.conversation import (
    MAX_CONTENT,
    ROLES,
    Conversation,
    ConversationDeleted,
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


def save_session(chat: Chat, command: SaveSession) -> Conversation:
    validate(command)
    for _ in range(5):
        conversation = load_conversation(chat.store, command.session_id)
        events: list[object] = []
        if conversation is None:
            stored_version = 0
            started = Conversation.start(
                command.session_id, command.caller.user_id, command.agent_id, command.title
            )
            conversation, events = Conversation.replay([started]), [started]
        elif conversation.deleted or not command.caller.may_see(conversation.owner_id):
            raise NotFound("Session not found")
        else:
            stored_version = conversation.version
            titled = conversation.retitle(command.title)
            events += [titled] if titled else []
        try:
            imported = conversation.import_messages(new_messages(conversation, command.messages))
        except ConversationFull as full:
            raise Conflict("Conversation is full; start a new one", str(full)) from None
        events += [imported] if imported else []
        pending = [
            PendingEvent(command.session_id, stored_version + 1 + i, e)
            for i, e in enumerate(events)
        ]
        try:
            if pending:
                chat.store.append(pending)
        except StreamConflict:
            continue
        return conversation_of(chat.store, command.session_id, command.caller)
    raise Conflict("Session is busy; try again")


def delete_session(chat: Chat, caller: Caller, session_id: str) -> None:
    for _ in range(5):
        conversation = conversation_of(chat.store, session_id, caller)
        deleted = ConversationDeleted(session_id=session_id, deleted_by=caller.user_id)
        try:
            chat.store.append([PendingEvent(session_id, conversation.version + 1, deleted)])
        except StreamConflict:
            continue
        return
    raise Conflict("Session is busy; try again")
