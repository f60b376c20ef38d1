"""Who may read a conversation's history: asked of the read model, with the event store
having the last word on a deletion the read model has not caught up with."""

import uuid

import pytest

from application.chat import Caller
from application.errors import NotFound
from application.ports import PendingEvent
from application.session_queries import History, history_page
from domain.conversation import ConversationDeleted, ConversationStarted
from tests.unit.fakes import in_memory_store

OWNER, STRANGER = str(uuid.uuid4()), str(uuid.uuid4())
PAGE = ([{"id": "m", "role": "user", "content": "hi"}], 1)


class StaleViews:
    """A read model that still shows the conversation, whatever the log says since."""

    def __init__(self, owner: str | None) -> None:
        self.owner_id = owner

    def sessions(self, owner_id: str, page: int, limit: int):
        raise AssertionError("not asked")

    def history(self, session_id: str, page: int, limit: int, before: str | None):
        return History(self.owner_id, PAGE)


class ChatWithStore:
    def __init__(self, store) -> None:
        self.store = store


def started(store, *more: object) -> str:
    session_id = str(uuid.uuid4())
    events = [
        ConversationStarted(session_id=session_id, owner_id=OWNER, agent_id="agent", title="title"),
        *more,
    ]
    store.append([PendingEvent(session_id, n + 1, e) for n, e in enumerate(events)])
    return session_id


def read(store, views, caller_id: str, session_id: str):
    chat = ChatWithStore(store)
    return history_page(chat, views, Caller(caller_id, "user"), session_id, 1, 50, None)  # type: ignore[arg-type]


def test_the_owner_reads_the_page_the_read_model_holds():
    store = in_memory_store()
    session_id = started(store)
    assert read(store, StaleViews(OWNER), OWNER, session_id) == PAGE


def test_a_stranger_gets_not_found():
    store = in_memory_store()
    session_id = started(store)
    with pytest.raises(NotFound):
        read(store, StaleViews(OWNER), STRANGER, session_id)


def test_a_deletion_counts_before_the_read_model_shows_it():
    store = in_memory_store()
    session_id = started(store)
    store.append(
        [PendingEvent(session_id, 2, ConversationDeleted(session_id=session_id, deleted_by=OWNER))]
    )
    with pytest.raises(NotFound):
        read(store, StaleViews(OWNER), OWNER, session_id)


def test_a_conversation_not_yet_in_the_read_model_is_checked_in_the_log():
    store = in_memory_store()
    session_id = started(store)
    assert read(store, StaleViews(None), OWNER, session_id) == PAGE
    with pytest.raises(NotFound):
        read(store, StaleViews(None), STRANGER, session_id)
    with pytest.raises(NotFound):
        read(store, StaleViews(None), OWNER, str(uuid.uuid4()))
