"""PostgreSQL: the connection pool, the event table and our own tables, created once."""

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.conninfo import conninfo_to_dict

EVENTS_TABLE = "llmchat_events"
# Any fixed number: every instance takes the same lock before creating tables, since two
# processes creating one table at once can fail with "tuple concurrently updated".
SCHEMA_LOCK = 7_401_180_001

OWN_TABLES = (
    """CREATE TABLE IF NOT EXISTS llmchat_revocations (
        id text PRIMARY KEY,
        until timestamptz NOT NULL
    )""",
)


def open_datastore(url: str, pool_size: int) -> PostgresDatastore:
    params = conninfo_to_dict(url)
    return PostgresDatastore(
        dbname=str(params.get("dbname", "postgres")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", "5432")),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        connect_timeout=5,
        idle_in_transaction_session_timeout=10,
        pool_size=pool_size,
        max_overflow=pool_size,
        pre_ping=True,
    )


def create_schema(datastore: PostgresDatastore) -> PostgresApplicationRecorder:
    recorder = PostgresApplicationRecorder(datastore, events_table_name=EVENTS_TABLE)
    with locked(datastore, SCHEMA_LOCK):
        recorder.create_table()
        with datastore.get_connection() as conn:
            for statement in OWN_TABLES:
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
