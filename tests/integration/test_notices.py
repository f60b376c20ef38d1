"""The local revocation list and budget index: what another instance writes reaches them
through PostgreSQL's notices; while the listening connection is down they ask the
database, and once it is back they are loaded again, missing nothing written meanwhile."""

import asyncio
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest

from application.ports import PendingEvent
from domain.budget import BudgetSet, budget_stream_id
from infrastructure import notices
from infrastructure.budget_index import NoticedBudgets
from infrastructure.event_store import RecorderEventStore
from infrastructure.notices import NoticeListener
from infrastructure.postgres import create_schema, open_datastore
from infrastructure.revocations import (
    AsyncPostgresRevocations,
    NoticedRevocations,
    PostgresRevocations,
)
from tests.unit.fakes import FixedClock


@pytest.fixture(scope="module")
def url(make_database):
    return make_database("notices")


@pytest.fixture(scope="module")
def datastore(url):
    datastore = open_datastore(url, pool_size=2)
    yield datastore
    datastore.close()


@pytest.fixture(scope="module")
def store(datastore):
    return RecorderEventStore(create_schema(datastore), FixedClock())


@pytest.fixture
async def views(url, store):
    database = AsyncPostgresRevocations(url)
    await database.start()
    revocations, budgets = NoticedRevocations(database), NoticedBudgets()
    listener = NoticeListener(url, [revocations, budgets])
    await listener.start()
    await asyncio.wait_for(listener.listening.wait(), 10)
    yield listener, revocations, budgets
    await listener.stop()
    await database.stop()


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not noticed in time"
        await asyncio.sleep(0.005)


def set_budget(store: RecorderEventStore, subject: str) -> str:
    stream = budget_stream_id("user", subject)
    event = BudgetSet(
        scope="user", subject_id=subject, period="day", tokens=10, cost=None, set_by="admin"
    )
    store.append([PendingEvent(stream, 1, event)])
    return stream


async def test_another_instances_revocation_reaches_the_local_list(views, datastore):
    _, revocations, _ = views
    token = f"jti-{uuid.uuid4()}"
    assert revocations.current and not await revocations.any_revoked([token])
    # Written as another instance would: no local note, only the table and its notice.
    PostgresRevocations(datastore).revoke([token], int(time.time()) + 60)
    await until(lambda: revocations.until.get(token, 0) > time.time())
    assert await revocations.any_revoked([token, "other"])
    # An entry past its time no longer counts.
    PostgresRevocations(datastore).revoke([f"{token}-old"], int(time.time()) - 1)
    assert not await revocations.any_revoked([f"{token}-old"])


async def test_a_budget_set_anywhere_reaches_the_index(views, store):
    _, _, budgets = views
    subject = str(uuid.uuid4())
    stream = budget_stream_id("user", subject)
    assert budgets.none_of([stream])
    set_budget(store, subject)
    await until(lambda: not budgets.none_of([stream]))


async def test_while_the_connection_is_down_the_database_is_asked(
    views, url, datastore, store, monkeypatch
):
    listener, revocations, budgets = views
    monkeypatch.setattr(notices, "RECONNECT_SECONDS", 1.0)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (notices.APPLICATION_NAME,),
        )
    await until(lambda: not revocations.current)
    assert not budgets.none_of([str(uuid.uuid4())]), "an index that is not current cannot tell"
    token, subject = f"jti-{uuid.uuid4()}", str(uuid.uuid4())
    PostgresRevocations(datastore).revoke([token], int(time.time()) + 60)
    stream = set_budget(store, subject)
    assert not revocations.current
    assert await revocations.any_revoked([token]), "asked of the database"
    # Back: loaded whole, with what was written while it was away.
    await asyncio.wait_for(listener.listening.wait(), 10)
    assert revocations.current and token in revocations.until
    assert not budgets.none_of([stream])


async def test_this_process_notes_its_own_revocation_before_its_answer(datastore):
    database = AsyncPostgresRevocations("postgresql://unused")
    revocations = NoticedRevocations(database)
    revocations.current = True
    token = f"jti-{uuid.uuid4()}"
    PostgresRevocations(datastore, noted=revocations.note).revoke([token], int(time.time()) + 60)
    assert await revocations.any_revoked([token])


def test_the_local_list_forgets_what_has_expired():
    revocations = NoticedRevocations(AsyncPostgresRevocations("postgresql://unused"), 3)
    now = time.time()
    revocations.note(["a", "b", "c"], now - 1)
    revocations.note(["d"], now + 60)
    assert set(revocations.until) == {"d"}


async def test_a_users_ended_sign_ins_reach_the_local_list_and_the_database(views, datastore):
    _, revocations, _ = views
    user, issued = str(uuid.uuid4()), int(time.time())
    assert not await revocations.any_revoked(["jti"], user, issued)
    # Deactivated elsewhere: every token of the user, whenever issued.
    PostgresRevocations(datastore).end_sign_ins(user, None, 3)
    await until(lambda: revocations.cutoffs.get(user) == float("inf"))
    assert await revocations.any_revoked(["jti"], user, issued + 3600)
    assert await revocations.database.any_revoked(["jti"], user, issued + 3600)
    # Reactivated: only what was issued before the ending.
    PostgresRevocations(datastore).end_sign_ins(user, issued, 4)
    await until(lambda: revocations.cutoffs.get(user) == issued)
    # A change older than the one already written (written late) changes nothing.
    PostgresRevocations(datastore).end_sign_ins(user, None, 3)
    assert await revocations.any_revoked(["jti"], user, issued - 1)
    assert not await revocations.any_revoked(["jti"], user, issued)
    assert await revocations.database.any_revoked(["jti"], user, issued - 1)
    assert not await revocations.database.any_revoked(["jti"], user, issued)
    assert not await revocations.any_revoked(["jti"], str(uuid.uuid4()), 0)
