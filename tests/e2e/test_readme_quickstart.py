"""The README's curl quick start, run as written against a server started as the README says
(no agents file: the demo agent), only its address pointed at this test's port."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"
ADDRESS_LINE = "API=http://127.0.0.1:3001"


def quick_start() -> str:
    text = README.read_text()
    section = text.split("## Quick start (curl)", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "the quick start has a sh block"
    script = match.group(1)
    assert script.startswith(ADDRESS_LINE + "\n"), "the block starts with the default address"
    return script


@pytest.fixture(scope="module")
def fresh_server(make_database, tmp_path_factory):
    env = {
        "LLMCHAT_DATABASE_URL": make_database("quickstart"),
        "LLMCHAT_DATA_DIR": str(tmp_path_factory.mktemp("quickstart-data")),
    }
    process = ServerProcess(env, args=())
    process.start()
    yield process
    process.stop()


def test_the_readme_quick_start_works_as_written(fresh_server, tmp_path):
    script = quick_start().replace(ADDRESS_LINE, f"API={fresh_server.base_url}", 1)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert out.startswith('{"code":"SUCCESS"'), "registered"
    assert json.loads((tmp_path / "login.json").read_text())["data"]["token"]
    chat = (tmp_path / "chat.sse").read_text()
    assert "event: chunk" in chat and "event: end" in chat
    assert out.count("event: end") == 2, "the chat ends, and so does its resume"
    assert '"role": "user"' in out and '"role": "assistant"' in out, "the history shows both"
    assert out.rstrip().splitlines()[-1] == "3600", "the refresh gave a new pair"
