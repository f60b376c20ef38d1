"""The command line at its edges: a closed pipe, the wrong folder, a database it cannot
reach, a bad setting, its help, and the replay's JSON."""

import json
import subprocess
import uuid

from tests.support.builders import signed_in
from tests.support.server import LLMCHAT, ROOT, llmchat_env, run_cli


def test_an_export_into_a_closed_pipe_stops_quietly(server_env, server):
    process = subprocess.Popen(
        [*LLMCHAT, "events", "export"],
        env=llmchat_env(server_env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head` having read what it wanted
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_read_only_command_in_another_folder_creates_no_database(tmp_path):
    folder = tmp_path / "elsewhere"
    for command in (
        ["projections", "status"],
        ["audit", "verify"],
        ["events", "export"],
        ["sessions", "replay", str(uuid.uuid4())],
    ):
        result = run_cli(command, {"LLMCHAT_DATA_DIR": str(folder)})
        assert result.returncode != 0, command
        assert str(folder) in result.stderr and "LLMCHAT_DATABASE_URL" in result.stderr
        assert "Traceback" not in result.stderr
        assert not folder.exists(), f"{command} created {folder}"


def test_a_database_it_cannot_use_is_named_with_the_cause_and_never_the_password():
    cases = {
        "postgresql://postgres:hunter2-secret@127.0.0.1:9/llmchat": "connection refused",
        "postgresql://postgres:hunter2-secret@127.0.0.1:5432/no_such_db_x": "unknown database",
    }
    for url, cause in cases.items():
        result = run_cli(["projections", "status"], {"LLMCHAT_DATABASE_URL": url})
        assert result.returncode == 1
        line = result.stderr.strip()
        assert "\n" not in line and "LLMCHAT_DATABASE_URL" in line and cause in line, line
        assert "127.0.0.1:" in line and "hunter2" not in line


def test_a_bad_log_level_is_one_line_naming_the_variable(server_env):
    result = run_cli(["projections", "status"], {**server_env, "LLMCHAT_LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "LLMCHAT_LOG_LEVEL" in result.stderr


def test_help_shows_the_defaults_and_the_projection_names():
    serve = run_cli(["serve", "--help"], {})
    assert "127.0.0.1" in serve.stdout and "3001" in serve.stdout
    rebuild = run_cli(["projections", "rebuild", "--help"], {})
    for name in ("agents", "conversations", "files", "stats", "audit"):
        assert name in rebuild.stdout


def test_a_replay_as_json_has_the_apis_camel_case_keys(http, server_env):
    _, auth = signed_in(http)
    body = {"agentId": "demo", "messages": [{"role": "user", "content": "replay me"}]}
    answer = http.post("/api/chat/completions", headers=auth, json=body)
    assert answer.status_code == 200, answer.text
    session_id = answer.json()["data"]["sessionId"]
    result = run_cli(["sessions", "replay", session_id, "--json"], server_env)
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert {"ownerId", "agentId", "lastChange"} <= replayed.keys()
    assert not any("_" in key for key in replayed)


def test_an_error_says_its_prefix_once(server_env):
    result = run_cli(["sessions", "replay", "not-a-uuid"], server_env)
    assert result.returncode == 2
    assert result.stderr.count("SESSION_ID") == 1, result.stderr
