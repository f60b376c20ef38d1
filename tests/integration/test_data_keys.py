"""Personal content is stored under data keys: readable while the key lives, erased (and
the stored bytes unchanged) once it is destroyed, on real PostgreSQL."""

import uuid
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.cipher import AESCipher

from application.errors import StreamConflict
from application.ports import PendingEvent
from domain.conversation import ConversationStarted, ReplyFinished, UserMessagePosted
from domain.reply_stream import ChunksAppended, ReplyOpened
from domain.user import UserRegistered
from infrastructure.data_keys import PostgresDataKeys, destroy_keys
from infrastructure.encryption import PayloadCipher
from infrastructure.event_store import RecorderEventStore
from infrastructure.group_commit import GroupCommitWriter
from infrastructure.postgres import create_schema, open_datastore
from tests.unit.fakes import FixedClock

MASTER = AESCipher.create_key(32)


@pytest.fixture(scope="module")
def datastore(make_database):
    store = open_datastore(make_database("data_keys"), pool_size=2)
    yield store
    store.close()


def keyed_store(datastore, master: str | None) -> tuple[RecorderEventStore, PostgresDataKeys]:
    keys = PostgresDataKeys(datastore, master)
    keys.make_log_key()
    cipher = PayloadCipher(keys) if master else None
    return RecorderEventStore(create_schema(datastore), FixedClock(), cipher, keys), keys


def raw_states(datastore, stream_ids: list[str]) -> list[bytes]:
    with datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT state FROM llmchat_events WHERE originator_id = ANY(%s::uuid[])"
            " ORDER BY notification_id",
            (stream_ids,),
        ).fetchall()
    return [bytes(row["state"]) for row in rows]


def a_conversation(store: RecorderEventStore, owner: str) -> tuple[str, str]:
    session, reply = str(uuid.uuid4()), str(uuid.uuid4())
    started = ConversationStarted(
        session_id=session, owner_id=owner, agent_id="demo", title="zebra-title-7"
    )
    posted = UserMessagePosted(session_id=session, message_id="m1", content="zebra-question-7")
    opened = ReplyOpened(message_id=reply, session_id=session, owner_id=owner, instance_id="i")
    store.append([PendingEvent(session, 1, started), PendingEvent(session, 2, posted)])
    store.append([PendingEvent(reply, 1, opened)])
    store.append([PendingEvent(reply, 2, ChunksAppended(text="zebra-answer-7", deltas=1))])
    finished = ReplyFinished(
        session_id=session,
        message_id=reply,
        outcome="completed",
        content="zebra-answer-7",
        finish_reason="stop",
    )
    store.append([PendingEvent(session, 3, finished)])
    return session, reply


@pytest.mark.parametrize("master", [None, MASTER], ids=["unwrapped", "wrapped"])
def test_text_is_ciphertext_in_the_table_and_erased_once_its_key_is_destroyed(datastore, master):
    store, keys = keyed_store(datastore, master)
    owner = str(uuid.uuid4())
    session, reply = a_conversation(store, owner)
    before = raw_states(datastore, [session, reply])
    assert not any(b"zebra" in state for state in before)

    read: list[Any] = [r.event for r in store.read(session)] + [r.event for r in store.read(reply)]
    assert read[0].title == "zebra-title-7" and read[1].content == "zebra-question-7"
    assert read[-1].text == "zebra-answer-7" and read[2].content == "zebra-answer-7"
    assert {r.data_key for r in store.read(session)} == {session}
    assert keys.owned_by(owner) == [session]

    with datastore.transaction(commit=True) as cursor:
        destroy_keys(cursor, [session])
    # Another process (a fresh key ring) reads it after the destruction.
    later, _ = keyed_store(datastore, master)
    again = later.read(session) + later.read(reply)
    assert all(r.erased for r in again if r.data_key)
    events: list[Any] = [r.event for r in again]
    assert events[0].title == "" and events[0].owner_id == owner
    assert events[1].content == "" and events[-1].text == ""
    assert events[1].message_id == "m1"  # what, when and who stay
    # Not a byte of the log changed: the seal chain over it still holds.
    assert raw_states(datastore, [session, reply]) == before


def test_a_user_key_is_the_users_own_and_a_destroyed_key_takes_no_new_text(datastore):
    store, keys = keyed_store(datastore, None)
    user = str(uuid.uuid4())
    registered = UserRegistered(
        user_id=user, email="zebra@x.io", name="Zebra", role="user", password_hash="h"
    )
    store.append([PendingEvent(user, 1, registered)])
    [account] = store.read(user)
    assert isinstance(account.event, UserRegistered) and account.event.email == "zebra@x.io"
    assert keys.owned_by(user) == [user]
    session, _ = a_conversation(store, user)
    assert sorted(keys.owned_by(user)) == sorted([user, session])

    with datastore.transaction(commit=True) as cursor:
        destroy_keys(cursor, keys.owned_by(user))
    keys.forget(keys.owned_by(user))
    posted = UserMessagePosted(session_id=session, message_id="m2", content="zebra-late")
    store.append([PendingEvent(session, 4, posted)])
    assert not any(b"zebra" in state for state in raw_states(datastore, [session, user]))
    late = store.read(session)[-1].event
    assert isinstance(late, UserMessagePosted) and late.content == ""


async def test_the_writer_saves_a_new_conversations_key_with_its_first_events(datastore):
    # The chat path makes the key in the process and saves its row in the append that
    # starts the conversation (no key round trip of its own on the event loop).
    store, keys = keyed_store(datastore, MASTER)
    url = datastore_url(datastore)
    writer = GroupCommitWriter(url, store.stamped, keys)
    await writer.start()
    try:
        owner, session = str(uuid.uuid4()), str(uuid.uuid4())
        started = ConversationStarted(
            session_id=session, owner_id=owner, agent_id="demo", title="yak-title-8"
        )
        posted = UserMessagePosted(session_id=session, message_id="m1", content="yak-words-8")
        asked: list[str] = []
        looked_up = keys.looked_up

        def counted(key_id: str) -> bytes | None:
            asked.append(key_id)
            return looked_up(key_id)

        keys.looked_up = counted  # type: ignore[method-assign]
        await writer.write([PendingEvent(session, 1, started), PendingEvent(session, 2, posted)])
        assert session not in asked, "the key table was asked on the event loop"
        assert key_rows(datastore, session) == 1
        fresh = PostgresDataKeys(datastore, MASTER)  # another process: only the table
        other = RecorderEventStore(
            create_schema(datastore), FixedClock(), PayloadCipher(fresh), fresh
        )
        assert [r.event for r in other.read(session)] == [started, posted]
        # Starting it again fails as a whole: the first key stays the only one.
        again = replace(started, title="yak-title-9")
        with pytest.raises(StreamConflict):
            await writer.write([PendingEvent(session, 1, again)])
        assert key_rows(datastore, session) == 1
        assert [r.event for r in other.read(session)] == [started, posted]
    finally:
        await writer.stop()


def datastore_url(datastore) -> str:
    with datastore.get_connection() as conn:
        info = conn.info
        return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def key_rows(datastore, key_id: str) -> int:
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM llmchat_data_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
    return int(row["n"])
