"""Each SDK's README as a new user meets it: installed by its own Install block, from a copy of
the checkout, into a project of its own, and every code snippet run as written against a live
server with the zero-config agents (one `demo`).

What a snippet cannot know is filled in, and only that: the server's address for
`http://localhost:3001` (another test may hold that port), and in the spec's example, which
leaves them as placeholders, a token and the agent.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.builders import signed_in
from tests.support.checkout import copy_of_checkout
from tests.support.server import ROOT, ServerProcess

BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
CHECKOUT_PLACEHOLDER = "/path/to/llmchat"
README_ADDRESS = "http://localhost:3001"
DEMO_MARK = "[Demo reply]"


def sections(readme: Path) -> dict[str, str]:
    """The README's text under each `## ` heading."""
    parts = re.split(r"^## (.+)$", readme.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def blocks(text: str, *languages: str) -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in BLOCK.findall(text) if lang in languages]


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600):
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def install(readme: Path, checkout: Path, project: Path, env: dict[str, str]) -> None:
    """The README's Install block, run by bash in `project`, the checkout's path filled in."""
    (install_block,) = blocks(sections(readme)["Install"], "sh")
    script = install_block[1].replace(CHECKOUT_PLACEHOLDER, str(checkout))
    run(["bash", "-euo", "pipefail", "-c", script], project, env)


def with_address(code: str, base_url: str) -> str:
    assert README_ADDRESS in code, code
    return code.replace(README_ADDRESS, base_url)


@pytest.fixture
def demo_server(make_database, tmp_path) -> Iterator[ServerProcess]:
    """A zero-config server (its one agent is `demo`) on a database of its own: each README
    registers the same me@example.com."""
    env = {
        "LLMCHAT_DATABASE_URL": make_database(f"readme_{tmp_path.name[-6:].replace('-', '_')}"),
        "LLMCHAT_DATA_DIR": str(tmp_path / "data"),
        "LLMCHAT_JWT_SECRET": "readme-secret-" + "r" * 40,
    }
    process = ServerProcess(env, args=())
    process.start()
    yield process
    process.stop()


def fresh_token(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token: str = signed_in(http)[0]["token"]
    return token


def test_the_python_sdk_readme_installs_and_runs_as_written(demo_server, tmp_path):
    readme = ROOT / "sdk" / "python" / "README.md"
    checkout = copy_of_checkout(tmp_path / "checkout", "sdk/python")
    project = tmp_path / "project"
    project.mkdir()
    run([sys.executable, "-m", "venv", str(project / ".venv")], project, dict(os.environ))
    env = {**os.environ, "PATH": f"{project / '.venv' / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    install(readme, checkout, project, env)

    snippets = blocks(readme.read_text(), "python")
    assert len(snippets) >= 3, "the spec's example, the local one, the async one"
    token = fresh_token(demo_server.base_url)
    for number, (_, code) in enumerate(snippets):
        code = with_address(code, demo_server.base_url)
        code = code.replace("token='...'", f"token='{token}'")
        code = code.replace("agent_id='...'", "agent_id='demo'")
        assert "'...'" not in code, "a placeholder the test does not fill"
        (project / f"snippet_{number}.py").write_text(code)
        python = str(project / ".venv" / "bin" / "python")
        done = run([python, f"snippet_{number}.py"], project, env)
        assert DEMO_MARK in done.stdout.replace("\n", ""), (code, done.stdout)


def test_the_js_sdk_readme_installs_and_runs_as_written(demo_server, tmp_path):
    if shutil.which("npm") is None:
        pytest.fail("npm not found: the TypeScript SDK needs Node 20+ and npm")
    readme = ROOT / "sdk" / "js" / "README.md"
    checkout = copy_of_checkout(tmp_path / "checkout", "sdk/js")
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ)
    run(["npm", "init", "-y"], project, env)
    install(readme, checkout, project, env)

    token = fresh_token(demo_server.base_url)
    # The spec's example leaves out its import and its two values; nothing else is added.
    prelude = (
        'import { LLMChatClient } from "@llmchat/client-sdk";\n'
        f'const token = "{token}";\nconst agentId = "demo";\n'
    )
    snippets = blocks(readme.read_text(), "ts", "js")
    assert [lang for lang, _ in snippets] == ["ts", "js"], "the spec's example, the local one"
    for number, (lang, code) in enumerate(snippets):
        code = with_address(code, demo_server.base_url)
        (project / f"example_{number}.mjs").write_text((prelude if lang == "ts" else "") + code)
        done = run(["node", f"example_{number}.mjs"], project, env)
        assert DEMO_MARK in done.stdout.replace("\n", ""), (code, done.stdout)


def test_npm_pack_works_on_a_fresh_checkout_and_makes_the_file_the_readme_names(tmp_path):
    if shutil.which("npm") is None:
        pytest.fail("npm not found: the TypeScript SDK needs Node 20+ and npm")
    readme = (ROOT / "sdk" / "js" / "README.md").read_text()
    checkout = copy_of_checkout(tmp_path / "checkout", "sdk/js") / "sdk" / "js"
    env = dict(os.environ)
    packed = run(["npm", "pack", "--json"], checkout, env).stdout
    (name,) = re.findall(r'"filename":\s*"([^"]+)"', packed)
    assert f"`{name}`" in readme, f"the README names {name}"
    project = tmp_path / "project"
    project.mkdir()
    run(["npm", "init", "-y"], project, env)
    run(["npm", "install", str(checkout / name)], project, env)
    imported = 'import("@llmchat/client-sdk").then((m) => console.log(typeof m.LLMChatClient))'
    assert run(["node", "-e", imported], project, env).stdout.strip() == "function"
