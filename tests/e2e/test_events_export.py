"""`llmchat events export` prints the history as JSON lines, secrets redacted."""

import json

from tests.support.builders import login, register, unique_email
from tests.support.server import run_cli


def test_export_shows_registration_and_sign_in_events(http, server_env):
    email = unique_email()
    user = register(http, email)
    login(http, email)
    result = run_cli(["events", "export"], server_env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(
        set(line) == {"position", "stream", "version", "type", "timestamp", "data"}
        for line in lines
    )
    positions = [line["position"] for line in lines]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    registered = [e for e in lines if e["type"] == "UserRegistered" and e["data"]["email"] == email]
    assert len(registered) == 1 and registered[0]["stream"] == user["id"]
    assert registered[0]["data"]["password_hash"] == "[redacted]"
    assert any(e["type"] == "SignedIn" and e["data"]["user_id"] == user["id"] for e in lines)


def test_export_since_and_stream_filter(http, server_env):
    user = register(http)
    everything = run_cli(["events", "export"], server_env).stdout.splitlines()
    last = json.loads(everything[-1])["position"]
    assert run_cli(["events", "export", "--since", str(last)], server_env).stdout == ""
    only = run_cli(["events", "export", "--stream", user["id"]], server_env).stdout.splitlines()
    assert [json.loads(line)["type"] for line in only] == ["UserRegistered"]


def test_a_bad_setting_stops_the_start_with_one_clear_line(server_env):
    result = run_cli(["events", "export"], {**server_env, "LLMCHAT_DATABASE_URL": "mysql://nope"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "LLMCHAT_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_stops_the_start_with_one_clear_line(server_env):
    result = run_cli(
        ["events", "export"],
        {**server_env, "LLMCHAT_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "cannot start" in result.stderr


def test_export_run_without_the_agents_file_changes_no_agent(http, server_env):
    before = run_cli(["events", "export"], server_env).stdout.count("\n")
    without_file = {k: v for k, v in server_env.items() if k != "LLMCHAT_AGENTS_FILE"}
    assert run_cli(["events", "export"], without_file).returncode == 0
    after = run_cli(["events", "export"], server_env).stdout.count("\n")
    assert after == before, "an auditor's export must append nothing"


def test_export_with_meta_says_who_asked_and_from_where(http, server_env):
    user = register(http)
    result = run_cli(["events", "export", "--with-meta", "--stream", user["id"]], server_env)
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert set(line["meta"]) >= {"ip", "requestId"}
