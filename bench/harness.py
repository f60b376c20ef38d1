"""What the benchmarks share: a fake provider, a database, a server, a signed-in user."""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.fake_provider import FakeProviderProcess
from tests.support.server import LLMCHAT, ServerProcess

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[1]


def tree_option(parser: argparse.ArgumentParser) -> None:
    """`--root TREE`: serve another checkout of this repository under this tree's bench, so a
    tree before a change meets the same load generator."""
    parser.add_argument("--root", type=lambda tree: Path(tree).resolve(), default=ROOT)


def installed_option(parser: argparse.ArgumentParser) -> None:
    """`--llmchat PATH`: serve with an installed `llmchat` (a venv holding `pip install .`
    alone, as a user deploys it) instead of this checkout under the bench's interpreter,
    whose test extras load more (pydantic, through Litestar's plugin, for one)."""
    parser.add_argument("--llmchat", type=lambda path: [str(Path(path).resolve())], default=None)


def run_by(command: str, title: str, root: Path) -> tuple[str, str]:
    """The command line and section title a run records: its own, or marked with the tree."""
    if root == ROOT:
        return command, title
    return f"{command} --root {root}", f"{title}, {root.name}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def database() -> Iterator[str]:
    name = f"llmchat_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Stack:
    fake: FakeProviderProcess
    server: ServerProcess
    token: str
    database_url: str
    worker: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop the server and the worker, keeping the database for a look afterwards."""
        if self.worker is not None:
            self.worker.terminate()
            self.worker.wait(10)
        self.server.stop()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def bench_agent(
    fake: FakeProviderProcess, name: str, model: str, fallbacks: Sequence[str] = ()
) -> dict[str, object]:
    """An agent of the fake provider's OpenAI wire, as the agents file names it."""
    agent: dict[str, object] = {
        "id": name,
        "name": name,
        "description": "fake provider",
        "category": "bench",
        "provider": "openai",
        "endpoint": fake.endpoint("openai"),
        "apiKey": "sk-bench",
        "model": model,
        "capabilities": ["chat"],
        "config": {},
    }
    if fallbacks:
        agent["fallbacks"] = list(fallbacks)
    return agent


@contextmanager
def stack(
    model: str = "gpt;chunks=32",
    redis: bool = True,
    worker: bool = False,
    root: Path = ROOT,
    command: Sequence[str] = LLMCHAT,
) -> Iterator[Stack]:
    """A fake provider, a database and a server; with `worker`, the projections run in a
    `llmchat worker` process of their own instead of inside the server. The server and the
    worker are the checkout at `root` (another tree of this repository, to compare), run
    by `command` (this interpreter, or an installed `llmchat`: see `installed_option`)."""
    with FakeProviderProcess() as fake, database() as url, tempfile.TemporaryDirectory() as tmp:
        agents = {"agents": [bench_agent(fake, "bench", model)]}
        agents_file = Path(tmp) / "agents.json"
        agents_file.write_text(json.dumps(agents))
        env = {
            "LLMCHAT_DATABASE_URL": url,
            "LLMCHAT_DATA_DIR": tmp,
            "LLMCHAT_AGENTS_FILE": str(agents_file),
            "LLMCHAT_JWT_SECRET": "bench-secret-" + "b" * 40,
            "LLMCHAT_LOG_LEVEL": "WARNING",
            "LLMCHAT_DB_POOL_SIZE": "20",
            "LLMCHAT_REDIS_URL": "redis://127.0.0.1:6379/0" if redis else None,
            "LLMCHAT_REDIS_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}",
            # The benchmark's single user would hit the production per-user limit.
            "LLMCHAT_RATE_LIMIT_USER": "100000000",
            "PYTHONASYNCIODEBUG": os.environ.get("PYTHONASYNCIODEBUG"),
        }
        args = ("--no-workers",) if worker else ()
        server = ServerProcess(env, args=args, command=command, cwd=root)
        server.start()
        projector = (
            subprocess.Popen([*command, "worker"], env=server.env, cwd=root) if worker else None
        )
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
                http.post(
                    "/api/auth/register",
                    json={"email": email, "password": "bench-password", "name": "B"},
                )
                login = http.post(
                    "/api/auth/login", json={"email": email, "password": "bench-password"}
                )
                token = login.json()["data"]["token"]
            yield Stack(fake, server, token, url, projector)
        finally:
            if projector is not None:
                projector.terminate()
                projector.wait(10)
            server.stop()
