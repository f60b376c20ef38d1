"""SessionsPage and HistoryPage: what a caller may read of their conversations."""

from typing import Any, Protocol

from application.chat import Caller, Chat, conversation_of
from application.errors import ValidationFailed

Page = tuple[list[dict[str, Any]], int]


class ConversationViews(Protocol):
    def sessions(self, owner_id: str, page: int, limit: int) -> Page: ...

    def history(
        self, session_id: str, page: int, limit: int, before: str | None
    ) -> Page | None: ...


def check_page(page: int, limit: int) -> None:
    if page < 1:
        raise ValidationFailed("page: must be at least 1")
    if not 1 <= limit <= 100:
        raise ValidationFailed("limit: must be between 1 and 100")


def sessions_page(views: ConversationViews, caller: Caller, page: int, limit: int) -> Page:
    check_page(page, limit)
    return views.sessions(caller.user_id, page, limit)


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
    conversation_of(chat.store, session_id, caller)
    found = views.history(session_id, page, limit, before)
    if found is None:
        raise ValidationFailed("before: no such message in this session")
    return found
