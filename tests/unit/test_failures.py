"""Failures are classified once; every entry point renders the same status and code."""

import msgspec
from psycopg import OperationalError

from api.failures import classify
from application.errors import BadGateway, Conflict, NotFound, RateLimited, ServiceUnavailable
from application.reply_frames import ErrorFrame
from infrastructure.pools import PoolBusy


def test_application_errors_have_their_status_code_and_type():
    failure = classify(NotFound("Session not found"))
    assert (failure.status, failure.code, failure.type) == (404, "NOT_FOUND", "NotFoundError")
    assert failure.message == "Session not found" and not failure.retryable
    assert classify(Conflict("busy")).code == "CONFLICT"


def test_a_rate_limit_is_retryable_after_its_wait():
    failure = classify(RateLimited("slow down", 7))
    assert failure.status == 429 and failure.retryable
    assert failure.headers == {"Retry-After": "7"}


def test_the_database_away_and_a_busy_pool_are_told_apart():
    down = classify(OperationalError("connection refused"))
    assert (down.status, down.message, down.retryable) == (503, "Database unavailable", True)
    busy = classify(PoolBusy("every connection stayed in use"))
    assert busy.message == "Server busy" and busy.headers == {"Retry-After": "2"}


def test_an_unexpected_error_names_the_request_and_nothing_else():
    failure = classify(KeyError("secret"), request_id="r-1")
    assert (failure.status, failure.code) == (500, "INTERNAL_ERROR")
    assert failure.details == "request id r-1"


def test_a_body_that_does_not_fit_its_struct_is_a_validation_error():
    try:
        msgspec.convert({"a": 1}, dict[str, str])
    except msgspec.ValidationError as error:
        assert classify(error).code == "VALIDATION_ERROR"


def test_a_failed_reply_is_the_error_its_close_stored():
    frame = ErrorFrame(3, "m", "s", "BAD_GATEWAY", "openai: refused")
    assert isinstance(frame.error(), BadGateway)
    assert classify(frame.error()).status == 502
    other = ErrorFrame(3, "m", "s", "SERVICE_UNAVAILABLE", "openai: down")
    assert isinstance(other.error(), ServiceUnavailable)
