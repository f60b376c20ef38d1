"""Files per owner, for analytics and listings: what was uploaded, by whom, and what became of it.

The file routes read each file's own stream (consistent at once); this table is for
questions across files (storage per user, uploads per day, drawings parsed).
Deleted files keep their row with `deleted_at` set, so counts over time stay true.
"""

from typing import Any

from psycopg import Cursor

from domain.events import Recorded
from domain.file import CadParsed, FileDeleted, FileUploaded
from domain.user import UserErased
from projections.projection import EventByEvent


class FilesProjection(EventByEvent):
    name = "files"
    tables = ("llmchat_files",)
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_files (
            file_id uuid PRIMARY KEY,
            owner_id uuid NOT NULL,
            original_name text NOT NULL,
            stored_name text NOT NULL,
            file_type text NOT NULL,
            content_type text NOT NULL,
            size bigint NOT NULL,
            sha256 text NOT NULL,
            description text NOT NULL,
            uploaded_at timestamptz NOT NULL,
            cad_entity_count integer,
            cad_parsed_at timestamptz,
            deleted_at timestamptz
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_files_by_owner
            ON llmchat_files (owner_id, uploaded_at DESC)""",
    )

    def apply_event(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        event, at = recorded.event, recorded.timestamp
        match event:
            case FileUploaded():
                cursor.execute(
                    "INSERT INTO llmchat_files (file_id, owner_id, original_name, stored_name,"
                    " file_type, content_type, size, sha256, description, uploaded_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (
                        event.file_id,
                        event.owner_id,
                        event.original_name,
                        f"{event.file_id}.{event.extension}",
                        event.file_type,
                        event.content_type,
                        event.size,
                        event.sha256,
                        event.description,
                        at,
                    ),
                )
            case CadParsed():
                cursor.execute(
                    "UPDATE llmchat_files SET cad_entity_count = %s, cad_parsed_at = %s"
                    " WHERE file_id = %s",
                    (event.entity_count, at, event.file_id),
                )
            case UserErased():  # their descriptions, as a rebuild reads them now
                cursor.execute(
                    "UPDATE llmchat_files SET description = '' WHERE owner_id = %s",
                    (event.user_id,),
                )
            case FileDeleted():
                cursor.execute(
                    "UPDATE llmchat_files SET deleted_at = %s WHERE file_id = %s",
                    (at, event.file_id),
                )
