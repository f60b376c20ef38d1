"""Conversations per user and messages per conversation: the sessions list and history."""

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from domain.conversation import (
    ConversationDeleted,
    ConversationExpired,
    ConversationStarted,
    ConversationTitled,
    MessagesImported,
    ReplyFinished,
    ReplyStarted,
    UserMessagePosted,
)
from domain.events import Recorded
from domain.reply_stream import ChunksAppended
from domain.user import UserErased
from projections.projection import EventByEvent

# Several messages can come from one event (an import), so a message's place in its
# conversation is the event's log position scaled, plus its index within the event.
SLOTS_PER_EVENT = 1024


class ConversationsProjection(EventByEvent):
    name = "conversations"
    tables = ("llmchat_messages", "llmchat_conversations")
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_conversations (
            session_id uuid PRIMARY KEY,
            owner_id uuid NOT NULL,
            agent_id text NOT NULL,
            title text NOT NULL,
            message_count integer NOT NULL DEFAULT 0,
            last_message_at timestamptz,
            created_at timestamptz NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_conversations_by_owner
            ON llmchat_conversations (owner_id, last_message_at DESC)""",
        """CREATE TABLE IF NOT EXISTS llmchat_messages (
            message_id uuid PRIMARY KEY,
            session_id uuid NOT NULL,
            seq bigint NOT NULL,
            role text NOT NULL,
            content text NOT NULL,
            status text,
            instance_id uuid,
            created_at timestamptz NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_messages_streaming
            ON llmchat_messages (status) WHERE status = 'streaming'""",
        """CREATE INDEX IF NOT EXISTS llmchat_messages_by_session
            ON llmchat_messages (session_id, seq)""",
    )

    def apply_event(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        event, at = recorded.event, recorded.timestamp
        match event:
            case ConversationStarted():
                cursor.execute(
                    "INSERT INTO llmchat_conversations"
                    " (session_id, owner_id, agent_id, title, created_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.session_id, event.owner_id, event.agent_id, event.title, at),
                )
            case UserMessagePosted():
                posted = (event.message_id, "user", event.content, None)
                self.add(cursor, recorded, event.session_id, [posted])
            case ReplyStarted():
                started = (event.message_id, "assistant", "", "streaming")
                self.add(cursor, recorded, event.session_id, [started])
                cursor.execute(
                    "UPDATE llmchat_messages SET instance_id = %s WHERE message_id = %s",
                    (event.instance_id, event.message_id),
                )
            case ChunksAppended():
                cursor.execute(
                    "UPDATE llmchat_messages SET content = content || %s WHERE message_id = %s",
                    (event.text, recorded.stream_id),
                )
            case ReplyFinished():
                cursor.execute(
                    "UPDATE llmchat_messages SET content = %s, status = %s WHERE message_id = %s",
                    (event.content, event.outcome, event.message_id),
                )
            case MessagesImported():
                rows = [(m.message_id, m.role, m.content, None) for m in event.messages]
                self.add(cursor, recorded, event.session_id, rows)
            case ConversationTitled():
                cursor.execute(
                    "UPDATE llmchat_conversations SET title = %s WHERE session_id = %s",
                    (event.title, event.session_id),
                )
            case ConversationDeleted() | ConversationExpired():
                for table in self.tables:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE session_id = %s", (event.session_id,)
                    )
            case UserErased():  # every conversation of theirs, as if each were deleted
                cursor.execute(
                    "DELETE FROM llmchat_messages WHERE session_id IN (SELECT session_id"
                    " FROM llmchat_conversations WHERE owner_id = %s)",
                    (event.user_id,),
                )
                cursor.execute(
                    "DELETE FROM llmchat_conversations WHERE owner_id = %s", (event.user_id,)
                )

    @staticmethod
    def add(
        cursor: Cursor[Any],
        recorded: Recorded,
        session_id: str,
        messages: Sequence[tuple[str, str, str, str | None]],
    ) -> None:
        base = recorded.position * SLOTS_PER_EVENT
        cursor.executemany(
            "INSERT INTO llmchat_messages"
            " (message_id, session_id, seq, role, content, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (mid, session_id, base + i, role, content, status, recorded.timestamp)
                for i, (mid, role, content, status) in enumerate(messages)
            ],
        )
        cursor.execute(
            "UPDATE llmchat_conversations SET message_count = message_count + %s,"
            " last_message_at = %s WHERE session_id = %s",
            (len(messages), recorded.timestamp, session_id),
        )
