"""`llmchat audit verify`: an intact trail passes; an altered, removed or reordered row fails
and is named; a rebuild from the log restores the trail hash for hash."""

import httpx
import psycopg
import pytest

from tests.e2e.admin_fixtures import eventually, projections_current, read_models, server_env
from tests.support.builders import register, signed_in
from tests.support.server import ServerProcess, run_cli


@pytest.fixture(scope="module")
def verify_env(fake_provider, make_database, redis_namespace, tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify")
    return server_env(fake_provider, make_database, redis_namespace, folder, "verify")


@pytest.fixture(scope="module")
def trail(verify_env):
    """A server that has written an audit trail of a few entries, then stopped."""
    server = ServerProcess(verify_env, args=())  # with its projection workers
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for _ in range(3):
                register(client)
                signed_in(client)
        db_url = verify_env["LLMCHAT_DATABASE_URL"]
        assert eventually(lambda: projections_current(db_url))
    finally:
        server.stop()
    return verify_env


def verify(env):
    return run_cli(["audit", "verify"], env)


def sql(env, statement, *params):
    with psycopg.connect(env["LLMCHAT_DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def entries(env):
    return sql(env, "SELECT position, id::text, ip FROM llmchat_audit ORDER BY position")


def test_an_untouched_trail_verifies(trail):
    checked = verify(trail)
    assert checked.returncode == 0, checked.stderr
    count = len(entries(trail))
    assert count >= 12
    assert checked.stdout.startswith(f"audit chain intact: {count} entries, head ")
    # The audit chain's line, then the event chain's (tests/e2e/test_event_seals.py).
    lines = checked.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("event chain intact: ")


def test_altering_one_row_fails_and_names_it(trail):
    position, entry_id, ip = entries(trail)[4]
    sql(trail, "UPDATE llmchat_audit SET ip = '203.0.113.7' WHERE position = %s", position)
    try:
        checked = verify(trail)
    finally:
        sql(trail, "UPDATE llmchat_audit SET ip = %s WHERE position = %s", ip, position)
    assert checked.returncode == 1
    assert f"broken at entry {entry_id} (position {position}" in checked.stderr
    assert "content does not match" in checked.stderr
    assert verify(trail).returncode == 0


def test_removing_or_reordering_rows_fails_and_a_rebuild_restores_the_trail(trail):
    before = read_models(trail["LLMCHAT_DATABASE_URL"])
    rows = entries(trail)
    (second, second_id, _), (third, third_id, _) = rows[1], rows[2]
    sql(trail, "DELETE FROM llmchat_audit WHERE position = %s", second)
    removed = verify(trail)
    assert removed.returncode == 1
    assert f"broken at entry {third_id}" in removed.stderr

    sql(
        trail,
        "DELETE FROM llmchat_audit WHERE position = (SELECT max(position) FROM llmchat_audit)",
    )
    sql(trail, "UPDATE llmchat_audit SET position = -position WHERE position = %s", third)
    reordered = verify(trail)
    assert reordered.returncode == 1
    assert f"broken at entry {third_id}" in reordered.stderr

    rebuilt = run_cli(["projections", "rebuild", "audit"], trail)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert read_models(trail["LLMCHAT_DATABASE_URL"]) == before
    assert verify(trail).returncode == 0
    assert second_id in {entry_id for _, entry_id, _ in entries(trail)}


def test_removing_the_last_row_fails_against_the_chain_head(trail):
    last, _, _ = entries(trail)[-1]
    saved = sql(trail, "SELECT * FROM llmchat_audit WHERE position = %s", last)
    sql(trail, "DELETE FROM llmchat_audit WHERE position = %s", last)
    try:
        checked = verify(trail)
    finally:
        columns = ", ".join(["%s"] * len(saved[0]))
        sql(trail, f"INSERT INTO llmchat_audit VALUES ({columns})", *saved[0])
    assert checked.returncode == 1
    assert "head" in checked.stderr
    assert verify(trail).returncode == 0
