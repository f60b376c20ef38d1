"""Erasure in PostgreSQL: what a user owns, found in the log, and the erasure's one transaction.

The user's data keys are found by owner in the key table. What the log holds about them
otherwise is found from the events that name an owner: their files (FileUploaded, from
the whole log: uploads are few) and, up to llmchat_keys_since only, the streams an older
main wrote their text into in the clear (their conversations, replies, files, account
and e-mail claim), whose text is rewritten out in place (infrastructure/retention.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore

from application.erase_user import Owned
from application.ports import PendingEvent
from domain.conversation import ConversationStarted
from domain.file import FileUploaded
from domain.reply_stream import ReplyOpened
from domain.user import EmailClaimed, UserRegistered
from infrastructure.data_keys import KEY_TABLE, PostgresDataKeys
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import EVENTS_TABLE
from infrastructure.retention import erase_and_append

OWNING = ("ConversationStarted", "ReplyOpened", "FileUploaded", "UserRegistered", "EmailClaimed")


def owner_named(event: object) -> str | None:
    match event:
        case ConversationStarted(owner_id=owner) | ReplyOpened(owner_id=owner):
            return owner
        case FileUploaded(owner_id=owner):
            return owner
        case UserRegistered(user_id=owner) | EmailClaimed(user_id=owner):
            return owner
    return None


@dataclass
class PostgresErasure:
    datastore: PostgresDatastore
    store: RecorderEventStore
    keys: PostgresDataKeys

    def owned(self, user_id: str) -> Owned:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state,"
                " notification_id <= COALESCE((SELECT position FROM llmchat_keys_since), 0)"
                f" AS plain FROM {EVENTS_TABLE} WHERE topic = ANY(%s)"
                " AND (topic = 'FileUploaded' OR notification_id <="
                " COALESCE((SELECT position FROM llmchat_keys_since), 0))"
                " ORDER BY notification_id",
                (list(OWNING),),
            ).fetchall()
        file_ids, plain = [], []
        for row in rows:
            stored = StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
            )
            recorded = self.store.to_recorded_or_unreadable(stored, 0)
            if owner_named(recorded.event) != user_id:
                continue
            if isinstance(recorded.event, FileUploaded):
                file_ids.append(recorded.stream_id)
            if row["plain"]:
                plain.append(recorded.stream_id)
        return Owned(file_ids, list(dict.fromkeys(plain)))

    def record(self, events: Sequence[PendingEvent], user_id: str, streams: Sequence[str]) -> int:
        def owned_keys(cursor: Any) -> list[str]:
            cursor.execute(
                f"SELECT key_id FROM {KEY_TABLE} WHERE owner_id = %s AND wrapped IS NOT NULL",
                (UUID(user_id),),
            )
            return [str(row["key_id"]) for row in cursor.fetchall()]

        destroyed = erase_and_append(self.datastore, self.store, events, streams, owned_keys)
        self.keys.forget(destroyed)
        return len(destroyed)
