"""Projection runners on real PostgreSQL: several workers at once, a worker that dies, a
rebuild while they follow, and the lag they measure."""

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from application.ports import PendingEvent
from domain.user import UserRegistered
from infrastructure.clock import SystemClock
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from projections.audit import AuditProjection
from projections.audit_views import AuditViews
from projections.projection import Projection
from projections.rebuild import rebuild
from projections.runner import (
    POSITIONS,
    ProjectionRunner,
    lock_key,
    wait_for_appends,
    wait_until_current,
)
from projections.stats import StatsProjection

PROJECTIONS: list[Projection] = [StatsProjection(), AuditProjection()]
# The stats projection's advisory lock as held in this test's database (pg_locks shows
# every database's locks, and other test runs hold the same keys in theirs).
STATS_LOCK = """locktype = 'advisory' AND granted AND objid = %s::bigint::oid
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""


class Workers:
    """Runners following in threads, each with its own stop switch, as separate workers."""

    def __init__(self, datastore: Any, store: RecorderEventStore, channel: str, url: str) -> None:
        self.args = (datastore, store, channel, url)
        self.running: list[tuple[threading.Event, list[threading.Thread]]] = []

    def start(self) -> threading.Event:
        runner = ProjectionRunner(*self.args)
        stop = threading.Event()
        threads = [
            threading.Thread(target=runner.follow, args=([p], stop), daemon=True)
            for p in PROJECTIONS
        ]
        for thread in threads:
            thread.start()
        self.running.append((stop, threads))
        return stop

    def stop_all(self) -> None:
        for stop, threads in self.running:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)


@pytest.fixture(scope="module")
def database(make_database):
    url = make_database("runner")
    datastore = open_datastore(url, pool_size=4)
    schema = [*POSITIONS, *(s for p in PROJECTIONS for s in p.schema)]
    recorder = create_schema(datastore, schema)
    yield datastore, RecorderEventStore(recorder, SystemClock()), recorder.channel_name, url
    datastore.close()


@pytest.fixture
def workers(database) -> Iterator[Workers]:
    running = Workers(*database)
    yield running
    running.stop_all()


def register(store: RecorderEventStore, count: int) -> None:
    for _ in range(count):
        user = str(uuid.uuid4())
        event = UserRegistered(
            user_id=user, email=f"{user}@example.com", name="n", role="user", password_hash="h"
        )
        store.append([PendingEvent(user, 1, event)])


def registered(datastore: Any) -> tuple[int, int, int]:
    """(users, users_registered summed over days, audit entries) as the read models say."""
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM llmchat_stats_users) AS users,"
            " (SELECT COALESCE(sum(value), 0) FROM llmchat_stats_daily"
            "  WHERE metric = 'users_registered') AS counted,"
            " (SELECT count(*) FROM llmchat_audit WHERE action = 'auth.register') AS audited"
        ).fetchone()
    return int(row["users"]), int(row["counted"]), int(row["audited"])


def current(datastore: Any, store: RecorderEventStore) -> None:
    runner = ProjectionRunner(datastore, store, "unused", "unused")
    assert wait_until_current(runner, PROJECTIONS, timeout=20)


def test_two_workers_following_at_once_count_every_event_once(database, workers):
    datastore, store, _, _ = database
    before = registered(datastore)[0]
    workers.start()
    workers.start()
    writers = [threading.Thread(target=register, args=(store, 40)) for _ in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    current(datastore, store)
    assert registered(datastore) == (before + 120,) * 3
    with datastore.get_connection() as conn:
        holders = conn.execute(
            f"SELECT count(*) AS n FROM pg_locks WHERE {STATS_LOCK}",
            (lock_key("stats"),),
        ).fetchone()
    assert holders["n"] == 1


def test_runners_racing_without_the_lock_still_apply_each_batch_once(database):
    datastore, store, _, _ = database
    current(datastore, store)
    before = registered(datastore)[0]
    register(store, 60)
    racers = [
        threading.Thread(
            target=ProjectionRunner(datastore, store, "unused", "unused").catch_up,
            args=(projection,),
            kwargs={"limit": None},
        )
        for projection in PROJECTIONS
        for _ in range(3)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert registered(datastore) == (before + 60,) * 3


def test_another_worker_takes_over_when_the_one_applying_dies(database, workers):
    datastore, store, _, url = database
    first = workers.start()
    current(datastore, store)
    before = registered(datastore)[0]
    workers.start()
    # The first worker dies: its threads stop and its sessions end, as a crash would end them.
    first.set()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {STATS_LOCK}",
            (lock_key("stats"),),
        )
    register(store, 10)
    current(datastore, store)
    assert registered(datastore) == (before + 10,) * 3


def test_a_rebuild_while_workers_follow_gives_the_same_tables(database, workers):
    datastore, store, _, _ = database
    workers.start()
    register(store, 5)
    current(datastore, store)
    tables = [t for p in PROJECTIONS for t in p.tables]

    def rows() -> dict[str, list[str]]:
        with datastore.get_connection() as conn:
            return {
                t: [r["row"] for r in conn.execute(f"SELECT x::text AS row FROM {t} x ORDER BY 1")]
                for t in tables
            }

    live = rows()
    runner = ProjectionRunner(datastore, store, "unused", "unused")
    started = time.monotonic()
    for projection in PROJECTIONS:
        rebuild(runner, projection)
    assert time.monotonic() - started < 10, "the workers did not hand their locks over"
    assert rows() == live
    assert AuditViews(datastore).verify().intact
    # The workers take their projections back and carry on from the rebuilt position.
    before = registered(datastore)[0]
    register(store, 3)
    current(datastore, store)
    assert registered(datastore) == (before + 3,) * 3


def test_lag_from_append_to_read_model_is_measured(database, workers):
    datastore, store, _, _ = database
    workers.start()
    current(datastore, store)
    register(store, 1)
    current(datastore, store)
    with datastore.get_connection() as conn:
        lags = conn.execute(
            "SELECT name, lag_ms FROM llmchat_projection_positions ORDER BY name"
        ).fetchall()
    assert [row["name"] for row in lags] == ["audit", "stats"]
    assert all(0 <= row["lag_ms"] < 5000 for row in lags)


class CountedStop(threading.Event):
    """A stop switch that counts how often the runner waited on it."""

    waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_a_burst_of_appends_costs_one_wait_and_leaves_no_wake_up_behind(database):
    """A busy log sends hundreds of notifications per catch-up: the runner must gather once
    per burst, not once per notification (that fell seconds behind under load)."""
    _, _, channel, url = database
    with (
        psycopg.connect(url, autocommit=True) as listening,
        psycopg.connect(url, autocommit=True) as appending,
    ):
        listening.execute(f'LISTEN "{channel}"')
        for _ in range(200):
            appending.execute(f'NOTIFY "{channel}"')
        stop = CountedStop()
        wait_for_appends(listening, stop)
        assert stop.waits == 1
        assert list(listening.notifies(timeout=0)) == [], "the burst was taken whole"
