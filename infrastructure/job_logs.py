"""Dramatiq's consumers, with Redis away, log CRITICAL every 3 s while they retry: here that
is one warning a minute, as the rate limiter says it (the retries themselves go on)."""

import logging
import threading
import time

WINDOW_SECONDS = 60.0
CONNECTION_ERROR = "Consumer encountered a connection error"
RESTARTING = "Restarting consumer"


class ConnectionErrorsOncePerMinute(logging.Filter):
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        super().__init__()
        self.window = window
        self.said_at = -window
        self.guard = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if text.startswith(RESTARTING):
            return False
        if not text.startswith(CONNECTION_ERROR):
            return True
        with self.guard:
            now = time.monotonic()
            if now - self.said_at < self.window:
                return False
            self.said_at = now
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "jobs: Redis unreachable (%s); retrying, said at most once a minute"
        return True


def quiet_consumer_retries(queues: tuple[str, ...]) -> None:
    """Fit each consumer's logger (Dramatiq names one per queue) with one shared filter."""
    once = ConnectionErrorsOncePerMinute()
    for queue in queues:
        logging.getLogger(f"dramatiq.worker.ConsumerThread({queue})").addFilter(once)
