"""Input that would become an event no read model can apply is refused at the edge, over HTTP
and the WebSocket (issue 13, items 1, 8, 12 and 15).

A NUL in any text field is a 400 naming the field; an id in any spelling but the canonical
one creates nothing (400 on writes, 404 on reads); what comes from elsewhere is cleaned;
JSON too deep and pages past any offset are 400s, not 500s; look-alike addresses are one
account; and the read models keep up after all of it.
"""

import json
import re
import unicodedata
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from httpx_ws import connect_ws

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.admin_fixtures import client_of, eventually, running, server_env
from tests.e2e.test_envelope import assert_error
from tests.support.builders import PASSWORD, login, signed_in, unique_email
from tests.support.event_log import raw_states

# U+0000 as JSON writes it, not preceded by a written backslash.
ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
DEEP = 10_000


@pytest.fixture(scope="module")
def edge_env(fake_provider, make_database, redis_namespace, tmp_path_factory):
    folder = tmp_path_factory.mktemp("edge")
    return server_env(fake_provider, make_database, redis_namespace, folder, "edge")


@pytest.fixture(scope="module")
def server(edge_env):
    """A server of this module's own, with its projection workers: the read models must
    keep up after everything sent here."""
    yield from running(edge_env)


@pytest.fixture
def http(server):
    yield from client_of(server)


@pytest.fixture(scope="module")
def db_url(edge_env) -> str:
    return str(edge_env["LLMCHAT_DATABASE_URL"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(http) -> dict[str, str]:
    return signed_in(http)[1]


@pytest.fixture
def admin(http) -> dict[str, str]:
    return bearer(login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["token"])


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def chat(http: httpx.Client, headers: dict[str, str], text: str = "hello", **extra: Any) -> Any:
    body = {"agentId": "demo", "messages": [{"role": "user", "content": text}], **extra}
    return ok(http.post("/api/chat/completions", headers=headers, json=body))


def saved(http: httpx.Client, headers: dict[str, str], session_id: str, **extra: Any) -> Any:
    body = {"sessionId": session_id, "title": "Kept", "agentId": "demo", **extra}
    return http.post("/api/chat/sessions/save", headers=headers, json=body)


def assert_no_nul_in_the_log(db_url: str) -> None:
    poisoned = [state[:200] for state in raw_states(db_url) if ESCAPED_NUL.search(state)]
    assert poisoned == []


def events_of(db_url: str, stream_id: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM llmchat_events WHERE originator_id = %s", (uuid.UUID(stream_id),)
        ).fetchone()
    assert row is not None
    return int(row[0])


def refused_naming(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert str(body["error"]["details"]).startswith(f"{field}: must not contain U+0000"), body


# --- a NUL in any text field ---------------------------------------------------------------


def account(**fields: str) -> dict[str, str]:
    return {"email": "a@b.io", "password": PASSWORD, "name": "N", **fields}


ANONYMOUS_BODIES = {
    "register email": ("/api/auth/register", account(email="a\x00@b.io"), "email"),
    "register password": ("/api/auth/register", account(password="p\x00ssword-1"), "password"),
    "register name": ("/api/auth/register", account(name="N\x00"), "name"),
    "login email": ("/api/auth/login", {"email": "victim\x00@b.io", "password": PASSWORD}, "email"),
    "login password": ("/api/auth/login", {"email": "a@b.io", "password": "\x00"}, "password"),
}


@pytest.mark.parametrize("case", ANONYMOUS_BODIES)
def test_a_nul_in_an_anonymous_text_field_is_refused_naming_it(http, db_url, case):
    path, body, field = ANONYMOUS_BODIES[case]
    refused_naming(http.post(path, json=body), field)
    assert_no_nul_in_the_log(db_url)


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"agentId": "demo", "messages": [{"role": "user", "content": "hi"}], **fields}


def said(*contents: str) -> list[dict[str, str]]:
    """Messages with these contents, the last one the user's."""
    roles = ["assistant"] * (len(contents) - 1) + ["user"]
    return [{"role": role, "content": text} for role, text in zip(roles, contents, strict=True)]


def save_body(**fields: Any) -> dict[str, Any]:
    return {"sessionId": str(uuid.uuid4()), "title": "t", "agentId": "demo", **fields}


CHAT, SAVE = "/api/chat/completions", "/api/chat/sessions/save"
USER_BODIES = {
    "chat content": (CHAT, chat_body(messages=said("a\x00b")), "messages[0].content"),
    "chat earlier content": (CHAT, chat_body(messages=said("\x00", "hi")), "messages[0].content"),
    "chat agent": (CHAT, chat_body(agentId="demo\x00"), "agentId"),
    "save title": (SAVE, save_body(title="t\x00"), "title"),
    "save content": (SAVE, save_body(messages=said("x\x00")), "messages[0].content"),
    "save agent": (SAVE, save_body(agentId="\x00"), "agentId"),
    "cad file id": ("/api/cad/parse", {"fileId": "\x00"}, "fileId"),
}


@pytest.mark.parametrize("case", USER_BODIES)
def test_a_nul_in_a_users_text_field_is_refused_naming_it(http, db_url, user, case):
    path, body, field = USER_BODIES[case]
    refused_naming(http.post(path, headers=user, json=body), field)
    assert_no_nul_in_the_log(db_url)


def test_a_nul_in_v1_content_is_refused_naming_the_param(http, db_url, user):
    body = {"model": "demo", "messages": [{"role": "user", "content": "a\x00"}]}
    response = http.post("/v1/chat/completions", headers=user, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages[0].content"
    parts = [{"type": "text", "text": "ok"}, {"type": "text", "text": "\x00"}]
    parts_body = {"model": "demo", "messages": [{"role": "user", "content": parts}]}
    response = http.post("/v1/chat/completions", headers=user, json=parts_body)
    assert response.json()["error"]["param"] == "messages[0].content[1].text"
    assert_no_nul_in_the_log(db_url)


def test_a_nul_in_an_upload_description_is_refused_naming_it(http, db_url, user):
    files = {"file": ("notes.txt", b"plain text", "text/plain")}
    response = http.post(
        "/api/upload/", headers=user, files=files, data={"description": "about\x00this"}
    )
    refused_naming(response, "description")
    assert_no_nul_in_the_log(db_url)


AGENT, KEYS = "/api/agents/editable", "/api/admin/api-keys/"
ADMIN_BODIES = {
    "agent name": ("PUT", AGENT, {"name": "x\x00"}, "name"),
    "agent description": ("PUT", AGENT, {"description": "\x00"}, "description"),
    "agent model": ("PUT", AGENT, {"config": {"model": "m\x00"}}, "config.model"),
    "api key name": ("POST", KEYS, {"name": "ci\x00"}, "name"),
    "api key scope": ("POST", KEYS, {"name": "ci", "scopes": ["chat", "\x00"]}, "scopes[1]"),
}


@pytest.mark.parametrize("case", ADMIN_BODIES)
def test_a_nul_in_an_admins_text_field_is_refused_naming_it(http, db_url, admin, case):
    method, path, body, field = ADMIN_BODIES[case]
    refused_naming(http.request(method, path, headers=admin, json=body), field)
    assert_no_nul_in_the_log(db_url)


def test_a_nul_in_a_query_parameter_is_refused_naming_it(http, admin):
    refused_naming(
        http.get("/api/admin/audit", headers=admin, params={"action": "a\x00"}), "action"
    )
    refused_naming(http.get("/api/agents", headers=admin, params={"category": "\x00"}), "category")


def test_a_path_from_outside_is_cleaned_before_it_is_audited(http, db_url):
    # A refused request is audited (AccessDenied) with its (percent-decoded) path.
    response = http.get("/api/upload/%00poison")
    assert_error(response, 401, "UNAUTHORIZED")
    assert_no_nul_in_the_log(db_url)


def test_a_nul_over_the_websocket_is_a_validation_error(server, http):
    token = login_token(http)
    url = server.base_url.replace("http", "ws") + "/api/ws?token=" + token
    with httpx.Client() as client, connect_ws(url, client) as ws:
        message = {"type": "chat", "requestId": "r1", **chat_body(messages=said("\x00"))}
        ws.send_text(json.dumps(message))
        answer = json.loads(ws.receive_text())
        assert answer["code"] == "VALIDATION_ERROR", answer
        assert answer["requestId"] == "r1"
        ws.send_text("[" * DEEP + "]" * DEEP)
        assert json.loads(ws.receive_text())["code"] == "VALIDATION_ERROR"
        ws.send_text(json.dumps({"type": "cancel", "messageId": str(uuid.uuid4()).upper()}))
        assert json.loads(ws.receive_text())["code"] == "NOT_FOUND"


def login_token(http: httpx.Client) -> str:
    data, _ = signed_in(http)
    return str(data["token"])


# --- ids in other spellings ----------------------------------------------------------------


def spellings(value: str) -> list[str]:
    canonical = uuid.UUID(value)
    return [canonical.urn, f"{{{canonical}}}", str(canonical).upper(), canonical.hex]


def assert_writes_refused(http: httpx.Client, user: dict[str, str], session_id: str) -> None:
    assert_error(saved(http, user, session_id), 400, "VALIDATION_ERROR")
    response = http.post(CHAT, headers=user, json=chat_body(sessionId=session_id))
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_new_session_under_another_spelling_of_an_id_creates_nothing(http, db_url, user):
    session_id = str(uuid.uuid4())
    for spelling in spellings(session_id):
        assert_writes_refused(http, user, spelling)
    assert events_of(db_url, session_id) == 0


def test_an_existing_session_under_another_spelling_gets_no_event(http, db_url, user):
    session_id = chat(http, user)["sessionId"]
    stored = events_of(db_url, session_id)
    message_id = str(uuid.uuid4())
    for spelling in spellings(session_id):
        assert_writes_refused(http, user, spelling)
        response = http.delete(f"/api/chat/sessions/{spelling}", headers=user)
        assert_error(response, 400, "VALIDATION_ERROR")
    for spelling in spellings(message_id):
        messages = [{"role": "user", "content": "hi", "id": spelling}]
        assert_error(saved(http, user, session_id, messages=messages), 400, "VALIDATION_ERROR")
    assert events_of(db_url, session_id) == stored
    assert events_of(db_url, message_id) == 0


def test_reads_under_another_spelling_of_an_id_are_not_found(http, user):
    answer = chat(http, user)
    session_id, message_id = answer["sessionId"], answer["id"]
    files = {"file": ("notes.txt", b"plain text", "text/plain")}
    file_id = ok(http.post("/api/upload/", headers=user, files=files))["id"]
    for spelling in spellings(session_id):
        response = http.get(f"/api/chat/sessions/{spelling}/history", headers=user)
        assert_error(response, 404, "NOT_FOUND")
    for spelling in spellings(message_id):
        assert_error(http.get(f"/api/chat/streams/{spelling}", headers=user), 404, "NOT_FOUND")
    for spelling in spellings(file_id):
        assert_error(http.get(f"/api/upload/{spelling}", headers=user), 404, "NOT_FOUND")
        assert_error(http.get(f"/uploads/{spelling}.txt", headers=user), 404, "NOT_FOUND")
    # The canonical spelling is the one stored and echoed.
    history = f"/api/chat/sessions/{session_id}/history"
    assert eventually(lambda: ok(http.get(history, headers=user))["items"])
    assert ok(http.get(f"/api/upload/{file_id}", headers=user))["id"] == file_id


def test_a_history_bound_postgresql_cannot_read_as_a_uuid_is_a_validation_error(http, user):
    answer = chat(http, user)
    session_id = answer["sessionId"]
    for before in [*spellings(answer["id"]), "not-a-uuid", "1" * 40]:
        response = http.get(
            f"/api/chat/sessions/{session_id}/history", headers=user, params={"before": before}
        )
        assert_error(response, 400, "VALIDATION_ERROR")


# --- 500 where 400 belongs -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register", "/api/auth/refresh"])
def test_json_nested_ten_thousand_deep_is_a_validation_error_even_anonymously(http, path):
    for deep in (b"[" * DEEP + b"]" * DEEP, b'{"a":' * DEEP + b"1" + b"}" * DEEP):
        response = http.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "VALIDATION_ERROR")


def test_json_nested_too_deep_is_a_validation_error_on_every_json_route(http, user):
    deep = b"[" * DEEP + b"]" * DEEP
    headers = {**user, "Content-Type": "application/json"}
    for path in ("/api/chat/completions", "/api/chat/sessions/save", "/api/cad/parse"):
        assert_error(http.post(path, content=deep, headers=headers), 400, "VALIDATION_ERROR")
    response = http.post("/v1/chat/completions", content=deep, headers=headers)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("value", ["9223372036854775808", "9223372036854775807", "1000000001"])
@pytest.mark.parametrize("name", ["page", "limit"])
def test_a_page_or_limit_out_of_range_is_a_validation_error(http, user, admin, name, value):
    session_id = chat(http, user)["sessionId"]
    for path, headers in (
        ("/api/chat/sessions", user),
        (f"/api/chat/sessions/{session_id}/history", user),
        ("/api/admin/audit", admin),
        ("/api/admin/api-keys/", admin),
        ("/api/agents", user),
    ):
        response = http.get(path, headers=headers, params={name: value})
        assert_error(response, 400, "VALIDATION_ERROR")


# --- e-mail addresses and passwords --------------------------------------------------------


def test_look_alike_addresses_register_once_and_sign_in_as_one(http):
    local = f"jos\u00e9-{uuid.uuid4().hex[:8]}"
    nfc = unicodedata.normalize("NFC", f"{local}@example.com")
    body = {"email": nfc, "password": PASSWORD, "name": "José"}
    user = ok(http.post("/api/auth/register", json=body))["user"]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in nfc)
    for look_alike in (unicodedata.normalize("NFD", nfc), nfc.upper(), fullwidth):
        response = http.post("/api/auth/register", json={**body, "email": look_alike})
        assert_error(response, 409, "CONFLICT")
        assert login(http, look_alike)["user"]["id"] == user["id"]
    for hidden in ("\u200b", "\u200d", "\u202e", "\u2066", "\ufeff"):
        response = http.post(
            "/api/auth/register", json={**body, "email": f"{local[:2]}{hidden}{nfc[2:]}"}
        )
        refused = assert_error(response, 400, "VALIDATION_ERROR")
        assert refused["error"]["details"] == f"email: must not contain U+{ord(hidden):04X}"


def test_an_ascii_account_still_signs_in_under_any_case(http):
    email = unique_email("Mixed")
    ok(http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "M"}))
    assert login(http, email.lower())["user"]["email"] == email.lower()
    assert login(http, email.upper())["user"]["email"] == email.lower()


def test_a_password_over_the_limit_is_called_too_long(http):
    body = {"email": unique_email(), "password": "x" * 1025, "name": "Long"}
    refused = assert_error(http.post("/api/auth/register", json=body), 400, "VALIDATION_ERROR")
    assert refused["message"] == "Password too long"
    assert refused["error"]["details"] == "password: must be 8 to 1024 characters"
    ok(http.post("/api/auth/register", json={**body, "password": "x" * 1024}))


# --- and the read models keep up -----------------------------------------------------------


def test_the_read_models_keep_up_after_every_vector(http, db_url, user):
    """The vectors of issue 13 one after the other, then a chat that must be listed."""
    http.post("/api/auth/login", json={"email": "x\x00@y.io", "password": PASSWORD})
    saved(http, user, uuid.uuid4().urn)
    http.post("/api/chat/completions", headers=user, json=chat_body(sessionId=uuid.uuid4().urn))
    http.get("/api/chat/%00")
    answer = chat(http, user, "after the vectors")
    assert_no_nul_in_the_log(db_url)

    def listed() -> bool:
        items = ok(http.get("/api/chat/sessions", headers=user))["items"]
        return any(item["id"] == answer["sessionId"] for item in items)

    assert eventually(listed, timeout=10)


def test_a_write_naming_an_id_in_another_spelling_in_its_path_is_400(http, user):
    answer = chat(http, user)
    files = {"file": ("notes.txt", b"plain text", "text/plain")}
    file_id = ok(http.post("/api/upload/", headers=user, files=files))["id"]
    for spelling in spellings(answer["id"]):
        response = http.post(f"/api/chat/streams/{spelling}/cancel", headers=user)
        assert_error(response, 400, "VALIDATION_ERROR")
    for spelling in spellings(file_id):
        assert_error(http.delete(f"/api/upload/{spelling}", headers=user), 400, "VALIDATION_ERROR")
    # The canonical spelling still reaches the file.
    assert http.delete(f"/api/upload/{file_id}", headers=user).status_code == 200
