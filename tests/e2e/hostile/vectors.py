"""The requests issue 13 names, one by one: each must get an answer below 500, and the
projections must go on after it. Each builds its Request from what the World holds."""

import json
import time
import uuid
from collections.abc import Callable

import jwt

from tests.e2e.hostile.wire import Request, file_upload, multipart, quoted, raw, segment
from tests.e2e.hostile.world import EDITABLE_AGENT, World
from tests.support.builders import PASSWORD

JSON = {"Content-Type": "application/json"}
NUL = "\x00"
DEEP = b"[" * 10_000 + b"]" * 10_000
HUGE_PAGE = "9223372036854775808"
AGENT_PATH = f"/api/agents/{EDITABLE_AGENT}"
# ezdxf quotes an unreadable group code in its error, and the parse failure is recorded.
DXF_ECHOING_NUL = b"0\nSECTION\n2\nENTITIES\n0\nLINE\nx\x00y\n0\nENDSEC\n0\nEOF\n"

Vector = Callable[[World], Request]
VECTORS: dict[str, Vector] = {}


def vector(name: str) -> Callable[[Vector], Vector]:
    def register(build: Vector) -> Vector:
        VECTORS[name] = build
        return build

    return register


def post(path: str, body: object, headers: dict[str, str] | None = None) -> Request:
    return Request("POST", path, json.dumps(body).encode(), {**JSON, **(headers or {})})


def chat_body(content: str = "hello", **extra: object) -> dict[str, object]:
    return {"agentId": "demo", "messages": [{"role": "user", "content": content}], **extra}


def urn(value: str) -> str:
    return f"urn:uuid:{value}"


# Text with NUL in every field that becomes an event ------------------------------------


@vector("anonymous failed sign-in, e-mail with NUL")
def login_nul(world: World) -> Request:
    body = {"email": f"a{NUL}@example.com", "password": "wrong-password"}
    return post("/api/auth/login", body, {"X-Forwarded-For": world.next_address()})


@vector("register, name with NUL")
def register_nul_name(world: World) -> Request:
    return post(
        "/api/auth/register",
        {"email": world.unique_email(), "password": PASSWORD, "name": f"n{NUL}"},
    )


@vector("register, e-mail with NUL")
def register_nul_email(world: World) -> Request:
    body = {"email": f"x{NUL}{world.unique_email()}", "password": PASSWORD, "name": "n"}
    return post("/api/auth/register", body)


@vector("chat content with NUL")
def chat_nul(world: World) -> Request:
    return post("/api/chat/completions", chat_body(f"a{NUL}b"), world.attacker)


@vector("streamed chat content with NUL")
def chat_stream_nul(world: World) -> Request:
    return post("/api/chat/completions", chat_body(f"a{NUL}b", stream=True), world.attacker)


@vector("chat role with NUL")
def chat_role_nul(world: World) -> Request:
    body = {"agentId": "demo", "messages": [{"role": f"user{NUL}", "content": "x"}]}
    return post("/api/chat/completions", body, world.attacker)


@vector("/v1 content with NUL")
def openai_nul(world: World) -> Request:
    body = {"model": "demo", "messages": [{"role": "user", "content": f"a{NUL}b"}]}
    return post("/v1/chat/completions", body, world.attacker)


@vector("/v1 content part with NUL, streamed")
def openai_part_nul(world: World) -> Request:
    part = {"type": "text", "text": f"a{NUL}b"}
    body = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": [part]}]}
    return post("/v1/chat/completions", body, world.attacker)


@vector("/v1 user and name with NUL")
def openai_user_nul(world: World) -> Request:
    message = {"role": "user", "content": "hi", "name": f"n{NUL}"}
    body = {"model": "demo", "user": f"u{NUL}", "messages": [message]}
    return post("/v1/chat/completions", body, world.attacker)


@vector("saved session, title with NUL")
def save_title_nul(world: World) -> Request:
    body = {"sessionId": str(uuid.uuid4()), "title": f"t{NUL}", "agentId": "demo"}
    return post("/api/chat/sessions/save", body, world.attacker)


@vector("saved session, message with NUL")
def save_message_nul(world: World) -> Request:
    message = {"role": "user", "content": f"a{NUL}b"}
    body = {"sessionId": str(uuid.uuid4()), "title": "t", "agentId": "demo", "messages": [message]}
    return post("/api/chat/sessions/save", body, world.attacker)


@vector("upload, description with NUL")
def upload_description_nul(world: World) -> Request:
    parts = [
        (b'Content-Disposition: form-data; name="file"; filename="a.txt"', b"notes"),
        (b'Content-Disposition: form-data; name="description"', raw(f"d{NUL}")),
    ]
    body, content_type = multipart(parts)
    return Request("POST", "/api/upload", body, {**world.attacker, "Content-Type": content_type})


@vector("upload, file name with NUL, bidi and a path")
def upload_name_nul(world: World) -> Request:
    return file_upload("/api/upload", f"../\u202e{NUL}x.txt", b"notes", world.attacker)


@vector("upload, content type with NUL")
def upload_type_nul(world: World) -> Request:
    disposition = b'Content-Disposition: form-data; name="file"; filename=' + quoted(b"a.txt")
    body, content_type = multipart([(disposition + b"\r\nContent-Type: text/\x00plain", b"n")])
    return Request("POST", "/api/upload", body, {**world.attacker, "Content-Type": content_type})


@vector("admin agent update, name with NUL")
def agent_name_nul(world: World) -> Request:
    body = json.dumps({"name": f"n{NUL}", "description": f"d{NUL}"}).encode()
    return Request("PUT", AGENT_PATH, body, {**JSON, **world.admin})


@vector("admin agent update, model with NUL")
def agent_model_nul(world: World) -> Request:
    body = json.dumps({"config": {"model": f"m{NUL}"}}).encode()
    return Request("PUT", AGENT_PATH, body, {**JSON, **world.admin})


@vector("admin API key, name with NUL")
def api_key_nul(world: World) -> Request:
    return post("/api/admin/api-keys", {"name": f"k{NUL}"}, world.admin)


@vector("uploaded DXF whose parse error echoes a NUL")
def dxf_echo(world: World) -> Request:
    file_id = world.upload("echo.dxf", DXF_ECHOING_NUL)
    return post("/api/cad/parse", {"fileId": file_id}, world.attacker)


@vector("sent DXF whose parse error echoes a NUL")
def dxf_sent_echo(world: World) -> Request:
    return file_upload("/api/cad/parse", "echo.dxf", DXF_ECHOING_NUL, world.attacker)


@vector("a refused request whose path holds NUL")
def refused_nul_path(world: World) -> Request:
    return Request("GET", "/api/chat/sessions/" + segment(f"x{NUL}") + "/history")


@vector("a refused request whose user agent holds C1 controls and bidi marks")
def refused_user_agent(world: World) -> Request:
    return Request("GET", "/api/chat/sessions", headers={"User-Agent": b"\x85\x9b\xe2\x80\xae"})


@vector("refresh token with NUL")
def refresh_nul(world: World) -> Request:
    token = world.fresh_tokens()["refreshToken"]
    return post("/api/auth/refresh", {"refreshToken": token + NUL})


# Lone surrogates, which JSON can carry as escapes ---------------------------------------


@vector("chat content with a lone surrogate")
def chat_surrogate(world: World) -> Request:
    return post("/api/chat/completions", chat_body("a\ud800b"), world.attacker)


@vector("register, name with a lone surrogate")
def register_surrogate(world: World) -> Request:
    body = {"email": world.unique_email(), "password": PASSWORD, "name": "\udfff"}
    return post("/api/auth/register", body)


@vector("saved session, title with a lone surrogate")
def save_surrogate(world: World) -> Request:
    body = {"sessionId": str(uuid.uuid4()), "title": "\ud83d", "agentId": "demo"}
    return post("/api/chat/sessions/save", body, world.attacker)


# Ids Python's uuid.UUID reads and PostgreSQL's uuid type does not ------------------------


@vector("chat, sessionId as urn:uuid")
def chat_urn_session(world: World) -> Request:
    session = world.fresh_session()["sessionId"]
    return post("/api/chat/completions", chat_body(sessionId=urn(session)), world.attacker)


@vector("chat, sessionId in braces")
def chat_braced_session(world: World) -> Request:
    session = world.fresh_session()["sessionId"]
    return post("/api/chat/completions", chat_body(sessionId=f"{{{session}}}"), world.attacker)


@vector("chat, new sessionId as urn:uuid")
def chat_new_urn_session(world: World) -> Request:
    return post(
        "/api/chat/completions", chat_body(sessionId=urn(str(uuid.uuid4()))), world.attacker
    )


@vector("chat, fileIds as urn:uuid")
def chat_urn_file(world: World) -> Request:
    file_id = world.upload("notes.txt", b"notes")
    return post("/api/chat/completions", chat_body(fileIds=[urn(file_id)]), world.attacker)


@vector("saved session, sessionId as urn:uuid")
def save_urn_session(world: World) -> Request:
    body = {"sessionId": urn(str(uuid.uuid4())), "title": "t", "agentId": "demo"}
    return post("/api/chat/sessions/save", body, world.attacker)


@vector("saved session, existing session as upper-case hex")
def save_hex_session(world: World) -> Request:
    session = uuid.UUID(world.fresh_session()["sessionId"]).hex.upper()
    return post(
        "/api/chat/sessions/save",
        {"sessionId": session, "title": "t", "agentId": "demo"},
        world.attacker,
    )


@vector("saved session, message id as urn:uuid")
def save_urn_message(world: World) -> Request:
    message = {"role": "user", "content": "x", "id": urn(str(uuid.uuid4()))}
    body = {"sessionId": str(uuid.uuid4()), "title": "t", "agentId": "demo", "messages": [message]}
    return post("/api/chat/sessions/save", body, world.attacker)


@vector("saved session, message id in braces")
def save_braced_message(world: World) -> Request:
    message = {"role": "user", "content": "x", "id": f"{{{uuid.uuid4()}}}"}
    body = {"sessionId": str(uuid.uuid4()), "title": "t", "agentId": "demo", "messages": [message]}
    return post("/api/chat/sessions/save", body, world.attacker)


@vector("delete a session by urn:uuid")
def delete_urn_session(world: World) -> Request:
    session = world.fresh_session()["sessionId"]
    return Request("DELETE", "/api/chat/sessions/" + segment(urn(session)), headers=world.attacker)


@vector("cancel a running reply by urn:uuid")
def cancel_urn(world: World) -> Request:
    path = f"/api/chat/streams/{segment(urn(world.running_reply()))}/cancel"
    return Request("POST", path, headers=world.attacker)


@vector("cancel a running reply by upper-case hex")
def cancel_hex(world: World) -> Request:
    message = uuid.UUID(world.running_reply()).hex.upper()
    return Request("POST", f"/api/chat/streams/{message}/cancel", headers=world.attacker)


@vector("resume a reply by urn:uuid")
def resume_urn(world: World) -> Request:
    path = "/api/chat/streams/" + segment(urn(world.fresh_session()["messageId"]))
    return Request("GET", path, headers=world.attacker)


@vector("delete an upload by urn:uuid")
def delete_urn_file(world: World) -> Request:
    file_id = world.upload("notes.txt", b"notes")
    return Request("DELETE", "/api/upload/" + segment(urn(file_id)), headers=world.attacker)


@vector("parse an uploaded DXF by urn:uuid")
def parse_urn_file(world: World) -> Request:
    file_id = world.upload("plan.dxf", b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n")
    return post("/api/cad/parse", {"fileId": urn(file_id)}, world.attacker)


@vector("preview an uploaded DXF by urn:uuid")
def preview_urn_file(world: World) -> Request:
    file_id = world.upload("plan.dxf", b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n")
    return Request("GET", f"/api/cad/{segment(urn(file_id))}/preview.svg", headers=world.attacker)


@vector("download an upload by urn:uuid")
def download_urn_file(world: World) -> Request:
    file_id = world.upload("notes.txt", b"notes")
    return Request("GET", f"/uploads/{segment(urn(file_id))}.txt", headers=world.attacker)


@vector("revoke an API key by urn:uuid")
def revoke_urn_key(world: World) -> Request:
    key = world.fresh_api_key()
    return Request("DELETE", "/api/admin/api-keys/" + segment(urn(key)), headers=world.admin)


@vector("history of an id PostgreSQL cannot read as a uuid")
def history_urn(world: World) -> Request:
    session = world.fresh_session()["sessionId"]
    return Request(
        "GET", f"/api/chat/sessions/{segment(urn(session))}/history", headers=world.attacker
    )


@vector("history of a session id that is not a uuid at all")
def history_not_uuid(world: World) -> Request:
    return Request("GET", "/api/chat/sessions/not-a-uuid/history", headers=world.attacker)


@vector("history before a message id that is not a uuid")
def history_before(world: World) -> Request:
    session = world.fresh_session()["sessionId"]
    query = (("before", urn(session)),)
    return Request(
        "GET", f"/api/chat/sessions/{session}/history", headers=world.attacker, query=query
    )


# Parsers and numbers ---------------------------------------------------------------------


def anonymous(world: World) -> dict[str, str]:
    return {"X-Forwarded-For": world.next_address()}


def attacker(world: World) -> dict[str, str]:
    return world.attacker


def admin(world: World) -> dict[str, str]:
    return world.admin


Who = Callable[[World], dict[str, str]]


def deep(method: str, path: str, who: Who) -> Vector:
    return lambda world: Request(method, path, DEEP, {**JSON, **who(world)})


for label, method, path, who in (
    ("anonymous login", "POST", "/api/auth/login", anonymous),
    ("anonymous register", "POST", "/api/auth/register", anonymous),
    ("refresh", "POST", "/api/auth/refresh", anonymous),
    ("chat", "POST", "/api/chat/completions", attacker),
    ("/v1", "POST", "/v1/chat/completions", attacker),
    ("CAD parse", "POST", "/api/cad/parse", attacker),
    ("saved session", "POST", "/api/chat/sessions/save", attacker),
    ("agent update", "PUT", AGENT_PATH, admin),
    ("API key", "POST", "/api/admin/api-keys", admin),
):
    VECTORS[f"JSON nested 10,000 levels, {label}"] = deep(method, path, who)


@vector("JSON nested 10,000 levels, inside a message")
def deep_in_message(world: World) -> Request:
    inner = b'{"role":"user","content":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    body = b'{"agentId":"demo","messages":[' + inner + b"]}"
    return Request("POST", "/api/chat/completions", body, {**JSON, **world.attacker})


def huge(path_of: Callable[[World], str], who: Who, name: str, value: str) -> Vector:
    return lambda world: Request("GET", path_of(world), headers=who(world), query=((name, value),))


def history_path(world: World) -> str:
    return f"/api/chat/sessions/{world.fresh_session()['sessionId']}/history"


for label, path_of, who in (
    ("sessions", lambda world: "/api/chat/sessions", attacker),
    ("history", history_path, attacker),
    ("agents", lambda world: "/api/agents", attacker),
    ("API keys", lambda world: "/api/admin/api-keys", admin),
    ("audit", lambda world: "/api/admin/audit", admin),
):
    VECTORS[f"{label}, page=2**63"] = huge(path_of, who, "page", HUGE_PAGE)
    VECTORS[f"{label}, limit=-2**63-1"] = huge(path_of, who, "limit", "-9223372036854775809")


@vector("resume, Last-Event-ID=2**64")
def resume_huge_event(world: World) -> Request:
    message = world.fresh_session()["messageId"]
    headers = {**world.attacker, "Last-Event-ID": "18446744073709551616"}
    return Request("GET", f"/api/chat/streams/{message}", headers=headers)


@vector("chat, maxTokens=2**63 and temperature=1e308")
def chat_huge_config(world: World) -> Request:
    body = chat_body(config={"maxTokens": 2**63, "temperature": 1e308})
    return post("/api/chat/completions", body, world.attacker)


@vector("/v1, max_tokens=2**64 and n=2**63")
def openai_huge(world: World) -> Request:
    body = {
        "model": "demo",
        "max_tokens": 2**64,
        "n": 2**63,
        "messages": [{"role": "user", "content": "x"}],
    }
    return post("/v1/chat/completions", body, world.attacker)


@vector("agent update, maxTokens=2**63")
def agent_huge(world: World) -> Request:
    body = json.dumps({"config": {"maxTokens": 2**63, "temperature": 1e308}}).encode()
    return Request("PUT", AGENT_PATH, body, {**JSON, **world.admin})


# Accounts --------------------------------------------------------------------------------


@vector("register, a 1,025-character password")
def long_password(world: World) -> Request:
    body = {"email": world.unique_email(), "password": "p" * 1025, "name": "n"}
    return post("/api/auth/register", body)


@vector("sign in, a 1,000,000-character password")
def huge_password(world: World) -> Request:
    body = {"email": world.target_email, "password": "p" * 1_000_000}
    return post("/api/auth/login", body, {"X-Forwarded-For": world.next_address()})


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in text)


def registering(spell: Callable[[str], str]) -> Vector:
    def build(world: World) -> Request:
        body = {"email": spell(world.unique_email()), "password": PASSWORD, "name": "n"}
        return post("/api/auth/register", body)

    return build


for label, spell in (
    ("in NFD", lambda email: "e\u0301" + email),
    ("in fullwidth letters", fullwidth),
    ("with a zero-width space and a bidi mark", lambda email: "\u200b\u202e" + email),
):
    VECTORS[f"register, an e-mail {label}"] = registering(spell)


@vector("a signed token whose user does not exist")
def ghost_token(world: World) -> Request:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "user",
        "fam": str(uuid.uuid4()),
        "typ": "access",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, world.jwt_secret, algorithm="HS256")
    return post("/api/chat/completions", chat_body(), {"Authorization": f"Bearer {token}"})


# Files -----------------------------------------------------------------------------------


@vector("download, a range past the end")
def range_past_end(world: World) -> Request:
    file_id = world.upload("notes.txt", b"notes")
    headers = {**world.attacker, "Range": "bytes=99999999999999999999-"}
    return Request("GET", f"/uploads/{file_id}.txt", headers=headers)


@vector("download, a range with a hostile unit and If-None-Match")
def range_hostile(world: World) -> Request:
    file_id = world.upload("notes.txt", b"notes")
    headers = {**world.attacker, "Range": "bytes=-0,5-1,\u00e9", "If-None-Match": '"\u00e9"'}
    return Request("GET", f"/uploads/{file_id}.txt", headers=headers)
