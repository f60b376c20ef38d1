"""What an erasure must leave behind: none of the erased text anywhere a person can look."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import psycopg

from tests.support import old_log
from tests.support.server import run_cli


def every_table(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    return [str(row[0]) for row in rows]


def found_in_tables(db_url: str, needles: Iterable[str]) -> list[str]:
    """Each needle found in a row of any table (every row cast to text; bytea columns show
    as hex there, so each needle is looked for in hex too), as `table: needle`."""
    wanted = {n: (n.encode().hex(), n.replace("'", "''")) for n in needles}
    found = []
    with psycopg.connect(db_url) as conn:
        for table in every_table(db_url):
            for (text,) in conn.execute(f'SELECT t::text FROM "{table}" t'):
                found += [
                    f"{table}: {n}"
                    for n, (hexed, _) in wanted.items()
                    if n in text or hexed in text
                ]
    return sorted(set(found))


def found_in_answers(answers: Mapping[str, str], needles: Iterable[str]) -> list[str]:
    return [f"{where}: {n}" for where, text in answers.items() for n in needles if n in text]


def audit_answers(http: httpx.Client, admin: dict[str, str]) -> str:
    pages, page = [], 1
    while True:
        body = http.get("/api/admin/audit", headers=admin, params={"page": page, "limit": 100})
        assert body.status_code == 200, body.text
        data = body.json()["data"]
        pages.append(json.dumps(data, ensure_ascii=False))
        if page >= data["pagination"]["totalPages"]:
            return "\n".join(pages)
        page += 1


def read_models(db_url: str) -> dict[str, list[dict[str, Any]]]:
    # The audit entries' rebuild keeps their ids and hashes; positions' times are volatile.
    return old_log.dump_tables(db_url, old_log.read_model_tables())


def verified(env: Mapping[str, str]) -> str:
    result = run_cli(["audit", "verify"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
