"""A large uploaded drawing is parsed by `llmchat worker` through the Redis job queue: the API
answers 202 while no worker runs, and the result (parsed once) once one has run the job."""

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.support.builders import signed_in
from tests.support.memory import MiB, PeakMemory
from tests.support.server import LLMCHAT, ROOT, ServerProcess, llmchat_env, run_cli
from tests.unit.test_cad import fit_point_spline, simple_drawing, to_bytes

pytestmark = pytest.mark.slow

JOB_BYTES = 4096


@pytest.fixture(scope="module")
def jobs_env(make_database, redis_namespace, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("jobs")
    return {
        "LLMCHAT_DATABASE_URL": make_database("jobs_e2e"),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        # A deployment of its own: no other test server's worker takes these jobs.
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}_jobs_e2e",
        "LLMCHAT_DATA_DIR": str(folder),
        "LLMCHAT_JWT_SECRET": "jobs-secret-" + "j" * 40,
        "LLMCHAT_CAD_JOB_BYTES": str(JOB_BYTES),
        "LLMCHAT_CAD_JOB_WAIT_SECONDS": "1",
    }


@pytest.fixture(scope="module")
def api(jobs_env) -> Iterator[httpx.Client]:
    process = ServerProcess(jobs_env)  # --no-workers: only `llmchat worker` runs jobs
    process.start()
    with httpx.Client(base_url=process.base_url, timeout=30) as client:
        yield client
    process.stop()


class WorkerProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.log_path = Path(env["LLMCHAT_DATA_DIR"]) / "worker.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*LLMCHAT, "worker"],
                env=llmchat_env(env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_consuming(self, within: float) -> None:
        """Until the worker has started and takes jobs (its log says so)."""
        deadline = time.monotonic() + within
        while "job worker consuming" not in self.log():
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)


def queue_jobs(api: httpx.Client) -> dict[str, int]:
    queue = api.get("/health/detailed").json()["checks"]["queue"]
    assert queue["status"] == "healthy"
    jobs: dict[str, int] = queue["jobs"]
    return jobs


def drained(api: httpx.Client, within: float) -> dict[str, int]:
    """The queue's counts once nothing waits or runs (repeated asks may have sent more)."""
    deadline = time.monotonic() + within
    jobs = queue_jobs(api)
    while (jobs["waiting"] or jobs["active"]) and time.monotonic() < deadline:
        time.sleep(0.1)
        jobs = queue_jobs(api)
    assert jobs["waiting"] == jobs["active"] == 0, jobs
    return jobs


def parse(api: httpx.Client, headers: dict[str, str], file_id: str) -> httpx.Response:
    return api.post("/api/cad/parse", json={"fileId": file_id}, headers=headers)


def test_a_large_drawing_is_parsed_by_the_worker_through_the_queue(api, jobs_env):
    headers = signed_in(api)[1]
    data = to_bytes(simple_drawing())
    assert len(data) > JOB_BYTES
    uploaded = api.post("/api/upload", files={"file": ("big.dxf", data)}, headers=headers)
    file_id = uploaded.json()["data"]["id"]

    waiting = parse(api, headers, file_id)
    queued = queue_jobs(api)
    worker = WorkerProcess(jobs_env)
    try:
        deadline = time.monotonic() + 40
        parsed = parse(api, headers, file_id)
        while parsed.status_code == 202 and time.monotonic() < deadline:
            parsed = parse(api, headers, file_id)
        done = drained(api, within=20)
    finally:
        exit_code = worker.stop()

    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["data"] == {"status": "processing", "fileId": file_id}
    assert queued["waiting"] == 1 and queued["completed"] == 0
    assert parsed.status_code == 200, f"{parsed.text}\n{worker.log()}"
    assert parsed.json()["data"]["entityCount"] == 2
    assert done["completed"] >= 1
    assert exit_code == 0, worker.log()
    export = run_cli(["events", "export", "--stream", file_id], jobs_env)
    types = [json.loads(line)["type"] for line in export.stdout.splitlines()]
    assert types == ["FileUploaded", "CadParsed"], "every repeat found the one result"


def test_a_job_whose_drawing_is_too_complex_records_it_and_the_worker_stays_small(api, jobs_env):
    headers = signed_in(api)[1]
    uploaded = api.post(
        "/api/upload", files={"file": ("spline.dxf", fit_point_spline())}, headers=headers
    )
    file_id = uploaded.json()["data"]["id"]
    assert parse(api, headers, file_id).status_code == 202

    worker = WorkerProcess(jobs_env)
    try:
        worker.wait_consuming(within=30)
        with PeakMemory(worker.process.pid) as memory:
            deadline = time.monotonic() + 60
            parsed = parse(api, headers, file_id)
            while parsed.status_code == 202 and time.monotonic() < deadline:
                parsed = parse(api, headers, file_id)
            drained(api, within=20)
    finally:
        exit_code = worker.stop()

    assert parsed.status_code == 422, f"{parsed.text}\n{worker.log()}"
    assert parsed.json()["message"].startswith("drawing too complex: ")
    assert memory.growth < 100 * MiB, f"the worker grew by {memory.growth // MiB} MiB"
    assert exit_code == 0, worker.log()
    export = run_cli(["events", "export", "--stream", file_id], jobs_env)
    types = [json.loads(line)["type"] for line in export.stdout.splitlines()]
    assert types == ["FileUploaded", "CadParseFailed"]
