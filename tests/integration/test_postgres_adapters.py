import time
import uuid

import pytest
import redis

from application.errors import StreamConflict
from application.ports import PendingEvent
from domain.user import EmailClaimed
from infrastructure.attempts import RedisAttempts
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from infrastructure.revocations import PostgresRevocations
from tests.conftest import REDIS_URL
from tests.unit.fakes import FixedClock


@pytest.fixture(scope="module")
def datastore(make_database):
    store = open_datastore(make_database("adapters"), pool_size=2)
    yield store
    store.close()


@pytest.fixture(scope="module")
def store(datastore):
    return RecorderEventStore(create_schema(datastore), FixedClock())


def test_appended_events_come_back_in_order_with_global_positions(store):
    stream = str(uuid.uuid4())
    store.append([PendingEvent(stream, 1, EmailClaimed(email="a@b.io", user_id="u"))])
    store.append([PendingEvent(stream, 2, EmailClaimed(email="a@b.io", user_id="v"))])
    assert [r.event.user_id for r in store.read(stream)] == ["u", "v"]
    tail = store.read_all(store.last_position() - 2, 10)
    assert [r.version for r in tail] == [1, 2]
    assert tail[0].position < tail[1].position


def test_a_second_append_at_a_taken_version_conflicts(store):
    stream = str(uuid.uuid4())
    store.append([PendingEvent(stream, 1, EmailClaimed(email="a@b.io", user_id="u"))])
    with pytest.raises(StreamConflict):
        store.append([PendingEvent(stream, 1, EmailClaimed(email="a@b.io", user_id="x"))])


def test_creating_the_schema_twice_is_harmless(datastore):
    create_schema(datastore)
    create_schema(datastore)


def test_revocations_hold_until_their_time(datastore):
    revocations = PostgresRevocations(datastore)
    live, lapsed = str(uuid.uuid4()), str(uuid.uuid4())
    revocations.revoke([live], int(time.time()) + 60)
    revocations.revoke([lapsed], int(time.time()) - 1)
    assert revocations.any_revoked([lapsed, live])
    assert not revocations.any_revoked([lapsed, str(uuid.uuid4())])


def test_redis_attempts_count_within_a_window_and_clear(redis_namespace):
    client = redis.Redis.from_url(REDIS_URL)
    attempts = RedisAttempts(client, redis_namespace)
    key = f"login:account:{uuid.uuid4()}"
    assert attempts.failures(key) == (0, 0)
    attempts.record_failure(key, 60)
    assert attempts.record_failure(key, 60) == 2
    count, reset_in = attempts.failures(key)
    assert count == 2 and 0 < reset_in <= 60
    attempts.clear(key)
    assert attempts.failures(key)[0] == 0
    client.close()


def test_redis_attempts_fail_open_when_redis_is_unreachable():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    attempts = RedisAttempts(client, "x")
    assert attempts.record_failure("k", 60) == 0
    assert attempts.failures("k") == (0, 0)
