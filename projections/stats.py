"""Counters for the admin dashboard and analytics: daily totals, users' last activity, chats.

Every figure is derived from event timestamps and positions, never from the clock at apply
time, so a rebuild gives the same rows; "today" and "the last 30 days" are asked at query
time (projections/stats_views.py).
"""

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

    def apply(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        event, at = recorded.event, recorded.timestamp
        match event:
            case UserRegistered():
                cursor.execute(
                    "INSERT INTO llmchat_stats_users (user_id, role, registered_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.user_id, event.role, at),
                )
                self.count(cursor, at, "users_registered")
            case UserRoleChanged():
                cursor.execute(
                    "UPDATE llmchat_stats_users SET role = %s WHERE user_id = %s",
                    (event.role, event.user_id),
                )
            case SignedIn():
                self.active(cursor, event.user_id, at)
                self.count(cursor, at, "sign_ins")
            case SignInFailed():
                self.count(cursor, at, "sign_in_failures")
            case ConversationStarted():
                cursor.execute(
                    "INSERT INTO llmchat_stats_conversations (session_id, owner_id, started_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.session_id, event.owner_id, at),
                )
                self.count(cursor, at, "conversations_started")
            case UserMessagePosted():
                self.add_messages(cursor, event.session_id, 1, at, chatted=True)
                self.count(cursor, at, "messages_posted")
            case ReplyStarted():
                self.add_messages(cursor, event.session_id, 1, at, chatted=False)
            case MessagesImported():
                self.add_messages(cursor, event.session_id, len(event.messages), at, chatted=True)
                self.count(cursor, at, "messages_imported", len(event.messages))
            case ReplyFinished():
                self.count(cursor, at, f"replies_{event.outcome}")
                self.count(cursor, at, "prompt_tokens", event.prompt_tokens)
                self.count(cursor, at, "completion_tokens", event.completion_tokens)
            case ConversationDeleted():
                cursor.execute(
                    "DELETE FROM llmchat_stats_conversations WHERE session_id = %s",
                    (event.session_id,),
                )
                self.count(cursor, at, "conversations_deleted")
            case ConversationExpired():
                cursor.execute(
                    "DELETE FROM llmchat_stats_conversations WHERE session_id = %s",
                    (event.session_id,),
                )
                self.count(cursor, at, "conversations_expired")
            case FileUploaded():
                self.count(cursor, at, "files_uploaded")
                self.count(cursor, at, "bytes_uploaded", event.size)

    @staticmethod
    def count(cursor: Cursor[Any], at: str, metric: str, by: int = 1) -> None:
        if by == 0:
            return
        cursor.execute(
            "INSERT INTO llmchat_stats_daily (day, metric, value) VALUES (%s, %s, %s)"
            " ON CONFLICT (day, metric) DO UPDATE"
            " SET value = llmchat_stats_daily.value + EXCLUDED.value",
            (utc_day(at), metric, by),
        )

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
            " WHERE session_id = %s RETURNING owner_id",
            (count, session_id),
        )
        row = cursor.fetchone()
        if chatted and row is not None:
            owner = row["owner_id"] if isinstance(row, dict) else row[0]
            self.active(cursor, str(owner), at)
