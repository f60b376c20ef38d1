"""Counters for the admin dashboard and analytics: daily totals, users' last activity, chats.

Every figure is derived from event timestamps and positions, never from the clock at apply
time, so a rebuild gives the same rows; "today" and "the last 30 days" are asked at query
time (projections/stats_views.py).
"""

from collections import Counter
from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from domain.conversation import (
    ConversationDeleted,
    ConversationExpired,
    ConversationStarted,
    MessagesImported,
    ReplyFinished,
    ReplyStarted,
    UserMessagePosted,
)
from domain.events import Recorded
from domain.file import FileUploaded
from domain.security import SignInFailed
from domain.token_family import SignedIn
from domain.user import UserRegistered, UserRoleChanged


def utc_day(timestamp: str) -> str:
    """Stored timestamps are ISO-8601 in UTC ("...Z"), so the date is their first ten places."""
    return timestamp[:10]


# Sums per (UTC day, metric) over a batch.
Counts = Counter[tuple[str, str]]


class StatsProjection:
    name = "stats"
    tables = ("llmchat_stats_daily", "llmchat_stats_users", "llmchat_stats_conversations")
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_stats_daily (
            day date NOT NULL,
            metric text NOT NULL,
            value bigint NOT NULL,
            PRIMARY KEY (day, metric)
        )""",
        """CREATE TABLE IF NOT EXISTS llmchat_stats_users (
            user_id uuid PRIMARY KEY,
            role text NOT NULL,
            registered_at timestamptz NOT NULL,
            last_active_at timestamptz
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_stats_users_by_activity
            ON llmchat_stats_users (last_active_at)""",
        """CREATE TABLE IF NOT EXISTS llmchat_stats_conversations (
            session_id uuid PRIMARY KEY,
            owner_id uuid NOT NULL,
            started_at timestamptz NOT NULL,
            message_count integer NOT NULL DEFAULT 0
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_stats_conversations_by_start
            ON llmchat_stats_conversations (started_at)""",
    )

    def apply(self, cursor: Cursor[Any], batch: Sequence[Recorded]) -> None:
        """Counters are summed over the batch and written once each: one upsert per day and
        metric instead of one per event, most of them on the same few rows."""
        counts: Counts = Counter()
        for recorded in batch:
            self.apply_event(cursor, recorded, counts)
        if counts:
            cursor.executemany(
                "INSERT INTO llmchat_stats_daily (day, metric, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (day, metric) DO UPDATE"
                " SET value = llmchat_stats_daily.value + EXCLUDED.value",
                [(day, metric, by) for (day, metric), by in sorted(counts.items()) if by],
            )

    def apply_event(self, cursor: Cursor[Any], recorded: Recorded, counts: Counts) -> None:
        event, at = recorded.event, recorded.timestamp
        day = utc_day(at)
        match event:
            case UserRegistered():
                cursor.execute(
                    "INSERT INTO llmchat_stats_users (user_id, role, registered_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.user_id, event.role, at),
                )
                counts[day, "users_registered"] += 1
            case UserRoleChanged():
                cursor.execute(
                    "UPDATE llmchat_stats_users SET role = %s WHERE user_id = %s",
                    (event.role, event.user_id),
                )
            case SignedIn():
                self.active(cursor, event.user_id, at)
                counts[day, "sign_ins"] += 1
            case SignInFailed():
                counts[day, "sign_in_failures"] += 1
            case ConversationStarted():
                cursor.execute(
                    "INSERT INTO llmchat_stats_conversations (session_id, owner_id, started_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.session_id, event.owner_id, at),
                )
                counts[day, "conversations_started"] += 1
            case UserMessagePosted():
                self.add_messages(cursor, event.session_id, 1, at, chatted=True)
                counts[day, "messages_posted"] += 1
            case ReplyStarted():
                self.add_messages(cursor, event.session_id, 1, at, chatted=False)
            case MessagesImported():
                self.add_messages(cursor, event.session_id, len(event.messages), at, chatted=True)
                counts[day, "messages_imported"] += len(event.messages)
            case ReplyFinished():
                counts[day, f"replies_{event.outcome}"] += 1
                counts[day, "prompt_tokens"] += event.prompt_tokens
                counts[day, "completion_tokens"] += event.completion_tokens
            case ConversationDeleted():
                cursor.execute(
                    "DELETE FROM llmchat_stats_conversations WHERE session_id = %s",
                    (event.session_id,),
                )
                counts[day, "conversations_deleted"] += 1
            case ConversationExpired():
                cursor.execute(
                    "DELETE FROM llmchat_stats_conversations WHERE session_id = %s",
                    (event.session_id,),
                )
                counts[day, "conversations_expired"] += 1
            case FileUploaded():
                counts[day, "files_uploaded"] += 1
                counts[day, "bytes_uploaded"] += event.size

    @staticmethod
    def active(cursor: Cursor[Any], user_id: str, at: str) -> None:
        cursor.execute(
            "UPDATE llmchat_stats_users SET last_active_at = GREATEST(last_active_at, %s)"
            " WHERE user_id = %s",
            (at, user_id),
        )

    def add_messages(
        self, cursor: Cursor[Any], session_id: str, count: int, at: str, chatted: bool
    ) -> None:
        cursor.execute(
            "UPDATE llmchat_stats_conversations SET message_count = message_count + %s"
            " WHERE session_id = %s",
            (count, session_id),
        )
        if chatted:
            # The owner is looked up by the statement itself: reading it back would stall
            # the pipeline for a round trip per message.
            cursor.execute(
                "UPDATE llmchat_stats_users SET last_active_at = GREATEST(last_active_at, %s)"
                " WHERE user_id = (SELECT owner_id FROM llmchat_stats_conversations"
                " WHERE session_id = %s)",
                (at, session_id),
            )
