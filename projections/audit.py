"""The audit trail: one hash-chained entry per command and security event, in log order.

The runner applies events in log order, each exactly once, so the chain is the same on every
run and a rebuild reproduces it hash for hash (see projections/audit_chain.py).
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import Cursor

from domain.conversation import ConversationStarted
from domain.events import Recorded
from domain.file import FileUploaded
from domain.timestamps import iso_millis
from projections.audit_chain import GENESIS, ChainedEntry, chained_hash
from projections.audit_entries import AuditEntry, entry_of
from projections.projection import row_values

COLUMNS = (
    "position, id, at, user_id, action, resource, outcome, details, ip, user_agent,"
    " request_id, previous_hash, hash"
)


def utc_millis(timestamp: str | datetime) -> str:
    """One spelling of a moment, whether it comes from the log or back from a timestamptz."""
    if isinstance(timestamp, str):
        timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return iso_millis(timestamp.astimezone(UTC))


class AuditProjection:
    name = "audit"
    tables = ("llmchat_audit", "llmchat_audit_owners", "llmchat_audit_head")
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_audit (
            position bigint PRIMARY KEY,
            id uuid NOT NULL UNIQUE,
            at timestamptz NOT NULL,
            user_id text,
            action text NOT NULL,
            resource text NOT NULL,
            outcome text NOT NULL,
            details text,
            ip text,
            user_agent text,
            request_id text,
            previous_hash text NOT NULL,
            hash text NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_audit_by_user
            ON llmchat_audit (user_id, position DESC)""",
        """CREATE INDEX IF NOT EXISTS llmchat_audit_by_action
            ON llmchat_audit (action, position DESC)""",
        """CREATE INDEX IF NOT EXISTS llmchat_audit_by_time ON llmchat_audit (at)""",
        # Who owns a session or a file, for events that name only the session or the file.
        """CREATE TABLE IF NOT EXISTS llmchat_audit_owners (
            resource text PRIMARY KEY,
            owner_id text NOT NULL
        )""",
        # One row: how long the chain is and its last hash, so a removed last entry shows.
        """CREATE TABLE IF NOT EXISTS llmchat_audit_head (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            entries bigint NOT NULL,
            hash text NOT NULL
        )""",
    )

    def apply(self, cursor: Cursor[Any], batch: Sequence[Recorded]) -> None:
        """The chain's head is read once and written once per batch, and owners are
        remembered across it: each read would otherwise stall the pipeline for a round trip."""
        owners: dict[str, str | None] = {}

        def owner(resource: str) -> str | None:
            if resource not in owners:
                owners[resource] = owner_of(cursor, resource)
            return owners[resource]

        head: tuple[int, str] | None = None
        for recorded in batch:
            learned = self.remember_owner(cursor, recorded.event)
            if learned is not None:
                owners[learned[0]] = learned[1]
            entry = entry_of(recorded, owner)
            if entry is None:
                continue
            if head is None:
                head = read_head(cursor)
            head = self.append(cursor, normalised(entry), head)
        if head is not None:
            cursor.execute(
                "INSERT INTO llmchat_audit_head (only_row, entries, hash) VALUES (true, %s, %s)"
                " ON CONFLICT (only_row) DO UPDATE SET entries = EXCLUDED.entries,"
                " hash = EXCLUDED.hash",
                head,
            )

    @staticmethod
    def append(cursor: Cursor[Any], entry: AuditEntry, head: tuple[int, str]) -> tuple[int, str]:
        """Chain one entry after `head`; returns the new head."""
        entries, previous_hash = head
        digest = chained_hash(previous_hash, entry)
        cursor.execute(
            f"INSERT INTO llmchat_audit ({COLUMNS})"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                entry.position,
                entry.id,
                entry.timestamp,
                entry.user_id,
                entry.action,
                entry.resource,
                entry.outcome,
                entry.details,
                entry.ip,
                entry.user_agent,
                entry.request_id,
                previous_hash,
                digest,
            ),
        )
        return entries + 1, digest

    @staticmethod
    def remember_owner(cursor: Cursor[Any], event: object) -> tuple[str, str] | None:
        match event:
            case ConversationStarted(session_id=session_id, owner_id=owner_id):
                resource = f"session:{session_id}"
            case FileUploaded(file_id=file_id, owner_id=owner_id):
                resource = f"file:{file_id}"
            case _:
                return None
        cursor.execute(
            "INSERT INTO llmchat_audit_owners (resource, owner_id) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (resource, owner_id),
        )
        return resource, str(owner_id)


def read_one(cursor: Cursor[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    """One row, read on a cursor of its own: in pipeline mode the shared cursor may still be
    handed the result of a statement sent before this one, and fetchone then fails with
    "the last operation didn't produce records"."""
    with cursor.connection.cursor() as reading:
        return reading.execute(query, params).fetchone()


def read_head(cursor: Cursor[Any]) -> tuple[int, str]:
    row = read_one(cursor, "SELECT entries, hash FROM llmchat_audit_head")
    if row is None:
        return 0, GENESIS
    entries, digest = row_values(row)
    return int(entries), str(digest)


def owner_of(cursor: Cursor[Any], resource: str) -> str | None:
    row = read_one(
        cursor, "SELECT owner_id FROM llmchat_audit_owners WHERE resource = %s", (resource,)
    )
    return None if row is None else str(row_values(row)[0])


def normalised(entry: AuditEntry) -> AuditEntry:
    """The entry as it reads back from its row, so the hash can be recomputed from the row."""
    return AuditEntry(
        id=entry.id,
        position=entry.position,
        timestamp=utc_millis(entry.timestamp),
        user_id=entry.user_id,
        action=entry.action,
        resource=entry.resource,
        outcome=entry.outcome,
        details=entry.details,
        ip=entry.ip,
        user_agent=entry.user_agent,
        request_id=entry.request_id,
    )


def entry_from_row(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=str(row["id"]),
        position=int(row["position"]),
        timestamp=utc_millis(row["at"]),
        user_id=row["user_id"],
        action=row["action"],
        resource=row["resource"],
        outcome=row["outcome"],
        details=row["details"],
        ip=row["ip"],
        user_agent=row["user_agent"],
        request_id=row["request_id"],
    )


def chain_from_rows(rows: Iterator[dict[str, Any]]) -> Iterator[ChainedEntry]:
    for row in rows:
        yield ChainedEntry(entry_from_row(row), row["previous_hash"], row["hash"])
