"""PostgreSQL: the connection pool, the event table and our own tables, created once."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.conninfo import conninfo_to_dict

from infrastructure.pools import BUSY_WAIT, CONNECT_TIMEOUT, RECONNECT_SECONDS, RecoveringPool

EVENTS_TABLE = "llmchat_events"
# Any fixed number: every instance takes the same lock before creating tables, since two
# processes creating one table at once can fail with "tuple concurrently updated".
SCHEMA_LOCK = 7_401_180_001

OWN_TABLES = (
    """CREATE TABLE IF NOT EXISTS llmchat_revocations (
        id text PRIMARY KEY,
        until timestamptz NOT NULL
    )""",
    # One statement, one round trip: the same lock and notification as the library's
    # recorder, so positions still commit in order for the projections tailing the log.
    f"""CREATE OR REPLACE FUNCTION llmchat_append(
        ids uuid[], versions bigint[], topics text[], states bytea[]
    ) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
    BEGIN
        LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE;
        NOTIFY {EVENTS_TABLE};
        RETURN QUERY INSERT INTO {EVENTS_TABLE}
            (originator_id, originator_version, topic, state)
            SELECT * FROM unnest(ids, versions, topics, states)
            RETURNING notification_id;
    END $$""",
    """CREATE TABLE IF NOT EXISTS llmchat_instances (
        instance_id uuid PRIMARY KEY,
        seen_at timestamptz NOT NULL
    )""",
    # Uploaded bytes as fixed-size chunks (see infrastructure/blob_store.py).
    """CREATE TABLE IF NOT EXISTS llmchat_blob_chunks (
        blob_id uuid NOT NULL,
        seq integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (blob_id, seq)
    )""",
    # Parse results of uploaded drawings (see infrastructure/drawing_results.py).
    """CREATE TABLE IF NOT EXISTS llmchat_cad_results (
        file_id uuid PRIMARY KEY,
        result json NOT NULL,
        parsed_at timestamptz NOT NULL DEFAULT now()
    )""",
)


# The library retries a failed statement ten times; with a pool wait each time, a request
# would hang for most of a minute while the database is down. Two tries ride out a blip
# (a restart, a dropped connection) and then fail fast, which the API answers with 503.
BRIEF_RETRY = retry((InterfaceError, OperationalError), max_attempts=2, wait=0.2)


def undecorated(method: Any) -> Any:
    return method.__wrapped__


class EventRecorder(PostgresApplicationRecorder):
    @BRIEF_RETRY
    def insert_events(self, *args: Any, **kwargs: Any) -> Any:
        return undecorated(PostgresApplicationRecorder.insert_events)(self, *args, **kwargs)

    @BRIEF_RETRY
    def select_events(self, *args: Any, **kwargs: Any) -> Any:
        return undecorated(PostgresApplicationRecorder.select_events)(self, *args, **kwargs)

    @BRIEF_RETRY
    def select_latest_topic(self, originator_id: UUID) -> str | None:
        """The topic of the stream's newest event, leaving its state in the database."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT topic FROM {EVENTS_TABLE} WHERE originator_id = %s"
                " ORDER BY originator_version DESC LIMIT 1",
                (originator_id,),
            ).fetchone()
        return None if row is None else str(row["topic"])

    @BRIEF_RETRY
    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        original = undecorated(PostgresApplicationRecorder.select_notifications)
        return original(self, *args, **kwargs)


def open_datastore(url: str, pool_size: int) -> PostgresDatastore:
    params = conninfo_to_dict(url)
    datastore = PostgresDatastore(
        dbname=str(params.get("dbname", "postgres")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", "5432")),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        connect_timeout=CONNECT_TIMEOUT,
        idle_in_transaction_session_timeout=10,
        # Two kept open, up to `pool_size` more under load: several processes share one
        # server's connection limit, and most of the time few connections are busy.
        pool_size=2,
        max_overflow=pool_size,
        pre_ping=False,
    )
    # The library's pool, recovering after an outage (see infrastructure/pools.py), with
    # a timeout for connecting (it sets none).
    library_pool = datastore.pool
    assert isinstance(library_pool.kwargs, dict)
    datastore.pool = RecoveringPool(
        name="datastore",
        connection_class=library_pool.connection_class,
        kwargs={**library_pool.kwargs, "connect_timeout": CONNECT_TIMEOUT},
        min_size=library_pool.min_size,
        max_size=library_pool.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        timeout=BUSY_WAIT,
        max_lifetime=library_pool.max_lifetime,
        reconnect_timeout=RECONNECT_SECONDS,
    )
    return datastore


def create_schema(datastore: PostgresDatastore, more: Sequence[str] = ()) -> EventRecorder:
    """The event table, our own tables and `more` (the read models'), under one lock."""
    recorder = EventRecorder(datastore, events_table_name=EVENTS_TABLE)
    with locked(datastore, SCHEMA_LOCK):
        recorder.create_table()
        with datastore.get_connection() as conn:
            for statement in (*OWN_TABLES, *more):
                conn.execute(statement)
    return recorder


@contextmanager
def locked(datastore: PostgresDatastore, key: int) -> Iterator[None]:
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
