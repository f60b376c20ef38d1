"""Read-only commands read: no DDL, no event, and in a database LLMChat never started in,
no table created and a plain line saying so (api/start.py)."""

import uuid

import psycopg
import pytest

from api.bootstrap import Database, build_container
from api.start import start
from infrastructure.settings import Settings
from tests.conftest import JWT_SECRET
from tests.support.server import run_cli

READ_ONLY = (
    (["audit", "verify"], 0),
    (["events", "export"], 0),
    (["projections", "status"], 0),
    (["sessions", "replay", str(uuid.uuid4())], 1),  # no such session: still only a read
)

# Every DDL statement run in the database, whoever runs it (event triggers see them all).
WATCH_DDL = """
CREATE TABLE ddl_seen (tag text NOT NULL);
CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO ddl_seen (tag) VALUES (tg_tag); END $$;
CREATE EVENT TRIGGER note_ddl ON ddl_command_start EXECUTE FUNCTION note_ddl();
"""


def env_for(url, tmp_path):
    return {
        "LLMCHAT_DATABASE_URL": url,
        "LLMCHAT_JWT_SECRET": JWT_SECRET,
        "LLMCHAT_DATA_DIR": str(tmp_path),
    }


def counts(url):
    with psycopg.connect(url) as conn:
        ddl = conn.execute("SELECT count(*) FROM ddl_seen").fetchone()
        events = conn.execute("SELECT count(*) FROM llmchat_events").fetchone()
    assert ddl is not None and events is not None
    return ddl[0], events[0]


@pytest.fixture
def started_database(make_database, tmp_path):
    """A database a server has started in (tables, the demo agent's events), DDL watched."""
    url = make_database(f"read_only_{uuid.uuid4().hex[:6]}")
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET, data_dir=str(tmp_path))
    start(build_container(settings, Database(url))).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(WATCH_DDL)
    return url


def test_read_only_commands_run_no_ddl_and_write_no_event(started_database, tmp_path):
    url = started_database
    ddl_before, events_before = counts(url)
    assert events_before > 0
    for command, code in READ_ONLY:
        result = run_cli(command, env_for(url, tmp_path))
        assert result.returncode == code, (command, result.stderr)
        assert counts(url) == (ddl_before, events_before), f"{command} changed the database"
    # The watch itself works: a command that writes makes sure of the tables, seen as DDL.
    run_cli(["admin", "promote", "nobody@example.com"], env_for(url, tmp_path))
    assert counts(url)[0] > ddl_before


def test_a_read_only_command_on_a_fresh_database_creates_no_table_and_says_so(
    make_database, tmp_path
):
    url = make_database(f"fresh_{uuid.uuid4().hex[:6]}")
    for command, _ in READ_ONLY:
        result = run_cli(command, env_for(url, tmp_path))
        assert result.returncode == 1, (command, result.stderr)
        line = result.stderr.strip()
        assert "\n" not in line and "no LLMChat tables" in line, line
        assert "LLMCHAT_DATABASE_URL" in line and "llmchat serve" in line, line
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


def test_a_read_only_command_makes_no_secret_file(started_database, tmp_path):
    # Wiring writes nothing: the JWT secret is made on first use, which these never reach.
    data_dir = tmp_path / "fresh-data"
    env = {**env_for(started_database, data_dir), "LLMCHAT_JWT_SECRET": None}
    for command, code in READ_ONLY:
        result = run_cli(command, env)
        assert result.returncode == code, (command, result.stderr)
    assert not (data_dir / "jwt_secret").exists()
