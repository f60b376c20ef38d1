"""Jobs on real Redis (Dramatiq's RedisBroker and Worker) and real PostgreSQL: a drawing job
sent twice parses once and records one CadParsed; the queue's counts come from Redis."""

import hashlib
import threading
import time
import uuid
from functools import partial

import pytest

from application.files import Files, ParsedDrawing
from application.jobs import JobWork, QueueState
from application.parse_drawing import parse_drawing_job
from application.ports import PendingEvent
from domain.events import name_of
from domain.file import FileUploaded
from infrastructure.blob_store import PostgresBlobStore
from infrastructure.cad.reader import DxfReader
from infrastructure.drawing_results import PostgresDrawingResults
from infrastructure.event_store import RecorderEventStore
from infrastructure.files.inspector import ContentChecks
from infrastructure.jobs import RedisJobs, ThreadJobs
from infrastructure.postgres import create_schema, open_datastore
from tests.conftest import REDIS_URL
from tests.unit.fakes import FixedClock
from tests.unit.test_cad import simple_drawing, to_bytes


class CountingReader(DxfReader):
    """The real reader, counting parses; slow enough that two jobs for one drawing overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.parses = 0
        self._lock = threading.Lock()

    def parse(self, data: bytes) -> ParsedDrawing:
        with self._lock:
            self.parses += 1
        time.sleep(0.3)
        return super().parse(data)


@pytest.fixture(scope="module")
def datastore(make_database):
    store = open_datastore(make_database("jobs"), pool_size=4)
    yield store
    store.close()


@pytest.fixture
def files(datastore):
    store = RecorderEventStore(create_schema(datastore), FixedClock())
    return Files(
        store=store,
        blobs=PostgresBlobStore(datastore),
        inspector=ContentChecks(),
        drawings=CountingReader(),
        drawing_results=PostgresDrawingResults(datastore),
    )


@pytest.fixture
def redis_jobs(files, redis_namespace):
    # A namespace of this test's own: no other test's worker takes these messages.
    namespace = f"{redis_namespace}_jobs_{uuid.uuid4().hex[:6]}"
    jobs = RedisJobs(REDIS_URL, namespace, JobWork(partial(parse_drawing_job, files)))
    yield jobs
    jobs.close()


def uploaded_drawing(files: Files) -> str:
    data = to_bytes(simple_drawing())
    file_id = str(uuid.uuid4())
    files.blobs.put(file_id, [data])
    uploaded = FileUploaded(
        file_id=file_id,
        owner_id=str(uuid.uuid4()),
        original_name="plan.dxf",
        extension="dxf",
        file_type="cad",
        content_type="image/vnd.dxf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        description="",
    )
    files.store.append([PendingEvent(file_id, 1, uploaded)])
    return file_id


def event_names(files: Files, file_id: str) -> list[str]:
    return [name_of(recorded.event) for recorded in files.store.read(file_id)]


def wait_for_completed(jobs, count: int, within: float = 20) -> QueueState:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state: QueueState = jobs.queue_state()
        if state.completed >= count and state.active == 0:
            return state
        time.sleep(0.05)
    raise AssertionError(f"jobs not completed in {within}s: {jobs.queue_state()}")


def test_a_drawing_job_sent_twice_parses_once_and_records_one_cad_parsed(files, redis_jobs):
    file_id = uploaded_drawing(files)

    redis_jobs.parse_drawing(file_id)
    redis_jobs.parse_drawing(file_id)
    waiting = redis_jobs.queue_state()
    redis_jobs.start_worker()
    done = wait_for_completed(redis_jobs, 2)

    assert waiting == QueueState(running=True, waiting=2, active=0, completed=0)
    assert done == QueueState(running=True, waiting=0, active=0, completed=2)
    assert files.drawings.parses == 1
    assert event_names(files, file_id) == ["FileUploaded", "CadParsed"]
    assert files.drawing_results.load(file_id) is not None


def test_a_repeated_job_after_the_parse_finds_the_result_and_does_nothing(files, redis_jobs):
    file_id = uploaded_drawing(files)
    redis_jobs.start_worker()
    redis_jobs.parse_drawing(file_id)
    wait_for_completed(redis_jobs, 1)
    kept = files.drawing_results.load(file_id)

    redis_jobs.parse_drawing(file_id)
    wait_for_completed(redis_jobs, 2)

    assert files.drawings.parses == 1
    assert event_names(files, file_id) == ["FileUploaded", "CadParsed"]
    assert files.drawing_results.load(file_id) == kept


def test_a_job_for_a_missing_file_completes_without_recording_anything(files, redis_jobs):
    missing = str(uuid.uuid4())
    redis_jobs.start_worker()

    redis_jobs.parse_drawing(missing)

    assert wait_for_completed(redis_jobs, 1).completed == 1
    assert files.store.read(missing) == []
    assert files.drawings.parses == 0


def test_without_redis_jobs_run_on_threads_with_the_same_guarantees(files):
    jobs = ThreadJobs(JobWork(partial(parse_drawing_job, files)))
    file_id = uploaded_drawing(files)
    try:
        jobs.parse_drawing(file_id)
        jobs.parse_drawing(file_id)
        done = wait_for_completed(jobs, 2)
    finally:
        jobs.close()

    assert done == QueueState(running=True, waiting=0, active=0, completed=2)
    assert files.drawings.parses == 1
    assert event_names(files, file_id) == ["FileUploaded", "CadParsed"]
    assert jobs.queue_state().running is False


def test_an_unreachable_redis_reports_the_queue_stopped(files):
    # Nothing listens on port 9 (discard): connecting is refused at once.
    jobs = RedisJobs("redis://127.0.0.1:9/0", "unreachable", JobWork(lambda _: None))
    try:
        assert jobs.queue_state() == QueueState(running=False, waiting=0, active=0, completed=0)
    finally:
        jobs.close()
