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

# Created once: the first creation fills them from the log of an older deployment (an open
# reply is a ReplyOpened stream with no ReplyClosed). A conversation's time is in its events'
# state, which SQL cannot read (it may be encrypted): one the conversations read model has
# seeds from it, any other is nominated at once (the sweep reads its stream, which decides).
WRITE_SIDE_TABLES = (
    f"""DO $$ BEGIN
    IF to_regclass('llmchat_open_replies') IS NULL THEN
        CREATE TABLE llmchat_open_replies (message_id uuid PRIMARY KEY);
        INSERT INTO llmchat_open_replies
            SELECT o.originator_id FROM {EVENTS_TABLE} o WHERE o.topic = 'ReplyOpened'
            AND NOT EXISTS (SELECT 1 FROM {EVENTS_TABLE} c
                WHERE c.originator_id = o.originator_id AND c.topic = 'ReplyClosed');
    END IF;
    IF to_regclass('llmchat_conversation_changes') IS NULL THEN
        CREATE TABLE llmchat_conversation_changes (
            session_id uuid PRIMARY KEY,
            changed_at timestamptz NOT NULL
        );
        CREATE INDEX llmchat_conversation_changes_by_time
            ON llmchat_conversation_changes (changed_at);
        INSERT INTO llmchat_conversation_changes
            SELECT s.originator_id, '-infinity' FROM {EVENTS_TABLE} s
            WHERE s.topic = 'ConversationStarted'
            AND NOT EXISTS (SELECT 1 FROM {EVENTS_TABLE} d WHERE d.originator_id = s.originator_id
                AND d.topic IN ('ConversationDeleted', 'ConversationExpired'));
        IF to_regclass('llmchat_conversations') IS NOT NULL THEN
            UPDATE llmchat_conversation_changes w
                SET changed_at = COALESCE(c.last_message_at, c.created_at)
                FROM llmchat_conversations c WHERE c.session_id = w.session_id;
        END IF;
    END IF;
    IF to_regclass('llmchat_budget_streams') IS NULL THEN
        CREATE TABLE llmchat_budget_streams (stream_id uuid PRIMARY KEY);
        INSERT INTO llmchat_budget_streams
            SELECT DISTINCT originator_id FROM {EVENTS_TABLE} WHERE topic = 'BudgetSet';
    END IF;
    END $$""",
    # One statement-level trigger: a group commit of many chunk rows runs it once. Chunks
    # (the bulk of the log) touch neither table; the update finds only conversation streams.
    """CREATE OR REPLACE FUNCTION llmchat_track_writes() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO llmchat_open_replies
            SELECT originator_id FROM appended WHERE topic = 'ReplyOpened'
            ON CONFLICT DO NOTHING;
        DELETE FROM llmchat_open_replies WHERE message_id IN
            (SELECT originator_id FROM appended WHERE topic = 'ReplyClosed');
        INSERT INTO llmchat_conversation_changes
            SELECT originator_id, now() FROM appended WHERE topic = 'ConversationStarted'
            ON CONFLICT DO NOTHING;
        UPDATE llmchat_conversation_changes SET changed_at = now() WHERE session_id IN
            (SELECT originator_id FROM appended WHERE topic <> 'ChunksAppended');
        DELETE FROM llmchat_conversation_changes WHERE session_id IN
            (SELECT originator_id FROM appended
             WHERE topic IN ('ConversationDeleted', 'ConversationExpired'));
        -- Every process's local index of budget streams (infrastructure/notices.py).
        INSERT INTO llmchat_budget_streams
            SELECT DISTINCT originator_id FROM appended WHERE topic = 'BudgetSet'
            ON CONFLICT DO NOTHING;
        PERFORM pg_notify('llmchat_budgets', originator_id::text)
            FROM appended WHERE topic = 'BudgetSet';
        RETURN NULL;
    END $$""",
    # Created if missing, not replaced: replacing locks the event table against appends.
    f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'llmchat_track_writes') THEN
        CREATE TRIGGER llmchat_track_writes AFTER INSERT ON {EVENTS_TABLE}
            REFERENCING NEW TABLE AS appended
            FOR EACH STATEMENT EXECUTE FUNCTION llmchat_track_writes();
    END IF;
    END $$""",
)

OWN_TABLES = (
    # Text stored in the clear by an older main (no data key to destroy) is rewritten in
    # place by retention and erasure, each rewrite recorded here (the new state's hash) in
    # the same transaction, so that `audit verify` tells it from a forgery and names it
    # (only at positions up to llmchat_keys_since, below).
    """CREATE TABLE IF NOT EXISTS llmchat_event_rewrites (
        position bigint PRIMARY KEY,
        state_hash text NOT NULL,
        rewritten_at timestamptz NOT NULL DEFAULT now()
    )""",
    # Data keys (infrastructure/data_keys.py). The first creation notes the log's head
    # then (llmchat_keys_since): events up to it were stored in the clear by an older
    # main, and only those may ever be rewritten in place (retention and erasure of text
    # written before data keys, recorded in llmchat_event_rewrites); `audit verify` takes
    # no rewrite of an event after it.
    f"""DO $$ BEGIN
    IF to_regclass('llmchat_data_keys') IS NULL THEN
        CREATE TABLE llmchat_data_keys (
            key_id uuid PRIMARY KEY,
            owner_id uuid NOT NULL,
            wrapped bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            destroyed_at timestamptz
        );
        CREATE INDEX llmchat_data_keys_by_owner ON llmchat_data_keys (owner_id);
        CREATE TABLE llmchat_keys_since (position bigint NOT NULL);
        INSERT INTO llmchat_keys_since
            SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE};
    END IF;
    END $$""",
    """CREATE TABLE IF NOT EXISTS llmchat_revocations (
        id text PRIMARY KEY,
        until timestamptz NOT NULL
    )""",
    # Every process's local revocation list (infrastructure/notices.py) hears each change.
    """CREATE OR REPLACE FUNCTION llmchat_revocation_noticed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('llmchat_revocations', NEW.id || ' ' || extract(epoch FROM NEW.until));
        RETURN NULL;
    END $$""",
    """DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'llmchat_revocation_noticed') THEN
        CREATE TRIGGER llmchat_revocation_noticed AFTER INSERT OR UPDATE ON llmchat_revocations
            FOR EACH ROW EXECUTE FUNCTION llmchat_revocation_noticed();
    END IF;
    END $$""",
    # Per user, tokens issued before this moment are refused (infrastructure/revocations.py),
    # and the version of the user's stream that says so (the newest wins).
    """CREATE TABLE IF NOT EXISTS llmchat_sign_in_cutoffs (
        user_id text PRIMARY KEY,
        issued_before timestamptz NOT NULL,
        version bigint NOT NULL
    )""",
    # Its changes reach the same listeners, as `cutoff:<user id> <epoch>`.
    """CREATE OR REPLACE FUNCTION llmchat_cutoff_noticed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify(
            'llmchat_revocations',
            'cutoff:' || NEW.user_id || ' ' || extract(epoch FROM NEW.issued_before)
        );
        RETURN NULL;
    END $$""",
    """DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'llmchat_cutoff_noticed') THEN
        CREATE TRIGGER llmchat_cutoff_noticed AFTER INSERT OR UPDATE ON llmchat_sign_in_cutoffs
            FOR EACH ROW EXECUTE FUNCTION llmchat_cutoff_noticed();
    END IF;
    END $$""",
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
    # The same append with the data keys of the streams it starts, saved in its
    # transaction (a key that is there already fails it, as a stream that is there does).
    """CREATE OR REPLACE FUNCTION llmchat_append_keyed(
        ids uuid[], versions bigint[], topics text[], states bytea[],
        key_ids uuid[], key_owners uuid[], keys bytea[]
    ) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO llmchat_data_keys (key_id, owner_id, wrapped)
            SELECT * FROM unnest(key_ids, key_owners, keys);
        RETURN QUERY SELECT * FROM llmchat_append(ids, versions, topics, states);
    END $$""",
    """CREATE TABLE IF NOT EXISTS llmchat_instances (
        instance_id uuid PRIMARY KEY,
        seen_at timestamptz NOT NULL
    )""",
    # The write side's own view of what is under way, for the heartbeat and retention to
    # decide writes without the read models (which lag the log): replies whose stream is
    # open, and when each conversation's stream last changed. Kept by a trigger on the
    # event table, so every append maintains them in its own transaction, whatever path
    # it takes (the library's recorder, llmchat_append, an expiry).
    *WRITE_SIDE_TABLES,
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


def event_recorder(datastore: PostgresDatastore) -> EventRecorder:
    """The event table's recorder; it creates nothing (see create_tables)."""
    return EventRecorder(datastore, events_table_name=EVENTS_TABLE)


def create_tables(
    datastore: PostgresDatastore, recorder: EventRecorder, more: Sequence[str] = ()
) -> None:
    """The event table, our own tables and `more` (the read models'), under one lock."""
    with locked(datastore, SCHEMA_LOCK):
        recorder.create_table()
        with datastore.get_connection() as conn:
            for statement in (*OWN_TABLES, *more):
                conn.execute(statement)


def has_tables(datastore: PostgresDatastore) -> bool:
    """Whether the event table is there: asked without creating anything."""
    with datastore.get_connection() as conn:
        row = conn.execute("SELECT to_regclass(%s) AS found", (EVENTS_TABLE,)).fetchone()
    return row is not None and row["found"] is not None


def create_schema(datastore: PostgresDatastore, more: Sequence[str] = ()) -> EventRecorder:
    """A recorder on tables made sure of: the event table, our own, and `more`."""
    recorder = event_recorder(datastore)
    create_tables(datastore, recorder, more)
    return recorder


@contextmanager
def locked(datastore: PostgresDatastore, key: int) -> Iterator[None]:
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
