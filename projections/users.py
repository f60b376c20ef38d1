"""The accounts, for GET /api/admin/users: who they are, their role and their status.

Administrators filter them by role, status and part of the address; the write side has no
list of users (each account is its own stream, and one stream listing them all would make
every registration contend for it), so the listing is this read model and trails the log
by the projection's lag. What a change decides is always read from the user's own stream.
"""

from typing import Any

from psycopg import Cursor

from domain.events import Recorded
from domain.user import (
    ACTIVE,
    DEACTIVATED,
    UserDeactivated,
    UserErased,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
)
from projections.projection import EventByEvent


class UsersProjection(EventByEvent):
    name = "users"
    tables = ("llmchat_users",)
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_users (
            user_id uuid PRIMARY KEY,
            email text NOT NULL,
            name text NOT NULL,
            role text NOT NULL,
            status text NOT NULL,
            created_at timestamptz NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_users_by_creation
            ON llmchat_users (created_at DESC, user_id)""",
    )

    def apply_event(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        event, at = recorded.event, recorded.timestamp
        match event:
            case UserRegistered():
                cursor.execute(
                    "INSERT INTO llmchat_users (user_id, email, name, role, status, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (event.user_id, event.email, event.name, event.role, ACTIVE, at),
                )
            case UserRoleChanged():
                cursor.execute(
                    "UPDATE llmchat_users SET role = %s WHERE user_id = %s",
                    (event.role, event.user_id),
                )
            case UserErased():  # what is left of them once their key is gone
                cursor.execute(
                    "UPDATE llmchat_users SET email = '', name = '', status = %s"
                    " WHERE user_id = %s",
                    (DEACTIVATED, event.user_id),
                )
            case UserDeactivated() | UserReactivated():
                status = DEACTIVATED if isinstance(event, UserDeactivated) else ACTIVE
                cursor.execute(
                    "UPDATE llmchat_users SET status = %s WHERE user_id = %s",
                    (status, event.user_id),
                )
