"""`llmchat serve` on a port that is taken: one line and a non-zero exit, before anything starts."""

import socket
import subprocess
import time

from tests.conftest import REDIS_URL
from tests.support.server import free_port, run_cli


def test_serve_on_a_taken_port_exits_at_once_with_one_line(
    make_database, redis_namespace, tmp_path
):
    # Redis in the settings: with it, the workers and the job consumer used to keep the
    # process alive, deaf to SIGTERM, long after uvicorn had failed to bind.
    env = {
        "LLMCHAT_DATABASE_URL": make_database("taken_port"),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": redis_namespace + "_taken_port",
        "LLMCHAT_DATA_DIR": str(tmp_path),
        "LLMCHAT_JWT_SECRET": "taken-port-secret-" + "t" * 40,
    }
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        started = time.monotonic()
        try:
            result = run_cli(["serve", "--port", str(port)], env, timeout=20)
        except subprocess.TimeoutExpired as expired:
            message = f"serve kept running on a taken port: {expired.stderr!r}"
            raise AssertionError(message) from None
        took = time.monotonic() - started

    assert result.returncode != 0
    assert took < 10, f"took {took:.1f}s to give up"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"llmchat: cannot serve on 127.0.0.1:{port}: the port is already in use"]
    assert "serving on" not in result.stdout + result.stderr
