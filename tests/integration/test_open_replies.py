"""The heartbeat finds open replies from the write side's own table, kept with every append:
a reply no read model has reached is found, a closed one is not, a live instance's is left."""

import uuid

import pytest

from application.ports import PendingEvent
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from infrastructure.event_store import RecorderEventStore
from infrastructure.instances import PostgresOpenReplies
from infrastructure.postgres import create_schema, open_datastore
from tests.unit.fakes import FixedClock


@pytest.fixture(scope="module")
def datastore(make_database):
    datastore = open_datastore(make_database("open_replies"), pool_size=2)
    yield datastore
    datastore.close()


@pytest.fixture(scope="module")
def store(datastore):
    return RecorderEventStore(create_schema(datastore), FixedClock())


def opened(store: RecorderEventStore, instance_id: str) -> str:
    message_id = str(uuid.uuid4())
    opening = ReplyOpened(
        message_id=message_id,
        session_id=str(uuid.uuid4()),
        owner_id=str(uuid.uuid4()),
        instance_id=instance_id,
    )
    store.append(
        [
            PendingEvent(message_id, 1, opening),
            PendingEvent(message_id, 2, ChunksAppended(text="Hel", deltas=1)),
        ]
    )
    return message_id


def test_a_reply_of_a_silent_instance_is_abandoned_until_it_closes(datastore, store):
    here = PostgresOpenReplies(datastore, store, str(uuid.uuid4()))
    gone = str(uuid.uuid4())  # never beat
    reply = opened(store, gone)

    assert reply in here.abandoned()

    store.append([PendingEvent(reply, 3, ReplyClosed(outcome="interrupted", finish_reason="x"))])
    assert reply not in here.abandoned()


def test_replies_of_this_instance_and_of_a_live_one_are_not_abandoned(datastore, store):
    here = PostgresOpenReplies(datastore, store, str(uuid.uuid4()))
    live = PostgresOpenReplies(datastore, store, str(uuid.uuid4()))
    live.beat()
    mine, theirs = opened(store, here.instance_id), opened(store, live.instance_id)

    abandoned = here.abandoned()

    assert mine not in abandoned
    assert theirs not in abandoned
