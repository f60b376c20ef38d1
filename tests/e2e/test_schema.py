"""The OpenAPI document at /schema, and the live server held to it by schemathesis."""

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.builders import login
from tests.support.server import ServerProcess

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6  # per generation mode: ~32 operations x 2 x 6, a few hundred
TIME_BUDGET_SECONDS = 90.0


@pytest.fixture(scope="module")
def schema_server(chat_env) -> Iterator[ServerProcess]:
    env = {**chat_env, "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL, "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = ServerProcess(env, args=("--no-workers",))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(schema_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=schema_server.base_url, timeout=30) as client:
        yield client


def test_the_document_covers_streams_uploads_and_errors(http):
    assert http.get("/schema").headers["content-type"].startswith("text/html")
    assert http.get("/schema/swagger").status_code == 200
    document = http.get("/schema/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]

    completions = paths["/api/chat/completions"]["post"]["responses"]["200"]["content"]
    assert {"application/json", "text/event-stream"} <= set(completions)
    resume = paths["/api/chat/streams/{message_id}"]["get"]["responses"]["200"]["content"]
    assert set(resume) == {"text/event-stream"}
    door = paths["/v1/chat/completions"]["post"]["responses"]
    assert set(door["200"]["content"]) == {"application/json", "text/event-stream"}
    assert door["404"]["content"]["application/json"]["schema"]["$ref"].endswith("OpenAIErrorBody")

    upload = paths["/api/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"]["format"] == "binary"

    envelope = "#/components/schemas/ErrorEnvelope"
    history = paths["/api/chat/sessions/{session_id}/history"]["get"]["responses"]
    for status in ("400", "401", "403", "404", "429", "500", "503"):
        assert history[status]["content"]["application/json"]["schema"]["$ref"] == envelope
    assert paths["/api/auth/register"]["post"]["security"] == []
    assert "409" in paths["/api/auth/register"]["post"]["responses"]


LINKED = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def embedded_document(page: str) -> Any:
    """The document a Swagger UI page renders: the JSON after `spec:`."""
    start = page.index("spec:") + len("spec:")
    return json.JSONDecoder().raw_decode(page[start:].lstrip())[0]


def test_the_docs_work_offline_and_show_the_one_document(http):
    document = http.get("/schema/openapi.json").json()
    for page_path in ("/schema", "/schema/swagger"):
        page = http.get(page_path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        linked = LINKED.findall(page.text)
        assert any(url.endswith(".js") for url in linked) and any(".css" in u for u in linked)
        for url in linked:
            # Nothing from another host: a server without internet shows the same page.
            assert url.startswith("/") and not url.startswith("//"), f"{page_path} loads {url}"
            asset = http.get(url)
            assert asset.status_code == 200 and asset.content, url
        assert embedded_document(page.text) == document, f"{page_path} shows another document"
    script = http.get("/schema/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]


def data_schema(document: dict[str, Any], method: str, path: str) -> Any:
    """The `data` a route's 200 envelope promises ({} when it promises nothing)."""
    ok = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    parts = ok["schema"].get("allOf", [])
    return next((p["properties"]["data"] for p in parts if "data" in p.get("properties", {})), {})


def test_success_envelopes_give_data_its_real_schema(http):
    document = http.get("/schema/openapi.json").json()
    login = data_schema(document, "post", "/api/auth/login")
    assert {"token", "refreshToken", "expiresIn", "user"} <= set(login["required"])
    sessions = data_schema(document, "get", "/api/chat/sessions")
    assert set(sessions["properties"]["pagination"]["required"]) == {
        "page",
        "limit",
        "total",
        "totalPages",
    }
    reply = data_schema(document, "post", "/api/chat/completions")
    assert reply["properties"]["message"]["properties"]["role"] == {"const": "assistant"}
    assert data_schema(document, "delete", "/api/chat/sessions/{session_id}") == {"type": "null"}


def test_the_server_answers_as_its_schema_says(http, schema_server):
    # The token first: fuzzing /api/auth/login soon throttles sign-ins from this address.
    admin = {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}
    document = schemathesis.openapi.from_url(f"{schema_server.base_url}/schema/openapi.json")
    # Signing out would revoke the token every other request uses.
    schema = document.exclude(path="/api/auth/logout")
    failures: dict[str, str] = {}
    started, examples = time.monotonic(), 0

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures[f"invalid operation {result.err()}"] = ""
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > TIME_BUDGET_SECONDS:
                break
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # noqa: S112 - e.g. nothing negative to make of no parameters
                continue

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def check(case):
                nonlocal examples
                examples += 1
                case.call_and_validate(headers=admin, checks=CHECKS)

            try:
                check()
            except Exception as failure:
                if "Unable to satisfy assumptions" in str(failure):
                    continue  # no negative case exists (an operation without parameters)
                failures[f"{operation.label} ({mode.value})"] = str(failure)[:2000]

    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert examples >= 100, f"only {examples} examples ran"
