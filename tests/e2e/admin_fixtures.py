"""A server of the admin tests' own (with its projection workers), and helpers they share."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.bootstrap import projections
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REDIS_URL
from tests.e2e.chat_fixtures import agents_document
from tests.support.builders import login
from tests.support.server import ServerProcess

READ_MODEL_TABLES = [table for projection in projections() for table in projection.tables]


def server_env(fake, make_database, redis_namespace, folder: Path, label: str) -> dict[str, str]:
    agents_file = folder / "agents.json"
    agents_file.write_text(json.dumps(agents_document(fake)))
    return {
        "LLMCHAT_DATABASE_URL": make_database(label),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}_{label}",
        "LLMCHAT_DATA_DIR": str(folder),
        "LLMCHAT_JWT_SECRET": "admin-secret-" + "a" * 40,
        "LLMCHAT_AGENTS_FILE": str(agents_file),
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LLMCHAT_ENVIRONMENT": "staging",
        # The shared PostgreSQL has few connections to spare.
        "LLMCHAT_DB_POOL_SIZE": "3",
    }


def running(env: dict[str, str]) -> Iterator[ServerProcess]:
    process = ServerProcess(env, args=())  # with its projection workers
    process.start()
    yield process
    process.stop()


def client_of(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def admin_headers(client: httpx.Client) -> dict[str, str]:
    token = login(client, ADMIN_EMAIL, ADMIN_PASSWORD)["token"]
    return {"Authorization": f"Bearer {token}"}


def eventually(check: Callable[[], Any], timeout: float = 10) -> Any:
    """The first truthy answer of `check`: read models trail the log by the projections' lag."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def read_models(db_url: str) -> dict[str, list[str]]:
    """Every read-model row as PostgreSQL spells it, in a fixed order."""
    with psycopg.connect(db_url) as conn:
        return {
            table: [row[0] for row in conn.execute(f"SELECT t::text FROM {table} t ORDER BY 1")]
            for table in READ_MODEL_TABLES
        }


def projections_current(db_url: str) -> bool:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT bool_and(position = (SELECT max(notification_id) FROM llmchat_events))"
            " FROM llmchat_projection_positions"
        ).fetchone()
    return bool(row and row[0])
