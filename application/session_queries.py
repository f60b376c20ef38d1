"""SessionsPage and HistoryPage: what a caller may read of their conversations."""

from dataclasses import dataclass
from typing import Any, Protocol

from application.chat import Caller, Chat, conversation_of
from application.errors import NotFound, ValidationFailed
from application.paging import check_page
from domain.conversation import ConversationDeleted, ConversationExpired
from domain.ids import is_uuid

Page = tuple[list[dict[str, Any]], int]


class ConversationViews(Protocol):
    def sessions(self, owner_id: str, page: int, limit: int) -> Page: ...

    def history(self, session_id: str, page: int, limit: int, before: str | None) -> "History":
        """`before` must be a UUID."""
        ...


@dataclass(frozen=True, slots=True)
class History:
    owner: str | None
    """Who owns the conversation; None if the read model does not have it (yet)."""
    page: Page | None
    """None if `before` names no message of the conversation."""


def sessions_page(views: ConversationViews, caller: Caller, page: int, limit: int) -> Page:
    check_page(page, limit)
    return views.sessions(caller.user_id, page, limit)


def may_read(chat: Chat, caller: Caller, session_id: str, owner: str | None) -> None:
    """NotFound unless the caller may read the conversation.

    Replaying the conversation's events would decode every message it holds on every page:
    its `owner` comes from the read model, and the event store only says whether its newest
    event ends it (a deletion the read model may not show yet). A conversation the read
    model does not have yet is replayed from the event store, which is current.
    """
    if owner is None:
        conversation_of(chat.store, session_id, caller)
        return
    newest = chat.store.latest_type(session_id)
    if newest in (None, ConversationDeleted, ConversationExpired) or not caller.may_see(owner):
        raise NotFound("Session not found")


def history_page(
    chat: Chat,
    views: ConversationViews,
    caller: Caller,
    session_id: str,
    page: int,
    limit: int,
    before: str | None,
) -> Page:
    check_page(page, limit)
    if not is_uuid(session_id):
        raise NotFound("Session not found")
    if before is not None and not is_uuid(before):
        raise ValidationFailed("before: must be a message id (a UUID)")
    found = views.history(session_id, page, limit, before)
    may_read(chat, caller, session_id, found.owner)  # before anything is said of the page
    if found.page is None:
        raise ValidationFailed("before: no such message in this session")
    return found.page
