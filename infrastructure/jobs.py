"""The job runners behind application.jobs: Dramatiq over Redis, or threads of this process.

With Redis, any process sends a job and `llmchat worker` (or `serve` with its workers) runs
it. Dramatiq's RedisBroker keeps, under its namespace `<LLMCHAT_REDIS_NAMESPACE>:jobs`
(see dramatiq/brokers/redis/dispatch.lua):

- `<ns>:default`, a list of the ids of waiting messages, and `<ns>:default.msgs`, a hash of
  every message not yet acknowledged (waiting or being run), id -> message;
- `<ns>:default.DQ` and `<ns>:default.DQ.msgs`, the same for delayed messages (retries);
- `<ns>:__acks__.<worker>.default`, per worker, the ids it has taken.

We add `<ns>:completed`, a counter of jobs finished without an error.
"""

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from application.jobs import JobWork, QueueState
from infrastructure.job_logs import quiet_consumer_retries

log = logging.getLogger("llmchat.jobs")

QUEUE = "default"
WORKER_THREADS = 2
# A 10 MB drawing takes seconds; far longer means something is stuck.
PARSE_TIME_LIMIT_MS = 300_000
# Held while a drawing is parsed, so a second message for it waits and then finds the
# result; it expires on its own if its holder dies.
PARSE_LOCK_SECONDS = PARSE_TIME_LIMIT_MS / 1000 + 30
PARSE_RETRIES = 5
STOP_TIMEOUT_MS = 10_000


def broker_namespace(redis_namespace: str) -> str:
    return f"{redis_namespace}:jobs"


class CompletedJobs(dramatiq.Middleware):
    """Counts jobs that finished without an error, for /health."""

    def __init__(self, client: "redis.Redis", key: str) -> None:
        self.client = client
        self.key = key

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            self.client.incr(self.key)


class RedisJobs:
    """Jobs sent to Redis; `start_worker` runs them in this process too."""

    def __init__(self, url: str, redis_namespace: str, work: JobWork) -> None:
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self.namespace = broker_namespace(redis_namespace)
        self.completed_key = f"{self.namespace}:completed"
        self.broker = RedisBroker(  # type: ignore[no-untyped-call]
            client=self.client, namespace=self.namespace
        )
        self.broker.add_middleware(CompletedJobs(self.client, self.completed_key))
        self.work = work
        # Actors belong to this broker (not Dramatiq's global one): each process builds
        # its own from the settings, and messages name the actor, not the function.
        self.parse_drawing_actor = dramatiq.Actor(
            self._parse_drawing,
            broker=self.broker,
            actor_name="parse_drawing",
            queue_name=QUEUE,
            priority=0,
            options={"max_retries": PARSE_RETRIES, "time_limit": PARSE_TIME_LIMIT_MS},
        )
        self._worker: dramatiq.Worker | None = None

    def parse_drawing(self, file_id: str) -> None:
        self.parse_drawing_actor.send(file_id)

    def _parse_drawing(self, file_id: str) -> None:
        lock = self.client.lock(
            f"{self.namespace}:lock:parse_drawing:{file_id}",
            timeout=PARSE_LOCK_SECONDS,
            blocking_timeout=PARSE_LOCK_SECONDS,
        )
        # Not acquired in time: LockError, and Dramatiq retries the message later.
        with lock:
            self.work.parse_drawing(file_id)

    def queue_state(self) -> QueueState:
        queue = f"{self.namespace}:{QUEUE}"
        try:
            with self.client.pipeline(transaction=True) as reads:
                reads.llen(queue)
                reads.hlen(f"{queue}.msgs")
                reads.hlen(f"{queue}.DQ.msgs")
                reads.get(self.completed_key)
                queued, unacknowledged, delayed, completed = reads.execute()
        except redis.RedisError:
            return QueueState(running=False, waiting=0, active=0, completed=0)
        return QueueState(
            running=True,
            waiting=int(queued) + int(delayed),
            # Every message in the hash that is not in the list has been taken by a worker.
            active=max(int(unacknowledged) - int(queued), 0),
            completed=int(completed or 0),
        )

    def start_worker(self) -> None:
        if self._worker is None:
            quiet_consumer_retries((QUEUE, f"{QUEUE}.DQ"))
            self._worker = dramatiq.Worker(self.broker, worker_threads=WORKER_THREADS)
            self._worker.start()
            log.info("job worker consuming %s:%s", self.namespace, QUEUE)

    def close(self) -> None:
        if self._worker is not None:
            # Messages taken but not started go back to the queue for another worker.
            self._worker.stop(timeout=STOP_TIMEOUT_MS)
            self._worker = None
        self.client.close()


class ThreadJobs:
    """Without Redis: jobs run on a small thread pool of this process, counted here."""

    def __init__(self, work: JobWork) -> None:
        self.work = work
        self._pool = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="llmchat-job")
        self._counts = threading.Lock()
        self._waiting = self._active = self._completed = 0
        self._drawings = KeyedLocks()
        self._closed = False

    def parse_drawing(self, file_id: str) -> None:
        with self._counts:
            self._waiting += 1
        self._pool.submit(self._run_parse_drawing, file_id)

    def _run_parse_drawing(self, file_id: str) -> None:
        with self._counts:
            self._waiting -= 1
            self._active += 1
        try:
            with self._drawings.hold(file_id):
                self.work.parse_drawing(file_id)
        except Exception:
            log.exception("parse_drawing job for %s failed", file_id)
            finished = 0
        else:
            finished = 1
        with self._counts:
            self._active -= 1
            self._completed += finished

    def queue_state(self) -> QueueState:
        with self._counts:
            return QueueState(
                running=not self._closed,
                waiting=self._waiting,
                active=self._active,
                completed=self._completed,
            )

    def start_worker(self) -> None:
        """The pool is always running: nothing else would run these jobs."""

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


class KeyedLocks:
    """One lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)
