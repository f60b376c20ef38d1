"""An event log written by an older main, kept as raw rows, and what its read models were.

`tests/fixtures/make_old_log.py` wrote the fixture once, driving a real server of that main;
`tests/integration/test_old_log.py` loads it into a fresh database for the code of today.
The rows are the event table's own columns, byte for byte: a replay that needs anything
else from the old database (a column, a table) is a break this test exists to catch.
"""

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from tests.support.server import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "old_log"
EVENTS = FIXTURE / "events.jsonl"
READ_MODELS = FIXTURE / "read_models.json"
AGGREGATES = FIXTURE / "aggregates.json"
PRICES = FIXTURE / "prices.json"
# The event table's columns; the table has no time column: each event's timestamp is
# inside its state (see infrastructure/event_store.py, StoredState).
COLUMNS = ("notification_id", "originator_id", "originator_version", "topic", "state")

# Columns that say when or how fast something ran, not what the log holds: the wall clock
# of the rebuild that wrote the row, and the live runner's last measured lag.
VOLATILE = {"llmchat_projection_positions": frozenset({"applied_at", "lag_ms"})}


def export_rows(db_url: str) -> list[dict[str, Any]]:
    """The event table as stored, in log order: the state as text when it is UTF-8 (it is
    JSON unless the store is encrypted), else base64 under `state_b64`."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM llmchat_events ORDER BY notification_id"
        ).fetchall()
    exported = []
    for position, stream_id, version, topic, state in rows:
        row: dict[str, Any] = {
            "position": position,
            "stream": str(stream_id),
            "version": version,
            "topic": topic,
        }
        raw = bytes(state)
        try:
            row["state"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            row["state_b64"] = base64.b64encode(raw).decode("ascii")
        exported.append(row)
    return exported


def state_of(row: Mapping[str, Any]) -> bytes:
    if "state" in row:
        return str(row["state"]).encode("utf-8")
    return base64.b64decode(row["state_b64"])


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    lines = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_rows(path: Path = EVENTS) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def insert_rows(db_url: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """The rows at their own positions (gaps included: positions a failed append took are
    never reused), and the position counter after the last, as the old database had it."""
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO llmchat_events"
            " (notification_id, originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (r["position"], UUID(r["stream"]), r["version"], r["topic"], state_of(r))
                for r in rows
            ],
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('llmchat_events', 'notification_id'),"
            " (SELECT max(notification_id) FROM llmchat_events))"
        )


def plain(value: Any) -> Any:
    """A column's value as JSON can hold it, one spelling per value."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # normalize(): 1.50 and 1.5 are the same cost, whatever scale a column keeps.
        return str(value.normalize())
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def sorted_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in one order whatever order the table returns them in."""
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def table_rows(db_url: str, table: str) -> Iterator[dict[str, Any]]:
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        names = [column.name for column in cursor.description or ()]
        for values in cursor.fetchall():
            yield {name: plain(value) for name, value in zip(names, values, strict=True)}


def dump_tables(db_url: str, tables: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    dumped = {}
    for table in tables:
        volatile = VOLATILE.get(table, frozenset())
        rows = (
            {k: v for k, v in row.items() if k not in volatile} for row in table_rows(db_url, table)
        )
        dumped[table] = sorted_rows(rows)
    return dumped


def write_json(path: Path, document: object) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# What follows leans on the application's own code, the code under test: when the way
# tables are created or aggregates are loaded changes shape, adapt it here, never the fixture.


def create_tables(db_url: str) -> None:
    """Every table this code would create at start: the event table and the read models'."""
    from api.bootstrap import projections
    from infrastructure.postgres import create_schema, open_datastore
    from projections.runner import POSITIONS

    datastore = open_datastore(db_url, 2)
    try:
        create_schema(datastore, [*POSITIONS, *(s for p in projections() for s in p.schema)])
    finally:
        datastore.close()


def read_model_tables() -> list[str]:
    """The read-model tables of this code, and the table of each projection's position."""
    from api.bootstrap import projections

    return [*(t for p in projections() for t in p.tables), "llmchat_projection_positions"]


# Each aggregate's state as a comparable document: the fields that say what it is now.
AGGREGATE_FIELDS = {
    "User": (
        "id", "email", "name", "role", "password_hash", "created_at", "version",
        "operator_appointed",
    ),
    "TokenFamily": (
        "id", "user_id", "live_refresh_jti", "access_jtis", "revoked", "version",
        "latest_rotation",
    ),
    "Conversation": (
        "id", "owner_id", "agent_id", "title", "messages", "open_reply",
        "provider_conversation_id", "deleted", "version",
    ),
    "Agent": ("id", "definition", "overrides", "in_file", "version", "updated_at", "status"),
    "ApiKey": (
        "id", "name", "role", "scopes", "secret_hash", "created_by", "created_at",
        "revoked_at", "version",
    ),
    "File": (
        "id", "owner_id", "original_name", "extension", "file_type", "content_type", "size",
        "sha256", "description", "uploaded_at", "version", "drawing", "drawing_failure",
        "deleted",
    ),
}  # fmt: skip


def document_of(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: document_of(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [document_of(v) for v in value]
    return value


def aggregate_loaders() -> dict[str, tuple[str, Any]]:
    """By the name of the event a stream starts with: the aggregate it is, and how this code
    loads one from the store (the use cases' own loaders, so the test loads as they do)."""
    from application.accounts import load_user
    from application.agents import load_agent
    from application.api_keys import load_key
    from application.chat import load_conversation
    from application.files import load_file
    from application.repository import Repository
    from domain.token_family import TokenFamily

    def family(store: Any, stream_id: str, first: Any) -> Any:
        return Repository(store).get(TokenFamily, stream_id)

    return {
        "UserRegistered": ("User", lambda store, sid, first: load_user(store, sid)),
        "SignedIn": ("TokenFamily", family),
        "ConversationStarted": ("Conversation", lambda s, sid, first: load_conversation(s, sid)),
        "AgentRegistered": ("Agent", lambda store, sid, first: load_agent(store, first.agent_id)),
        "ApiKeyCreated": ("ApiKey", lambda store, sid, first: load_key(store, sid)),
        "FileUploaded": ("File", lambda store, sid, first: load_file(store, sid)),
    }


def open_store(db_url: str) -> tuple[Any, Any]:
    """The event store adapter over `db_url`, and its datastore (close it after)."""
    from infrastructure.clock import SystemClock
    from infrastructure.event_store import RecorderEventStore
    from infrastructure.postgres import EVENTS_TABLE, EventRecorder, open_datastore

    datastore = open_datastore(db_url, 2)
    recorder = EventRecorder(datastore, events_table_name=EVENTS_TABLE)
    return RecorderEventStore(recorder, SystemClock()), datastore


def aggregates(db_url: str, stream_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every stream, read through the store (every event decoded); those an aggregate
    starts are loaded as that aggregate, the others listed by their events' names."""
    from collections import Counter

    from domain.events import name_of

    loaders = aggregate_loaders()
    store, datastore = open_store(db_url)
    loaded: dict[str, dict[str, Any]] = {}
    try:
        for stream_id in stream_ids:
            history = store.read(stream_id)
            first_name = name_of(history[0].event)
            if first_name not in loaders:
                names = Counter(name_of(r.event) for r in history)
                loaded[stream_id] = {"events": dict(sorted(names.items()))}
                continue
            kind, load = loaders[first_name]
            aggregate = load(store, stream_id, history[0].event)
            state = {f: document_of(getattr(aggregate, f)) for f in AGGREGATE_FIELDS[kind]}
            loaded[stream_id] = {"aggregate": kind, "state": state}
    finally:
        datastore.close()
    return loaded
