"""The production install, checked the way a deployment runs it: `python -m tests.deployed.smoke`.

`.ci/run` runs this after the suite; pytest does not collect it (it is no test_ file). The
suite's venv has the test extras, whose packages can stand in for a runtime dependency the
server forgot to declare (a WebSocket library came in with httpx-ws that way). So the server
here comes from a venv of its own, made with `pip install .` alone — no extras, not editable,
from a copy of the tracked files so no build left in the checkout can ship instead — started
from another folder so nothing of the checkout is importable. Then, from that venv:

- every module of the package imports, and every command and subcommand answers `--help`;
- `llmchat serve` on a free port, against a fresh PostgreSQL database and Redis namespace,
  registers a user and completes a chat with the demo agent over `/api/ws`, over SSE
  (`POST /api/chat/completions`) and over `/v1/chat/completions`, and serves its API docs;
- the read-only commands work against the database it wrote, and SIGTERM stops it cleanly.

The client side is this (test) venv's httpx and httpx-ws. Exits 1 naming the first failure.
"""

import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from httpx_ws import WebSocketUpgradeError, connect_ws

from tests.conftest import PG_ADMIN_URL, REDIS_URL, database_url
from tests.support.builders import signed_in
from tests.support.checkout import copy_of_checkout
from tests.support.server import ROOT, ServerProcess, llmchat_env
from tests.support.sse import events

PACKAGES = ("domain", "application", "infrastructure", "projections", "api")
PROMPT = [{"role": "user", "content": "hello from the deployed smoke"}]

# Run inside the bare venv: import every module of every package, print where each came from.
IMPORT_ALL = f"""
import importlib, json, pkgutil
found = {{}}
for top in {PACKAGES!r}:
    package = importlib.import_module(top)
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        found[module.name] = importlib.import_module(module.name).__file__
    found[top] = package.__file__
print(json.dumps(found))
"""


class SmokeFailed(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeFailed(message)


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"deployed smoke: [{time.monotonic() - STARTED:.0f} s] {message}", flush=True)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def bare_install(folder: Path) -> Path:
    """A venv with `pip install .` alone; returns its bin directory."""
    source = copy_of_checkout(folder / "source")
    venv = folder / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], folder)
    check(made.returncode == 0, f"venv failed: {made.stderr}")
    installed = run([str(venv / "bin" / "pip"), "install", "-q", str(source)], folder, timeout=900)
    check(installed.returncode == 0, f"pip install . failed:\n{installed.stderr[-4000:]}")
    say("ok: pip install . into a fresh venv")
    return venv / "bin"


def source_modules() -> set[str]:
    names = set()
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def every_module_imports(bin_dir: Path, cwd: Path) -> None:
    imported = run([str(bin_dir / "python"), "-c", IMPORT_ALL], cwd, env=llmchat_env({}))
    check(imported.returncode == 0, f"importing the package failed:\n{imported.stderr[-4000:]}")
    found: dict[str, str] = json.loads(imported.stdout)
    venv = str(bin_dir.parent)
    outside = [name for name, file in found.items() if not file.startswith(venv)]
    check(not outside, f"modules imported from outside the install: {outside}")
    missing = sorted(source_modules() - set(found))
    check(not missing, f"modules in the tree but not in the install: {missing}")
    say(f"ok: all {len(found)} modules import from the install")


def subcommands(help_text: str) -> list[str]:
    """The choices argparse lists as `{a,b,c}` in a usage line."""
    usage = help_text.split("\n\n", 1)[0]
    match = re.search(r"\{([\w,-]+)\}", usage)
    return match.group(1).split(",") if match else []


def every_command_answers_help(bin_dir: Path, cwd: Path) -> None:
    llmchat, seen = str(bin_dir / "llmchat"), 0
    pending: list[list[str]] = [[]]
    while pending:
        words = pending.pop()
        answered = run([llmchat, *words, "--help"], cwd, env=llmchat_env({}))
        check(answered.returncode == 0, f"llmchat {' '.join(words)} --help: {answered.stderr}")
        seen += 1
        pending.extend([*words, name] for name in subcommands(answered.stdout))
    say(f"ok: {seen} commands answer --help")


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"llmchat_smoke_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def fresh_namespace() -> Iterator[str]:
    namespace = f"llmchat-smoke-{uuid.uuid4().hex[:10]}"
    try:
        yield namespace
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{namespace}:*", count=10_000))
        if keys:
            client.delete(*keys)
        client.close()


def chat_over_websocket(base_url: str, token: str) -> str:
    url = base_url.replace("http", "ws", 1) + "/api/ws?token=" + token
    request = {"type": "chat", "requestId": "smoke", "agentId": "demo", "messages": PROMPT}
    text = []
    try:
        with httpx.Client(timeout=30) as http, connect_ws(url, http) as socket:
            socket.send_text(json.dumps(request))
            while True:
                message = json.loads(socket.receive_text(timeout=30))
                check(message.get("type") != "error", f"/api/ws answered an error: {message}")
                if message["type"] == "end":
                    break
                text.append(message["content"])
    except WebSocketUpgradeError as error:
        raise SmokeFailed(f"/api/ws refused the upgrade: {error.response.status_code}") from error
    return "".join(text)


def chat_over_sse(http: httpx.Client, headers: dict[str, str]) -> str:
    body = {"agentId": "demo", "messages": PROMPT, "stream": True}
    with http.stream("POST", "/api/chat/completions", json=body, headers=headers) as answer:
        check(answer.status_code == 200, f"SSE chat answered {answer.status_code}")
        frames = list(events(answer))
    check(frames and frames[-1].event == "end", f"SSE chat did not end: {frames[-1:]}")
    return "".join(f.data["content"] for f in frames if f.event == "chunk")


def chat_over_openai_door(http: httpx.Client, headers: dict[str, str]) -> str:
    body = {"model": "demo", "messages": PROMPT}
    answer = http.post("/v1/chat/completions", json=body, headers=headers)
    check(answer.status_code == 200, f"/v1/chat/completions answered {answer.status_code}")
    choice = answer.json()["choices"][0]
    check(choice["finish_reason"] == "stop", f"/v1 reply did not stop: {choice}")
    content: str = choice["message"]["content"]
    return content


def docs_are_served(http: httpx.Client) -> None:
    for path in ("/schema", "/schema/swagger", "/schema/openapi.json"):
        answer = http.get(path)
        check(answer.status_code == 200, f"GET {path} answered {answer.status_code}")
    say("ok: the API docs are served")


def chats_through_every_door(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        data, headers = signed_in(http)
        doors: dict[str, Callable[[], str]] = {
            "/api/ws": lambda: chat_over_websocket(server.base_url, data["token"]),
            "SSE": lambda: chat_over_sse(http, headers),
            "/v1/chat/completions": lambda: chat_over_openai_door(http, headers),
        }
        for door, chat in doors.items():
            text = chat()
            check(text.strip(), f"a chat over {door} came back empty")
            say(f"ok: a chat over {door} ({len(text)} characters)")
        docs_are_served(http)


def read_only_commands_work(bin_dir: Path, cwd: Path, env: dict[str, Any]) -> None:
    for words in (["projections", "status"], ["audit", "verify"], ["events", "export"]):
        answered = run([str(bin_dir / "llmchat"), *words], cwd, env=llmchat_env(env))
        check(answered.returncode == 0, f"llmchat {' '.join(words)}: {answered.stderr[-2000:]}")
    say("ok: projections status, audit verify, events export")


def smoke(folder: Path) -> None:
    bin_dir = bare_install(folder)
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    every_module_imports(bin_dir, elsewhere)
    every_command_answers_help(bin_dir, elsewhere)
    with ExitStack() as stack:
        env = {
            "LLMCHAT_DATABASE_URL": stack.enter_context(fresh_database()),
            "LLMCHAT_REDIS_URL": REDIS_URL,
            "LLMCHAT_REDIS_NAMESPACE": stack.enter_context(fresh_namespace()),
            "LLMCHAT_DATA_DIR": str(folder / "data"),
        }
        server = ServerProcess(env, args=(), command=[str(bin_dir / "llmchat")], cwd=elsewhere)
        stack.callback(server.stop)
        try:
            server.start(timeout=60)
            chats_through_every_door(server)
            read_only_commands_work(bin_dir, elsewhere, env)
            server.stop()
            check(server.process and server.process.returncode == 0, "serve did not exit 0")
            check("Traceback" not in server.log(), "the server logged a traceback")
            say("ok: SIGTERM stopped the server cleanly")
        except Exception as error:  # any failure: show what the server said
            raise SmokeFailed(f"{error}\n--- server log ---\n{server.log()[-6000:]}") from error


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="llmchat-smoke-") as folder:
        try:
            smoke(Path(folder))
        except (SmokeFailed, subprocess.TimeoutExpired) as error:
            print(f"deployed smoke: FAILED: {error}", file=sys.stderr)
            return 1
    say("the production install serves every door")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
