"""Run `llmchat` as a real process on a free port, the way a user would."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LLMCHAT = [sys.executable, "-c", "from api.cli import main; raise SystemExit(main())"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llmchat_env(overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMCHAT_")}
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


def run_cli(
    args: list[str], env: Mapping[str, str | None], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LLMCHAT, *args],
        env=llmchat_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class ServerProcess:
    def __init__(
        self,
        env: Mapping[str, str | None],
        args: tuple[str, ...] = ("--no-workers",),
        command: Sequence[str] = LLMCHAT,
        cwd: Path = ROOT,
    ) -> None:
        """`command` runs `llmchat`: by default this checkout's, with the test interpreter."""
        self.env = llmchat_env(env)
        self.args = args
        self.command = command
        self.cwd = cwd
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self.env.get("LLMCHAT_DATA_DIR", "/tmp")) / f"server-{self.port}.log"

    def start(self, timeout: float = 30) -> float:
        """Start and wait until /health answers healthy; returns the seconds it took."""
        started = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.command, "serve", "--port", str(self.port), *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_healthy(timeout)
        return time.monotonic() - started

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/health", timeout=1).json()["status"] == "healthy":
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not healthy after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def running(
    env: Mapping[str, str | None], args: tuple[str, ...] = ("--no-workers",)
) -> Iterator[ServerProcess]:
    """A server of its own settings, healthy, stopped on the way out."""
    process = ServerProcess(env, args)
    process.start()
    try:
        yield process
    finally:
        process.stop()
