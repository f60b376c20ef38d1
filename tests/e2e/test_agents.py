"""/api/agents over HTTP: listing, reading, reconfiguring, probing and reloading agents."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from infrastructure.agents_file import key_reference
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AGENT_ENV_KEY,
    AGENT_KEY_VARIABLE,
    AGENT_LITERAL_KEY,
    JWT_SECRET,
    REDIS_URL,
    shared_agents,
)
from tests.fake_provider import ENDPOINT_PATHS
from tests.support.builders import login, signed_in
from tests.support.server import ServerProcess, run_cli

ITEM_FIELDS = {
    "id",
    "name",
    "description",
    "category",
    "provider",
    "avatar",
    "status",
    "capabilities",
    "config",
}
SECRETS = (AGENT_LITERAL_KEY, AGENT_ENV_KEY, key_reference(AGENT_LITERAL_KEY), "env:")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(http):
    return signed_in(http)[1]


@pytest.fixture
def admin(http):
    return bearer(login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["token"])


def ok(response: httpx.Response):
    assert response.status_code == 200, response.text
    assert response.json()["code"] == "SUCCESS"
    return response.json()["data"]


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def listed_ids(http, headers, **params) -> list[str]:
    return [
        item["id"] for item in ok(http.get("/api/agents", headers=headers, params=params))["items"]
    ]


def test_every_agents_route_needs_a_bearer_token(http):
    for method, path in [
        ("GET", "/api/agents"),
        ("GET", "/api/agents/gpt"),
        ("PUT", "/api/agents/gpt"),
        ("GET", "/api/agents/gpt/status"),
        ("POST", "/api/agents/reload"),
    ]:
        refused(http.request(method, path, json={}), 401, "UNAUTHORIZED")


def test_the_list_shows_exactly_the_agents_of_the_file_in_the_spec_shape(http, user, fake_provider):
    data = ok(http.get("/api/agents", headers=user))
    expected = [agent["id"] for agent in shared_agents(fake_provider)]
    assert [item["id"] for item in data["items"]] == expected
    assert data["pagination"] == {"page": 1, "limit": 20, "total": len(expected), "totalPages": 1}
    gpt = next(item for item in data["items"] if item["id"] == "gpt")
    assert set(gpt) == ITEM_FIELDS
    assert gpt["provider"] == "openai" and gpt["category"] == "general"
    assert gpt["status"] == "active" and gpt["capabilities"] == ["chat"]
    assert gpt["config"] == {"model": "openai-model", "temperature": 0.5, "maxTokens": 1024}
    dormant = next(item for item in data["items"] if item["id"] == "dormant")
    assert dormant["status"] == "inactive"


def test_the_list_filters_by_category_and_by_provider(http, user):
    assert listed_ids(http, user, category="code") == ["offline", "dormant"]
    assert listed_ids(http, user, provider="openai") == ["gpt", "editable"]
    assert listed_ids(http, user, category="general", provider="openai") == ["gpt", "editable"]
    assert listed_ids(http, user, category="writing", provider="openai") == []


def test_the_list_is_paginated(http, user):
    pages = [
        ok(http.get("/api/agents", headers=user, params={"limit": 4, "page": p})) for p in (1, 2, 3)
    ]
    assert [len(page["items"]) for page in pages] == [4, 2, 0]
    assert pages[1]["pagination"] == {"page": 2, "limit": 4, "total": 6, "totalPages": 2}
    everything = listed_ids(http, user)
    assert [item["id"] for page in pages for item in page["items"]] == everything
    assert len(listed_ids(http, user, limit=100)) == 6


@pytest.mark.parametrize("params", [{"page": 0}, {"limit": 0}, {"limit": 101}, {"page": "x"}])
def test_paging_outside_its_bounds_is_a_validation_error(http, user, params):
    refused(http.get("/api/agents", headers=user, params=params), 400, "VALIDATION_ERROR")


def test_one_agent_by_id_and_404_for_an_unknown_one(http, user):
    agent = ok(http.get("/api/agents/editable", headers=user))
    assert set(agent) == ITEM_FIELDS and agent["avatar"] == "/avatars/editable.png"
    refused(http.get("/api/agents/nobody", headers=user), 404, "NOT_FOUND")


def test_an_admin_reconfigures_an_agent_and_everyone_sees_it(http, admin, user):
    body = {"name": "Edited", "description": "Now edited", "config": {"temperature": 1.25}}
    changed = ok(http.put("/api/agents/editable", headers=admin, json=body))
    assert changed["name"] == "Edited" and changed["description"] == "Now edited"
    # Fields the body leaves out keep their values.
    assert changed["config"] == {"model": "openai-model", "temperature": 1.25, "maxTokens": 1024}
    assert ok(http.get("/api/agents/editable", headers=user)) == changed
    again = ok(http.put("/api/agents/editable", headers=admin, json={"config": {"maxTokens": 64}}))
    assert again["config"]["maxTokens"] == 64 and again["config"]["temperature"] == 1.25


INVALID_BODIES = {
    "temperature below 0": {"config": {"temperature": -0.1}},
    "temperature above 2": {"config": {"temperature": 2.1}},
    "maxTokens below 1": {"config": {"maxTokens": 0}},
    "maxTokens above the limit": {"config": {"maxTokens": 200_001}},
    "maxTokens not whole": {"config": {"maxTokens": 1.5}},
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "name too long": {"name": "n" * 101},
    "unknown field": {"name": "Fine", "apiKey": "sk-nope"},
    "unknown config field": {"config": {"topP": 0.5}},
    "temperature as text": {"config": {"temperature": "hot"}},
}


@pytest.mark.parametrize("case", INVALID_BODIES)
def test_a_reconfiguration_breaking_a_rule_is_refused_and_changes_nothing(http, admin, case):
    before = ok(http.get("/api/agents/editable", headers=admin))
    response = http.put("/api/agents/editable", headers=admin, json=INVALID_BODIES[case])
    refused(response, 400, "VALIDATION_ERROR")
    assert ok(http.get("/api/agents/editable", headers=admin)) == before


@pytest.mark.parametrize(
    ("body", "read"),
    [
        ({"config": {"temperature": 0}}, lambda a: a["config"]["temperature"] == 0),
        ({"config": {"temperature": 2}}, lambda a: a["config"]["temperature"] == 2),
        ({"config": {"maxTokens": 1}}, lambda a: a["config"]["maxTokens"] == 1),
        ({"config": {"maxTokens": 200_000}}, lambda a: a["config"]["maxTokens"] == 200_000),
        ({"name": "n" * 100}, lambda a: a["name"] == "n" * 100),
    ],
)
def test_values_on_the_edge_of_a_rule_are_accepted(http, admin, body, read):
    assert read(ok(http.put("/api/agents/editable", headers=admin, json=body)))


def test_reconfiguring_an_unknown_agent_is_404(http, admin):
    refused(http.put("/api/agents/nobody", headers=admin, json={"name": "X"}), 404, "NOT_FOUND")


def test_a_plain_user_may_neither_reconfigure_nor_reload(http, user):
    before = ok(http.get("/api/agents/gpt", headers=user))
    refused(http.put("/api/agents/gpt", headers=user, json={"name": "Mine"}), 403, "FORBIDDEN")
    refused(http.post("/api/agents/reload", headers=user), 403, "FORBIDDEN")
    assert ok(http.get("/api/agents/gpt", headers=user)) == before


def test_the_status_probes_the_provider_and_caches_the_answer_briefly(http, user, fake_provider):
    models = ENDPOINT_PATHS["openai"] + "/models"
    asked = fake_provider.request_count(models)
    first = ok(http.get("/api/agents/gpt/status", headers=user))
    assert first["reachable"] is True and first["error"] is None
    assert isinstance(first["latency"], int | float) and first["latency"] >= 0
    assert first["checkedAt"].endswith("Z") and first["id"] == "gpt"
    assert fake_provider.request_count(models) == asked + 1
    assert (
        fake_provider.last_request(models).headers["authorization"] == f"Bearer {AGENT_LITERAL_KEY}"
    )
    second = ok(http.get("/api/agents/gpt/status", headers=user))
    assert second["checkedAt"] == first["checkedAt"]
    assert fake_provider.request_count(models) == asked + 1


def test_the_status_probe_uses_a_key_from_the_environment(http, user, fake_provider):
    assert ok(http.get("/api/agents/claude/status", headers=user))["reachable"] is True
    sent = fake_provider.last_request(ENDPOINT_PATHS["anthropic"] + "/v1/models")
    assert sent.headers["x-api-key"] == AGENT_ENV_KEY


def test_an_unreachable_provider_is_reported_with_a_short_error(http, user):
    status = ok(http.get("/api/agents/offline/status", headers=user))
    assert status["reachable"] is False and status["latency"] is None
    assert 0 < len(status["error"]) <= 200


def test_the_demo_agent_is_always_reachable_and_unknown_agents_are_404(http, user):
    assert ok(http.get("/api/agents/demo/status", headers=user))["reachable"] is True
    refused(http.get("/api/agents/nobody/status", headers=user), 404, "NOT_FOUND")


def test_no_answer_and_no_stored_event_carries_a_key(http, admin, server_env):
    answers = [
        http.get("/api/agents", headers=admin, params={"limit": 100}),
        http.put("/api/agents/gpt", headers=admin, json={"description": "Checked for secrets"}),
        http.post("/api/agents/reload", headers=admin),
        http.put("/api/agents/gpt", headers=admin, json={"apiKey": "x"}),
    ]
    for agent_id in ("gpt", "claude", "offline", "editable", "demo"):
        answers.append(http.get(f"/api/agents/{agent_id}", headers=admin))
        answers.append(http.get(f"/api/agents/{agent_id}/status", headers=admin))
    assert {a.status_code for a in answers} == {200, 400}
    for answer in answers:
        for secret in SECRETS:
            assert secret not in answer.text, (answer.request.url, secret)
    exported = run_cli(["events", "export"], server_env)
    assert exported.returncode == 0 and "AgentRegistered" in exported.stdout
    assert AGENT_LITERAL_KEY not in exported.stdout and AGENT_ENV_KEY not in exported.stdout


# Servers of their own: a reload or a restart must not disturb the shared server's agents.


def own_agent(agent_id: str, **changes: object) -> dict[str, object]:
    agent: dict[str, object] = {
        "id": agent_id,
        "name": f"Own {agent_id}",
        "description": "for reload tests",
        "category": "general",
        "provider": "demo",
        "endpoint": "",
        "apiKey": "",
        "model": "demo-echo",
        "capabilities": [],
        "config": {"temperature": 0.3, "maxTokens": 100},
    }
    agent.update(changes)
    return agent


def write_agents(path, *agents) -> None:
    path.write_text(json.dumps({"agents": list(agents)}))


def own_env(make_database, redis_namespace, tmp_path, label: str) -> dict[str, str]:
    return {
        "LLMCHAT_DATABASE_URL": make_database(label),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}_{label}",
        "LLMCHAT_DATA_DIR": str(tmp_path / "data"),
        "LLMCHAT_JWT_SECRET": JWT_SECRET,
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LLMCHAT_AGENTS_FILE": str(tmp_path / "agents.json"),
    }


@contextmanager
def as_admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        client.headers.update(bearer(login(client, ADMIN_EMAIL, ADMIN_PASSWORD)["token"]))
        yield client


def test_a_reload_follows_the_file_and_a_bad_file_changes_nothing(
    make_database, redis_namespace, tmp_path
):
    env = own_env(make_database, redis_namespace, tmp_path, "agents_reload")
    path = tmp_path / "agents.json"
    write_agents(path, own_agent("stays"), own_agent("changes"), own_agent("goes"))
    server = ServerProcess(env)
    server.start()
    try:
        with as_admin(server) as http:
            assert ok(http.post("/api/agents/reload")) == {
                "registered": [],
                "reconfigured": [],
                "deactivated": [],
            }
            write_agents(
                path, own_agent("stays"), own_agent("changes", model="demo-2"), own_agent("new")
            )
            assert ok(http.post("/api/agents/reload")) == {
                "registered": ["new"],
                "reconfigured": ["changes"],
                "deactivated": ["goes"],
            }
            assert listed_ids(http, {}) == ["stays", "changes", "new"]
            assert ok(http.get("/api/agents/changes"))["config"]["model"] == "demo-2"
            refused(http.get("/api/agents/goes"), 404, "NOT_FOUND")

            for bad in ("{broken", json.dumps({"agents": [own_agent("x", provider="skynet")]})):
                path.write_text(bad)
                refused(http.post("/api/agents/reload"), 400, "VALIDATION_ERROR")
                assert listed_ids(http, {}) == ["stays", "changes", "new"]
    finally:
        server.stop()


def test_a_reconfiguration_survives_a_restart_and_a_reload_of_the_unchanged_file(
    make_database, redis_namespace, tmp_path
):
    env = own_env(make_database, redis_namespace, tmp_path, "agents_restart")
    write_agents(tmp_path / "agents.json", own_agent("kept"))
    first = ServerProcess(env)
    first.start()
    try:
        with as_admin(first) as http:
            body = {"name": "Renamed", "config": {"model": "echo-2", "maxTokens": 7}}
            ok(http.put("/api/agents/kept", json=body))
    finally:
        first.stop()

    second = ServerProcess(env)
    second.start()
    try:
        with as_admin(second) as http:
            agent = ok(http.get("/api/agents/kept"))
            assert agent["name"] == "Renamed"
            assert agent["config"] == {"model": "echo-2", "temperature": 0.3, "maxTokens": 7}
            assert ok(http.post("/api/agents/reload"))["reconfigured"] == []
            assert ok(http.get("/api/agents/kept")) == agent
    finally:
        second.stop()


def test_without_an_agents_file_there_is_only_the_demo_agent(
    make_database, redis_namespace, tmp_path
):
    env = own_env(make_database, redis_namespace, tmp_path, "agents_none")
    del env["LLMCHAT_AGENTS_FILE"]
    server = ServerProcess(env)
    server.start()
    try:
        with as_admin(server) as http:
            [demo] = ok(http.get("/api/agents"))["items"]
            assert demo["id"] == "demo" and demo["provider"] == "demo"
            assert "demo" in demo["name"].lower()
    finally:
        server.stop()


def test_the_example_agents_file_starts_with_one_key_set(make_database, redis_namespace, tmp_path):
    env = own_env(make_database, redis_namespace, tmp_path, "agents_example")
    env["LLMCHAT_AGENTS_FILE"] = str(
        Path(__file__).resolve().parents[2] / "config" / "agents.example.json"
    )
    env["OPENAI_API_KEY"] = "sk-only-this-one"
    server = ServerProcess(env)
    server.start()
    try:
        with as_admin(server) as http:
            status = ok(http.get("/api/agents/claude-sonnet/status"))
            assert status["status"] == "inactive" and status["reachable"] is False
            assert "ANTHROPIC_API_KEY" in status["error"]
            assert ok(http.get("/api/agents/gpt-4o"))["status"] == "active"
            listed = {a["id"]: a["status"] for a in ok(http.get("/api/agents"))["items"]}
            assert listed["dify-workflow"] == "inactive" and listed["demo"] == "active"
            _, auth = signed_in(http)
            body = {"agentId": "claude-sonnet", "messages": [{"role": "user", "content": "hi"}]}
            refused = http.post("/api/chat/completions", headers=auth, json=body)
            assert refused.status_code == 404 and "ANTHROPIC_API_KEY" in refused.text
        [warning] = [line for line in server.log().splitlines() if "not served" in line]
        for variable in ("FASTGPT_APP_KEY", "ANTHROPIC_API_KEY", "DIFY_APP_KEY"):
            assert variable in warning
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{broken", "malformed"),
        (json.dumps({"agents": [own_agent("x", provider="skynet")]}), "skynet"),
        (json.dumps({"agents": [{"id": "x", "name": "No provider"}]}), "missing required field"),
        (json.dumps({"agents": [own_agent("x", apiKey="env:")]}), "names no variable"),
    ],
)
def test_a_bad_agents_file_stops_the_start_with_one_clear_line(
    server_env, tmp_path, content, problem
):
    path = tmp_path / "agents.json"
    if content is not None:
        path.write_text(content)
    started = time.monotonic()
    result = run_cli(["events", "export"], {**server_env, "LLMCHAT_AGENTS_FILE": str(path)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "agents file" in result.stderr and problem in result.stderr
    assert str(path) in result.stderr
    assert time.monotonic() - started < 30
    assert AGENT_KEY_VARIABLE not in result.stderr
