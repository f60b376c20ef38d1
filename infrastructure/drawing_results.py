"""Parse results of uploaded drawings, kept so that a drawing is parsed only once."""

import threading

from eventsourcing.postgres import PostgresDatastore


class PostgresDrawingResults:
    """One row per file in llmchat_cad_results.

    The column is `json`, not `jsonb`: jsonb refuses the \\u0000 escape, which DXF text
    can contain, and `json` keeps the text exactly as the first answer sent it.
    """

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def save(self, file_id: str, result: bytes) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute(
                "INSERT INTO llmchat_cad_results (file_id, result) VALUES (%s, %s::json)"
                " ON CONFLICT (file_id) DO UPDATE SET result = EXCLUDED.result,"
                " parsed_at = now()",
                (file_id, result.decode()),
            )

    def load(self, file_id: str) -> bytes | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT result::text AS result FROM llmchat_cad_results WHERE file_id = %s",
                (file_id,),
            ).fetchone()
        return None if row is None else str(row["result"]).encode()

    def delete(self, file_id: str) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("DELETE FROM llmchat_cad_results WHERE file_id = %s", (file_id,))


class InMemoryDrawingResults:
    def __init__(self) -> None:
        self.results: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def save(self, file_id: str, result: bytes) -> None:
        with self.lock:
            self.results[file_id] = result

    def load(self, file_id: str) -> bytes | None:
        return self.results.get(file_id)

    def delete(self, file_id: str) -> None:
        with self.lock:
            self.results.pop(file_id, None)
