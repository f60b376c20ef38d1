"""The OpenAPI document at /schema, and the live server held to it by schemathesis."""

import json
import re
import time
import uuid
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

from api.openapi_answers import BODIES, DATA, OTHER_DATA
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.admin_fixtures import eventually
from tests.support.builders import PASSWORD, login, register, signed_in, unique_email
from tests.support.server import ServerProcess
from tests.support.sse import events
from tests.unit.test_cad import rich_drawing, to_bytes

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6  # per generation mode: ~32 operations x 2 x 6, a few hundred
TIME_BUDGET_SECONDS = 90.0
# Generous: on a loaded machine the projection runners may trail the log by seconds.
READ_MODEL_WAIT = 30.0


@pytest.fixture(scope="module")
def schema_server(chat_env) -> Iterator[ServerProcess]:
    env = {**chat_env, "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL, "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD}
    # Every uploaded drawing is parsed by a job, and the request does not wait for it: the
    # first parse of an upload answers its 202.
    env |= {"LLMCHAT_CAD_JOB_BYTES": "0", "LLMCHAT_CAD_JOB_WAIT_SECONDS": "0"}
    # With its workers: the listings read read models, which the projection runners fill.
    process = ServerProcess(env, args=())
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


def envelope_data(schema: dict[str, Any]) -> Any:
    """The `data` a success envelope's schema promises ({} when it promises nothing)."""
    parts = schema.get("allOf", [])
    return next((p["properties"]["data"] for p in parts if "data" in p.get("properties", {})), {})


def data_schema(document: dict[str, Any], method: str, path: str) -> Any:
    """The `data` a route's 200 envelope promises ({} when it promises nothing)."""
    ok = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return envelope_data(ok["schema"])


def vague_parts(
    document: dict[str, Any], schema: Any, where: str, seen: frozenset[str]
) -> list[str]:
    """Where in `schema` an answer could be anything: an empty schema, or an object whose
    fields are not named (a map must say what its values are)."""
    if not isinstance(schema, dict) or not schema:
        return [where]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        target = document["components"]["schemas"][name]
        return vague_parts(document, target, f"{where}->{name}", seen | {name})
    found: list[str] = []
    for combinator in ("allOf", "anyOf", "oneOf"):
        for index, part in enumerate(schema.get(combinator, [])):
            found += vague_parts(document, part, f"{where}.{combinator}[{index}]", seen)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    values = schema.get("additionalProperties")
    if "object" in types and "properties" not in schema and not isinstance(values, dict):
        found.append(where)
    for name, field in schema.get("properties", {}).items():
        found += vague_parts(document, field, f"{where}.{name}", seen)
    if isinstance(values, dict):
        found += vague_parts(document, values, f"{where}{{*}}", seen)
    if "items" in schema:
        found += vague_parts(document, schema["items"], f"{where}[]", seen)
    return found


def vague_answers(document: dict[str, Any]) -> list[str]:
    """Every JSON success answer of every operation whose body (under /api, whose envelope's
    `data`) is not fully described."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, answer in operation["responses"].items():
                json_body = answer.get("content", {}).get("application/json")
                if not status.startswith("2") or json_body is None:
                    continue
                schema = json_body["schema"]
                if path.startswith("/api/"):
                    schema = envelope_data(schema)
                label = f"{method.upper()} {path} {status}"
                found += vague_parts(document, schema, label, frozenset())
    return found


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


def test_every_success_answer_has_its_real_schema(http):
    document = http.get("/schema/openapi.json").json()
    assert len(document["paths"]) > 25  # the whole API, not a part of it
    vague = vague_answers(document)
    assert not vague, "answers that could be anything:\n" + "\n".join(vague)
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    described = set(DATA) | set(OTHER_DATA) | set(BODIES)
    assert described <= operations, f"schemas of no route: {described - operations}"


def json_successes(document: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {
        (method, path, int(status))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for status, answer in operation.get("responses", {}).items()
        if status.startswith("2") and "application/json" in answer.get("content", {})
    }


def alternatives(document: dict[str, Any], schema: Any) -> list[dict[str, Any]]:
    """The schema and every part it combines, references followed."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return alternatives(document, document["components"]["schemas"][schema["$ref"][21:]])
    parts = [schema]
    for combinator in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combinator, []):
            parts += alternatives(document, part)
    return parts


def unnamed_fields(
    document: dict[str, Any], schemas: list[Any], value: Any, where: str
) -> list[str]:
    """Fields of `value` none of its schemas names: the document must say all an answer
    says (validation alone lets any extra field through)."""
    parts = [part for schema in schemas for part in alternatives(document, schema)]
    found: list[str] = []
    if isinstance(value, dict):
        fields: dict[str, list[Any]] = {}
        values = [p["additionalProperties"] for p in parts if "additionalProperties" in p]
        for part in parts:
            for name, field in part.get("properties", {}).items():
                fields.setdefault(name, []).append(field)
        for name, item in value.items():
            known = fields.get(name) or values
            if not known:
                found.append(f"{where}.{name}")
            found += unnamed_fields(document, known, item, f"{where}.{name}")
    elif isinstance(value, list):
        items = [part["items"] for part in parts if "items" in part]
        for index, item in enumerate(value):
            found += unnamed_fields(document, items, item, f"{where}[{index}]")
    return sorted(set(found))


class Conformance:
    """Calls that succeed, each answer held to what the document says of its operation."""

    def __init__(self, http: httpx.Client, schema: Any, document: dict[str, Any]) -> None:
        self.http = http
        self.schema = schema
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()
        self.unnamed: list[str] = []

    def call(
        self, method: str, template: str, status: int = 200, /, **request: Any
    ) -> httpx.Response:
        arguments = request.pop("path", {})
        answer = self.http.request(method, template.format(**arguments), **request)
        assert answer.status_code == status, f"{method} {template}: {answer.text}"
        answer.request.read()  # a multipart body is a stream until read
        self.schema[template][method].validate_response(answer)
        self.seen.add((method.lower(), template, status))
        if answer.headers["content-type"].startswith("application/json"):
            operation = self.document["paths"][template][method.lower()]
            content = operation["responses"][str(status)]["content"]["application/json"]
            where = f"{method} {template} {status}"
            self.unnamed += unnamed_fields(self.document, [content["schema"]], answer.json(), where)
        return answer

    def data(self, method: str, template: str, status: int = 200, /, **request: Any) -> Any:
        return self.call(method, template, status, **request).json()["data"]


def test_every_json_success_is_answered_as_documented(http, schema_server):
    """Each route made to succeed once with real data (schemathesis's random ids mostly
    reach 404s), every answer validated by schemathesis against the document."""
    schema = schemathesis.openapi.from_url(f"{schema_server.base_url}/schema/openapi.json")
    api = Conformance(http, schema, http.get("/schema/openapi.json").json())
    admin = {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}
    api.call("GET", "/health")
    api.call("GET", "/health/detailed")

    email = unique_email("schema")
    api.call("POST", "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "S"})
    pair = api.data("POST", "/api/auth/login", json={"email": email, "password": PASSWORD})
    refresh = {"refreshToken": pair["refreshToken"]}
    pair = api.data("POST", "/api/auth/refresh", json=refresh)
    user = {"Authorization": f"Bearer {pair['token']}"}

    said = {"agentId": "demo", "messages": [{"role": "user", "content": "hello"}]}
    reply = api.data("POST", "/api/chat/completions", headers=user, json=said)
    body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
    api.call("POST", "/v1/chat/completions", headers=user, json=body)
    api.call("GET", "/v1/models", headers=user)
    api.call("GET", "/v1/models/{model_id}", headers=user, path={"model_id": "demo"})
    slow = {"agentId": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with http.stream("POST", "/api/chat/completions", headers=user, json=slow) as streamed:
        message_id = next(events(streamed)).data["messageId"]
        cancel = "/api/chat/streams/{message_id}/cancel"
        api.call("POST", cancel, headers=user, path={"message_id": message_id})

    def listed(method: str, template: str, **request: Any) -> Any:
        """The page's items once the read model has them (the workers fill it)."""

        def items() -> Any:
            return api.data(method, template, **request)["items"]

        return eventually(items, timeout=READ_MODEL_WAIT)

    assert listed("GET", "/api/chat/sessions", headers=user)
    session = {"session_id": reply["sessionId"]}
    history = "/api/chat/sessions/{session_id}/history"
    assert listed("GET", history, headers=user, path=session)
    kept = str(uuid.uuid4())
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    saved = {"sessionId": kept, "title": "Kept", "agentId": "demo", "messages": turns}
    api.call("POST", "/api/chat/sessions/save", headers=user, json=saved)
    gone = {"session_id": kept}
    api.call("DELETE", "/api/chat/sessions/{session_id}", headers=user, path=gone)

    agent = {"agent_id": "openai"}
    assert api.data("GET", "/api/agents", headers=user)["items"]
    api.call("GET", "/api/agents/{agent_id}", headers=user, path=agent)
    api.call("GET", "/api/agents/{agent_id}/status", headers=user, path=agent)
    changed = {"description": "described", "config": {"temperature": 0.2}}
    api.call("PUT", "/api/agents/{agent_id}", headers=admin, path=agent, json=changed)
    api.call("POST", "/api/agents/reload", headers=admin)

    drawing = {"file": ("plan.dxf", to_bytes(rich_drawing()))}
    file = api.data("POST", "/api/upload", headers=user, files=drawing)
    uploaded = {"file_id": file["id"]}
    api.call("GET", "/api/upload/{file_id}", headers=user, path=uploaded)
    parsed = api.data("POST", "/api/cad/parse", headers=user, files=drawing)
    assert len({entity["type"] for entity in parsed["entities"]}) > 5
    api.call("POST", "/api/cad/parse", 202, headers=user, json={"fileId": file["id"]})
    api.call("GET", "/uploads/{stored_name}", headers=user, path={"stored_name": file["filename"]})
    api.call("GET", "/api/cad/{file_id}/preview.svg", headers=user, path=uploaded)
    api.call("DELETE", "/api/upload/{file_id}", headers=user, path=uploaded)

    api.call("GET", "/api/admin/stats", headers=admin)
    assert listed("GET", "/api/usage", headers=user, params={"groupBy": "agent"})
    by_user = {"groupBy": "user"}
    assert listed("GET", "/api/admin/usage", headers=admin, params=by_user)
    as_csv = api.call("GET", "/api/usage", headers={**user, "Accept": "text/csv"})
    assert as_csv.text.startswith("key,requests,")
    assert listed("GET", "/api/admin/audit", headers=admin)
    assert api.data("GET", "/api/admin/audit/verify", headers=admin)["intact"]
    keys = "/api/admin/api-keys"
    issued = api.data("POST", keys, headers=admin, json={"name": "schema", "scopes": ["metrics"]})
    assert api.data("GET", keys, headers=admin)["items"]
    api.call("DELETE", keys + "/{key_id}", headers=admin, path={"key_id": issued["id"]})
    budget = "/api/admin/budgets/{budget_scope}/{id}"
    role = {"budget_scope": "role", "id": "enterprise"}
    limits = {"period": "month", "tokens": 1000, "cost": 2.5}
    api.call("PUT", budget, headers=admin, path=role, json=limits)
    api.call("GET", budget, headers=admin, path=role)
    api.call("DELETE", budget, headers=admin, path=role)
    administered = {"user_id": register(http)["id"]}
    change = {"role": "enterprise", "status": "deactivated"}
    api.call("PATCH", "/api/admin/users/{user_id}", headers=admin, path=administered, json=change)
    assert listed("GET", "/api/admin/users", headers=admin, params={"status": "deactivated"})
    api.call("POST", "/api/admin/users/{user_id}/erase", headers=admin, path=administered)
    _, leaving = signed_in(http)
    api.call("DELETE", "/api/auth/me", headers=leaving, json={"password": PASSWORD})
    api.call("POST", "/api/auth/logout", headers=user)

    missing = sorted(json_successes(api.document) - api.seen)
    assert not missing, f"JSON successes no call here reached: {missing}"
    assert not api.unnamed, "fields the document does not name:\n" + "\n".join(api.unnamed)


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
