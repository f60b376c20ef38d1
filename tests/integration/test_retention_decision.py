"""Retention decides from the conversation's own stream, under its version check, and
erases text only with an expiry it recorded: the write side's table of changes only
nominates, and the read model plays no part."""

import uuid

import pytest

from application.ports import PendingEvent
from domain.conversation import ConversationExpired, ConversationStarted, UserMessagePosted
from infrastructure.data_keys import PostgresDataKeys
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from infrastructure.retention import sweep
from projections.conversations import ConversationsProjection
from tests.unit.fakes import FixedClock

DAY = 86_400


class MovingStore(RecorderEventStore):
    """Posts a message to `moving` right after it is first read, as a request landing
    between the sweep's decision and its erasure would."""

    moving: str | None = None

    def read(self, stream_id, after=0):
        history = super().read(stream_id, after)
        if stream_id == self.moving and history:
            self.moving = None
            self.append([posted(stream_id, history[-1].version + 1, "Still here")])
        return history


@pytest.fixture(scope="module")
def datastore(make_database):
    datastore = open_datastore(make_database("retention_decision"), pool_size=2)
    yield datastore
    datastore.close()


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def store(datastore, clock):
    recorder = create_schema(datastore, ConversationsProjection.schema)
    return MovingStore(recorder, clock, None, PostgresDataKeys(datastore, None))


def posted(session_id, version, content):
    event = UserMessagePosted(session_id=session_id, message_id=str(uuid.uuid4()), content=content)
    return PendingEvent(session_id, version, event)


def conversation(store, datastore):
    """A conversation with one message, as the read model has it."""
    session_id = str(uuid.uuid4())
    started = ConversationStarted(
        session_id=session_id, owner_id=str(uuid.uuid4()), agent_id="openai", title="Vault"
    )
    store.append([PendingEvent(session_id, 1, started), posted(session_id, 2, "PLUGH")])
    project(store, datastore, session_id)
    return session_id


def project(store, datastore, session_id):
    projection = ConversationsProjection()
    with datastore.transaction(commit=True) as cursor:
        for recorded in store.read_all(0, 10_000):
            if recorded.stream_id == session_id:
                projection.apply_event(cursor, recorded)


def texts(store, session_id):
    return [
        r.event.content for r in store.read(session_id) if isinstance(r.event, UserMessagePosted)
    ]


def kinds(store, session_id):
    return [type(r.event) for r in store.read(session_id)]


def test_a_conversation_that_moves_after_the_decision_keeps_its_text(store, datastore, clock):
    session_id = conversation(store, datastore)
    clock.advance(2 * DAY)
    store.moving = session_id

    assert sweep(store, datastore, store.keys, clock, days=1) == 0

    assert store.moving is None  # the message did land between decision and erasure
    assert texts(store, session_id) == ["PLUGH", "Still here"]
    assert ConversationExpired not in kinds(store, session_id)


def test_the_stream_not_the_read_model_says_whether_it_is_idle(store, datastore, clock):
    session_id = conversation(store, datastore)
    clock.advance(2 * DAY)
    # Posted now, and not yet projected: the read model still calls it idle for two days.
    store.append([posted(session_id, 3, "Back again")])

    assert sweep(store, datastore, store.keys, clock, days=1) == 0

    assert texts(store, session_id) == ["PLUGH", "Back again"]
    assert ConversationExpired not in kinds(store, session_id)


def test_an_idle_conversation_is_expired_and_its_text_erased(store, datastore, clock):
    session_id = conversation(store, datastore)
    clock.advance(2 * DAY)

    before = stored_states(datastore, session_id)
    assert sweep(store, datastore, store.keys, clock, days=1) == 1

    assert texts(store, session_id) == [""]
    assert kinds(store, session_id)[-1] is ConversationExpired
    # Its key was destroyed; its stored events are the bytes that were sealed.
    assert stored_states(datastore, session_id)[:-1] == before
    assert not any(b"PLUGH" in state for state in before)


def stored_states(datastore, session_id):
    with datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT state FROM llmchat_events WHERE originator_id = %s ORDER BY notification_id",
            (session_id,),
        ).fetchall()
    return [bytes(row["state"]) for row in rows]


def test_an_idle_conversation_the_read_model_never_reached_is_expired(store, datastore, clock):
    session_id = str(uuid.uuid4())
    started = ConversationStarted(
        session_id=session_id, owner_id=str(uuid.uuid4()), agent_id="openai", title="Unseen"
    )
    store.append([PendingEvent(session_id, 1, started), posted(session_id, 2, "XYZZY")])
    clock.advance(2 * DAY)

    assert sweep(store, datastore, store.keys, clock, days=1) >= 1

    assert texts(store, session_id) == [""]
    assert kinds(store, session_id)[-1] is ConversationExpired
