"""The llmchat_agents read model, built from agent events on a real PostgreSQL."""

import json

import psycopg
import pytest

from application.agent_reconfigure import ReconfigureAgent, reconfigure_agent
from application.agent_reload import reload_agents
from application.agents import AgentCatalogue
from domain.agent import AgentOverrides
from infrastructure.agents_file import AgentsFile
from projections.agents import AgentsProjection
from tests.unit.fakes import in_memory_store


def agent(agent_id, **changes):
    entry = {
        "id": agent_id,
        "name": f"Agent {agent_id}",
        "description": "d",
        "category": "general",
        "provider": "openai",
        "endpoint": "https://api.example/v1",
        "apiKey": "sk-never-in-the-table",
        "model": "gpt-4o",
        "capabilities": ["chat", "vision"],
        "config": {"temperature": 0.5, "maxTokens": 100},
    }
    entry.update(changes)
    return entry


@pytest.fixture(scope="module")
def conn(make_database):
    with psycopg.connect(make_database("agents_projection"), autocommit=True) as connection:
        for statement in AgentsProjection.schema:
            connection.execute(statement)
        yield connection


def history(tmp_path):
    """A file registered, changed, overridden and left by one agent: the log it makes."""
    path = tmp_path / "agents.json"
    store = in_memory_store()
    catalogue = AgentCatalogue(store)
    for agents in (
        [agent("a"), agent("b", category="code")],
        [agent("a", model="gpt-4.1"), agent("b", category="code")],
    ):
        path.write_text(json.dumps({"agents": agents}))
        reload_agents(store, AgentsFile(path, {}), catalogue)
    command = ReconfigureAgent("a", AgentOverrides(name="Renamed", temperature=1.5))
    reconfigure_agent(store, catalogue, command)
    path.write_text(json.dumps({"agents": [agent("a", model="gpt-4.1")]}))
    reload_agents(store, AgentsFile(path, {}), catalogue)
    return store.read_all(0, 1000)


def rows(conn):
    return conn.execute("SELECT * FROM llmchat_agents ORDER BY registered_position").fetchall()


def project(conn, recorded):
    projection = AgentsProjection()
    with conn.transaction(), conn.cursor() as cursor:
        projection.apply(cursor, recorded)


def test_the_table_shows_each_agent_as_the_api_does_and_no_key(conn, tmp_path):
    conn.execute("TRUNCATE llmchat_agents")
    project(conn, history(tmp_path))
    columns = "id, name, model, temperature, max_tokens, capabilities, status, in_file"
    found = conn.execute(
        f"SELECT {columns} FROM llmchat_agents ORDER BY registered_position"
    ).fetchall()
    assert found == [
        ("a", "Renamed", "gpt-4.1", 1.5, 100, ["chat", "vision"], "active", True),
        ("b", "Agent b", "gpt-4o", 0.5, 100, ["chat", "vision"], "inactive", False),
    ]
    assert "sk-never" not in json.dumps([list(map(str, row)) for row in rows(conn)])


def test_rebuilding_or_applying_twice_gives_the_same_rows(conn, tmp_path):
    recorded = history(tmp_path)
    conn.execute("TRUNCATE llmchat_agents")
    project(conn, recorded)
    first = rows(conn)
    project(conn, recorded)
    assert rows(conn) == first
    conn.execute("TRUNCATE llmchat_agents")
    project(conn, recorded)
    assert rows(conn) == first
