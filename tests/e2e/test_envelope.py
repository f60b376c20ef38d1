"""Every answer, including every failure, is the spec's envelope with the right code."""

import re

import pytest
from litestar import get
from litestar.testing import TestClient

from api.app import create_app
from api.start import started
from infrastructure.settings import read_settings

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "error", "timestamp"}
    assert set(body["error"]) == {"type", "details"}
    assert TIMESTAMP.match(body["timestamp"])
    assert "Traceback" not in response.text
    return body


def test_unknown_route_is_not_found(http):
    assert_error(http.get("/api/no-such-thing"), 404, "NOT_FOUND")
    assert_error(http.get("/nowhere"), 404, "NOT_FOUND")


def test_wrong_method_is_method_not_allowed(http):
    assert_error(http.get("/api/auth/login"), 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_a_validation_error(http):
    response = http.post(
        "/api/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        [{"email": "a@b.io", "password": "x"}],
        {"email": 5, "password": "longenough"},
        {"email": "a@b.io"},
        "text",
    ],
    ids=["array-for-object", "wrong-type", "missing-field", "string-for-object"],
)
def test_wrong_shapes_are_validation_errors(http, body):
    assert_error(http.post("/api/auth/login", json=body), 400, "VALIDATION_ERROR")


def test_an_oversized_body_is_refused_with_413(http):
    huge = b'{"email": "' + b"a" * (13 * 1024 * 1024) + b'"}'
    response = http.post(
        "/api/auth/login", content=huge, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_missing_or_bad_token_is_unauthorized(http):
    assert_error(http.post("/api/auth/logout"), 401, "UNAUTHORIZED")
    assert_error(
        http.post("/api/auth/logout", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED"
    )


def test_success_answers_carry_the_envelope(http):
    from tests.support.builders import unique_email

    response = http.post(
        "/api/auth/register", json={"email": unique_email(), "password": "long-enough", "name": "A"}
    )
    body = response.json()
    assert body["code"] == "SUCCESS" and TIMESTAMP.match(body["timestamp"])
    assert set(body) == {"code", "message", "data", "timestamp"}
    assert response.headers["x-request-id"]


def test_the_request_id_sent_is_echoed(http):
    response = http.get("/health", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


@pytest.fixture
def in_process_env(server_env, monkeypatch):
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    return server_env


def test_an_unexpected_exception_is_a_500_envelope_with_a_request_id_and_no_traceback(
    in_process_env, caplog
):
    @get("/api/explode")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app = create_app(started(read_settings()))
    app.register(explode)
    with TestClient(app) as client:
        response = client.get("/api/explode", headers={"X-Request-ID": "boom-1"})
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.text
    assert "boom-1" in body["error"]["details"]
    assert any("boom-1" in r.getMessage() for r in caplog.records)
