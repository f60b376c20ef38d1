import time
import uuid
from concurrent.futures import ThreadPoolExecutor

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


def test_redis_attempts_count_within_a_window_release_and_clear(redis_namespace):
    client = redis.Redis.from_url(REDIS_URL)
    attempts = RedisAttempts(client, redis_namespace)
    key, other = f"login:account:{uuid.uuid4()}", f"login:address:{uuid.uuid4()}"
    assert attempts.reserve([(key, 2), (other, 9)], 60) == 0
    assert attempts.reserve([(key, 2), (other, 9)], 60) == 0
    wait = attempts.reserve([(key, 2), (other, 9)], 60)
    assert 0 < wait <= 60
    # A refused attempt counts on no key: the other key still holds two.
    assert int(client.get(attempts.key(other)) or 0) == 2
    attempts.release(key)
    assert attempts.reserve([(key, 2)], 60) == 0
    attempts.clear(key)
    assert client.get(attempts.key(key)) is None
    attempts.release(key)  # after the window: nothing to take back, no key left behind
    assert client.get(attempts.key(key)) is None
    client.close()


def test_concurrent_reservations_in_redis_never_pass_the_limit(redis_namespace):
    client = redis.Redis.from_url(REDIS_URL)
    attempts = RedisAttempts(client, redis_namespace)
    key = f"login:account:{uuid.uuid4()}"
    with ThreadPoolExecutor(20) as pool:
        waits = list(pool.map(lambda _: attempts.reserve([(key, 5)], 60), range(40)))
    assert waits.count(0) == 5
    client.close()


def test_redis_attempts_fail_open_when_redis_is_unreachable():
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    attempts = RedisAttempts(client, "x")
    assert attempts.reserve([("k", 1)], 60) == 0
    attempts.release("k")
    attempts.clear("k")
