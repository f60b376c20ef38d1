"""Reading the event log straight from PostgreSQL, as an auditor (or an attacker) would."""

import json
from typing import Any

import psycopg


def raw_states(db_url: str) -> list[bytes]:
    with psycopg.connect(db_url) as conn:
        return [bytes(row[0]) for row in conn.execute("SELECT state FROM llmchat_events")]


def stored_events(db_url: str, topic: str) -> list[dict[str, Any]]:
    """The data of every stored event of this type (unencrypted stores only)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT state FROM llmchat_events WHERE topic = %s ORDER BY notification_id", (topic,)
        ).fetchall()
    return [json.loads(bytes(row[0]))["data"] for row in rows]
