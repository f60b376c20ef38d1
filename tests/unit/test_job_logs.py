"""Dramatiq's consumers retrying an absent Redis: one warning a minute, not CRITICAL every 3 s."""

import logging

import pytest

from infrastructure.job_logs import ConnectionErrorsOncePerMinute, quiet_consumer_retries


def consumer_record(message: str, *args: object, level: int = logging.CRITICAL):
    return logging.LogRecord(
        "dramatiq.worker.ConsumerThread(default)", level, __file__, 1, message, args, None
    )


def test_the_first_connection_error_is_a_warning_and_the_rest_of_the_minute_is_quiet():
    once = ConnectionErrorsOncePerMinute()
    first = consumer_record("Consumer encountered a connection error: %s", "Error 111")
    assert once.filter(first)
    assert first.levelno == logging.WARNING and "Error 111" in first.getMessage()
    again = consumer_record("Consumer encountered a connection error: %s", "Error 111")
    assert not once.filter(again)
    restart = consumer_record("Restarting consumer in %0.2f seconds.", 3.0, level=logging.INFO)
    assert not once.filter(restart)
    other = consumer_record("Something else went wrong", level=logging.ERROR)
    assert once.filter(other) and other.levelno == logging.ERROR


def test_consumer_loggers_of_both_queues_are_fitted(caplog: pytest.LogCaptureFixture):
    quiet_consumer_retries(("q1", "q1.DQ"))
    with caplog.at_level(logging.INFO):
        for queue in ("q1", "q1.DQ", "q1", "q1.DQ"):
            logger = logging.getLogger(f"dramatiq.worker.ConsumerThread({queue})")
            logger.critical("Consumer encountered a connection error: %s", "refused")
            logger.info("Restarting consumer in %0.2f seconds.", 3.0)
    said = [r for r in caplog.records if r.name.startswith("dramatiq.worker.ConsumerThread(q1")]
    assert [r.levelname for r in said] == ["WARNING"]
