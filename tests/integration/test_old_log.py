"""A log written by an older main replays, with today's code, to the read models and aggregates
that main built from it (issue 15: stored history must replay unchanged).

The log is `tests/fixtures/old_log/events.jsonl`: raw rows of the event table, written by a
real server of main at 36349b3 (`tests/fixtures/make_old_log.py`). What that main rebuilt
from them is beside it. Never regenerate those files to make this test pass: a difference
is a change in what stored history means.
"""

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from domain.events import known_names
from tests.e2e.admin_fixtures import eventually
from tests.support import old_log
from tests.support.builders import login
from tests.support.erasure import (
    audit_answers,
    found_in_answers,
    found_in_tables,
    read_models,
    verified,
)
from tests.support.server import ServerProcess, run_cli

JWT_SECRET = "old-log-secret-" + "o" * 40


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return old_log.read_rows()


@pytest.fixture(scope="module")
def replayed(
    rows: list[dict[str, Any]],
    make_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """A database holding the old rows, with every read model rebuilt by today's code the
    way an operator upgrading would: `llmchat projections rebuild`."""
    db_url = make_database("old_log")
    old_log.create_tables(db_url)
    old_log.insert_rows(db_url, rows)
    env = {
        "LLMCHAT_DATABASE_URL": db_url,
        "LLMCHAT_DATA_DIR": str(tmp_path_factory.mktemp("old_log")),
        "LLMCHAT_JWT_SECRET": JWT_SECRET,
        # The usage ledger's cost columns were priced with these.
        "LLMCHAT_PRICES_FILE": str(old_log.PRICES),
    }
    rebuilt = run_cli(["projections", "rebuild"], env, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "quarantined" not in rebuilt.stdout + rebuilt.stderr, rebuilt.stdout + rebuilt.stderr
    return env


def differences(table: str, expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> str:
    """What differs, in a few lines: missing columns, then rows on one side only."""
    columns = set().union(*(row.keys() for row in expected))
    present = set().union(*(row.keys() for row in got))
    lines = [f"{table}: columns gone: {sorted(columns - present)}"] if columns - present else []
    # Columns the old main did not have are additions; compare what it had.
    kept = [{k: v for k, v in row.items() if k in columns} for row in got]
    as_text = [json.dumps(r, sort_keys=True) for r in expected]
    got_text = [json.dumps(r, sort_keys=True) for r in kept]
    only_old = [r for r in as_text if r not in got_text]
    only_new = [r for r in got_text if r not in as_text]
    lines += [f"{table}: {len(expected)} rows expected, {len(got)} rebuilt"]
    lines += [f"  only in the old main's: {r}" for r in only_old[:5]]
    lines += [f"  only in today's:        {r}" for r in only_new[:5]]
    return "\n".join(lines) if only_old or only_new or columns - present else ""


def test_every_read_model_rebuilds_as_the_old_main_built_it(replayed: dict[str, str]) -> None:
    expected: dict[str, list[dict[str, Any]]] = old_log.read_json(old_log.READ_MODELS)
    gone = sorted(set(expected) - set(old_log.read_model_tables()))
    got = old_log.dump_tables(replayed["LLMCHAT_DATABASE_URL"], sorted(set(expected) - set(gone)))
    # A read model added since (users, say) has a position of its own: not a difference.
    positions = "llmchat_projection_positions"
    if positions in got:
        known = {row["name"] for row in expected[positions]}
        got[positions] = [row for row in got[positions] if row["name"] in known]
    report = [differences(table, expected[table], got[table]) for table in got]
    if gone:
        report.append(f"read-model tables gone: {gone}")
    assert not any(report), "\n".join(r for r in report if r)


def test_nothing_was_quarantined_and_the_log_is_untouched(
    replayed: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    db_url = replayed["LLMCHAT_DATABASE_URL"]
    assert list(old_log.table_rows(db_url, "llmchat_projection_quarantine")) == []
    # Rebuilding reads the log and only the log: not one row written or rewritten.
    assert old_log.export_rows(db_url) == rows


def test_every_aggregate_loads_as_the_old_main_loaded_it(
    replayed: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    expected: dict[str, dict[str, Any]] = old_log.read_json(old_log.AGGREGATES)
    streams = sorted({row["stream"] for row in rows})
    loaded = json.loads(json.dumps(old_log.aggregates(replayed["LLMCHAT_DATABASE_URL"], streams)))
    kinds = {doc["aggregate"] for doc in expected.values() if "aggregate" in doc}
    assert kinds == {"User", "TokenFamily", "Conversation", "Agent", "ApiKey", "File"}
    wrong = [
        f"{stream_id}:\n  then: {doc}\n  now:  {loaded.get(stream_id)}"
        for stream_id, doc in expected.items()
        if loaded.get(stream_id) != doc
    ]
    assert not wrong, f"{len(wrong)} of {len(expected)} streams load differently:\n" + "\n".join(
        wrong[:5]
    )


def test_the_audit_trail_of_the_old_log_verifies(replayed: dict[str, str]) -> None:
    verified = run_cli(["audit", "verify"], replayed)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_every_stored_event_name_is_still_known(rows: list[dict[str, Any]]) -> None:
    stored = {row["topic"] for row in rows}
    assert stored <= set(known_names()), (
        f"names no type is stored under: {stored - set(known_names())}"
    )
    # Types added since that main cannot be in its log; say which, so that a reader sees what
    # this test does not cover.
    missing = sorted(set(known_names()) - stored)
    if missing:
        warnings.warn(f"event types the old log does not hold: {missing}", stacklevel=1)


def test_the_fixture_is_small_enough_to_keep_in_the_repository() -> None:
    kept = [old_log.EVENTS, old_log.READ_MODELS, old_log.AGGREGATES, old_log.PRICES]
    assert sum(Path(path).stat().st_size for path in kept) < 1024 * 1024


# Ada's words in the old log: her messages, a title, a reply's echo and a file description.
ADA = "ada@old-log.test"
ADAS_WORDS = ["你好, who are you?", "And again?", "welcome back", "my notes"]
OLD_ADMIN = {"email": "root@old-log.test", "password": "root-password-1"}


def test_erasure_and_retention_on_the_old_log_keep_the_guarantees(
    rows: list[dict[str, Any]],
    make_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The old main stored text in the clear: there is no key to destroy, so erasure and
    retention rewrite it out of those events in place (recorded); `audit verify` takes those
    rewrites (and only of events up to the position where data keys began), and nothing of
    the erased text is left anywhere."""
    db_url = make_database("old_log_erased")
    old_log.create_tables(db_url)
    old_log.insert_rows(db_url, rows)
    # The old main had no key table: the first start after it makes one at the log's head.
    with psycopg.connect(db_url) as conn:
        conn.execute("DROP TABLE llmchat_data_keys, llmchat_keys_since")
    env = {
        "LLMCHAT_DATABASE_URL": db_url,
        "LLMCHAT_DATA_DIR": str(tmp_path_factory.mktemp("old_log_erased")),
        "LLMCHAT_JWT_SECRET": JWT_SECRET,
        "LLMCHAT_PRICES_FILE": str(old_log.PRICES),
        "LLMCHAT_ADMIN_EMAIL": OLD_ADMIN["email"],
        "LLMCHAT_ADMIN_PASSWORD": OLD_ADMIN["password"],
    }
    assert run_cli(["projections", "rebuild"], env, timeout=300).returncode == 0
    assert {hit.split(": ", 1)[1] for hit in found_in_tables(db_url, ADAS_WORDS)} == set(ADAS_WORDS)
    server = ServerProcess(env, args=())
    server.start()
    try:
        # Everything the old main wrote is sealed first: its rewrites are then recorded.
        assert eventually(lambda: "not yet sealed" not in verified(env), timeout=30)
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            admin = {"Authorization": f"Bearer {login(http, **OLD_ADMIN)['token']}"}
            listed = http.get("/api/admin/users", headers=admin, params={"email": ADA}).json()
            [ada] = listed["data"]["items"]
            answer = http.post(f"/api/admin/users/{ada['id']}/erase", headers=admin)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["filesDeleted"] == 3  # of 4: one was deleted then
            left = eventually(lambda: not found_in_tables(db_url, ADAS_WORDS))
            assert left, found_in_tables(db_url, ADAS_WORDS)
            assert eventually(lambda: "user.erase" in audit_answers(http, admin))
            assert not found_in_answers({"audit": audit_answers(http, admin)}, ADAS_WORDS)
        assert eventually(lambda: "not yet sealed" not in verified(env), timeout=30)
    finally:
        server.stop()

    said = verified(env)
    assert "rewritten in place" in said and "events stored in the clear before data keys" in said
    exported = run_cli(["events", "export"], env)
    assert exported.returncode == 0, exported.stderr
    assert not found_in_answers({"export": exported.stdout}, ADAS_WORDS)
    before = read_models(db_url)
    assert run_cli(["projections", "rebuild"], env, timeout=300).returncode == 0
    assert read_models(db_url) == before

    # Retention on what is left of the old log: every conversation's text goes the same way.
    others = ["Hello anthropic", "tell me slowly", "through the door"]
    assert found_in_tables(db_url, others)
    swept = run_cli(["retention", "sweep", "--days", "0"], env)
    assert swept.returncode == 0, swept.stderr
    assert not [hit for hit in found_in_tables(db_url, others) if "llmchat_events" in hit]
    verified(env)
