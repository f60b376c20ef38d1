"""Every write route of the API, as a hostile request drawn from hypothesis strategies.

Each builder takes hypothesis's `draw` and the World (for real ids to spell wrongly and
tokens to ask with) and returns one Request. Bodies are mostly of the route's own shape
with hostile values, so they get past the decoder and reach the use case and the event
store; the rest are wrong types, unknown fields, deep nesting and bytes that are not JSON.
"""

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

from tests.e2e.hostile import strategies as hs
from tests.e2e.hostile.wire import Request, multipart, quoted, raw, segment
from tests.e2e.hostile.world import EDITABLE_AGENT, HEALTHY_AGENTS, World
from tests.support.builders import PASSWORD
from tests.unit.test_file_content import png_bytes

Draw = Callable[[st.SearchStrategy[Any]], Any]
Builder = Callable[[Draw, World], Request]
JSON = {"Content-Type": "application/json"}


def hostile_headers(draw: Draw, world: World, auth: Mapping[str, str]) -> dict[str, str | bytes]:
    """The caller's headers plus a hostile User-Agent or X-Request-ID now and then (both
    reach the events' metadata), and an address of this case's own."""
    headers: dict[str, str | bytes] = {**auth, "X-Forwarded-For": world.next_address()}
    if draw(st.booleans()):
        headers["User-Agent"] = draw(hs.header_text())
    if draw(st.booleans()):
        headers["X-Request-ID"] = draw(hs.header_text())
    return headers


def caller(draw: Draw, world: World, token: Mapping[str, str]) -> dict[str, str]:
    """Mostly the given token; sometimes none or a broken one (a refusal is recorded as an
    AccessDenied event, with the path and user agent it came with)."""
    kind = draw(st.sampled_from(("token",) * 8 + ("none", "broken")))
    if kind == "none":
        return {}
    if kind == "broken":
        return {"Authorization": "Bearer " + draw(st.sampled_from(("x", "a.b.c", "null")))}
    return dict(token)


def json_request(
    draw: Draw,
    world: World,
    method: str,
    path: str,
    typed: st.SearchStrategy[dict[str, Any]],
    token: Mapping[str, str],
) -> Request:
    headers = {**JSON, **hostile_headers(draw, world, caller(draw, world, token))}
    return Request(method, path, draw(hs.json_bodies(typed)), headers)


def agent_names() -> hs.Field:
    bad = st.one_of(st.sampled_from(("retired", "nobody", "probe ", "DEMO", "")), hs.hostile_text())
    return hs.Field(st.sampled_from(HEALTHY_AGENTS), bad)


def text_field(max_size: int = 30, required: bool = True) -> hs.Field:
    return hs.Field(hs.plain_text(max_size), hs.hostile_text(), required)


def number_field(good: st.SearchStrategy[Any]) -> hs.Field:
    return hs.Field(good, st.one_of(hs.huge_numbers(), hs.json_values()), required=False)


def messages_field(
    message: st.SearchStrategy[Any], last: st.SearchStrategy[Any] | None = None
) -> hs.Field:
    """A conversation: a few messages, ending with `last` (the user's turn) when given."""
    turn = message if last is None else last
    good = st.lists(message, max_size=2).flatmap(lambda earlier: turn.map(lambda t: [*earlier, t]))
    bad = st.one_of(st.just([]), hs.json_values(), st.lists(message, min_size=1, max_size=300))
    return hs.Field(good, bad)


def chat_message(roles: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return hs.objects({"role": hs.Field(roles, hs.hostile_text(12)), "content": text_field(200)})


def chat_messages() -> hs.Field:
    earlier = chat_message(st.sampled_from(("user", "system", "assistant")))
    return messages_field(earlier, chat_message(st.just("user")))


# /api/auth ---------------------------------------------------------------------------------


def register(draw: Draw, world: World) -> Request:
    email = st.one_of(
        st.builds(lambda name: name + "@example.com", hs.hostile_text()),
        st.builds(lambda t: world.unique_email().replace("@", t + "@"), hs.hostile_text()),
        hs.hostile_text(),
    )
    passwords = st.one_of(hs.hostile_text(), st.just("p" * 1025))
    typed = hs.objects(
        {
            "email": hs.Field(st.builds(world.unique_email), email),
            "password": hs.Field(st.just(PASSWORD), passwords),
            "name": text_field(),
        }
    )
    return json_request(draw, world, "POST", "/api/auth/register", typed, {})


def login(draw: Draw, world: World) -> Request:
    email = st.one_of(
        st.builds(lambda t: world.target_email + t, hs.hostile_text()),
        st.builds(lambda t: t + world.target_email.upper(), hs.hostile_text()),
        st.builds(lambda name: name + "@example.com", hs.hostile_text()),
        hs.hostile_text(),
    )
    typed = hs.objects(
        {
            # Mostly no one's address: the throttle per account would soon answer 429 to
            # every guess at the one account that exists.
            "email": hs.Field(
                st.one_of(st.builds(world.unique_email), st.just(world.target_email)), email
            ),
            "password": hs.Field(hs.plain_text(), hs.hostile_text()),
        }
    )
    return json_request(draw, world, "POST", "/api/auth/login", typed, {})


def refresh(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("body", "bearer", "real", "real")))
    if kind == "real":
        token = world.fresh_tokens()["refreshToken"]
        spelt = draw(st.sampled_from((token, token + "\x00", token[:-2], token + "\u202e")))
        typed = st.just({"refreshToken": spelt})
        return json_request(draw, world, "POST", "/api/auth/refresh", typed, {})
    if kind == "bearer":
        headers = hostile_headers(draw, world, {})
        headers["Authorization"] = b"Bearer " + draw(hs.header_text())
        return Request("POST", "/api/auth/refresh", b"", headers)
    typed = st.fixed_dictionaries({"refreshToken": st.one_of(hs.hostile_text(), st.none())})
    return json_request(draw, world, "POST", "/api/auth/refresh", typed, {})


def logout(draw: Draw, world: World) -> Request:
    token = world.fresh_tokens()["token"]
    typed = st.dictionaries(hs.hostile_text(12), hs.json_values(), max_size=3)
    auth = {"Authorization": f"Bearer {token}"}
    return json_request(draw, world, "POST", "/api/auth/logout", typed, auth)


def erase_me(draw: Draw, world: World) -> Request:
    """A fresh user's own erasure: the real password now and then (which erases them)."""
    token = world.fresh_tokens()["token"]
    passwords = st.one_of(hs.hostile_text(), st.just(PASSWORD))
    typed = hs.objects({"password": hs.Field(passwords, hs.json_values())})
    auth = {"Authorization": f"Bearer {token}"}
    return json_request(draw, world, "DELETE", "/api/auth/me", typed, auth)


# /api/chat ---------------------------------------------------------------------------------


def session_ids(draw: Draw, world: World) -> st.SearchStrategy[str]:
    """A session id: the caller's own or another user's, spelt in any form, or any id."""
    kind = draw(st.sampled_from(("own", "own", "other", "any")))
    if kind == "own":
        return hs.real_id(world.fresh_session()["sessionId"])
    if kind == "other":
        return hs.real_id(world.fresh_session(world.bystander)["sessionId"])
    return hs.any_id(in_url=True)


def completion_body(draw: Draw, world: World) -> st.SearchStrategy[dict[str, Any]]:
    config = hs.objects(
        {
            "temperature": number_field(st.floats(0, 2)),
            "maxTokens": number_field(st.integers(1, 4096)),
        }
    )
    fields = {
        "agentId": agent_names(),
        "messages": chat_messages(),
        "stream": hs.Field(st.booleans(), hs.json_values()),
        "config": hs.Field(config, hs.json_values(), required=False),
        "fileIds": hs.Field(st.just([]), st.lists(hs.any_id(), max_size=2), required=False),
    }
    if draw(st.booleans()):
        session = session_ids(draw, world)
        fields["sessionId"] = hs.Field(session, session)
    return hs.objects(fields)


def completions(draw: Draw, world: World) -> Request:
    typed = completion_body(draw, world)
    return json_request(draw, world, "POST", "/api/chat/completions", typed, world.attacker)


def sessions_save(draw: Draw, world: World) -> Request:
    message = hs.objects(
        {
            "role": hs.Field(st.sampled_from(("user", "assistant")), hs.hostile_text(12)),
            "content": text_field(200),
            "id": hs.Field(st.uuids().map(str), hs.any_id(), required=False),
        }
    )
    kind = draw(st.sampled_from(("new", "existing")))
    session = st.uuids().map(str) if kind == "new" else session_ids(draw, world)
    typed = hs.objects(
        {
            "sessionId": hs.Field(session, hs.any_id()),
            "title": text_field(),
            "agentId": agent_names(),
            "messages": messages_field(message),
        }
    )
    return json_request(draw, world, "POST", "/api/chat/sessions/save", typed, world.attacker)


def session_delete(draw: Draw, world: World) -> Request:
    session = draw(session_ids(draw, world))
    auth = caller(draw, world, world.attacker)
    path = "/api/chat/sessions/" + segment(session)
    return Request("DELETE", path, b"", hostile_headers(draw, world, auth))


def message_ids(draw: Draw, world: World) -> st.SearchStrategy[str]:
    """A message id: of a reply still running or one that ended, in any form, or any id."""
    kind = draw(st.sampled_from(("running", "finished", "any")))
    if kind == "running":
        return hs.real_id(world.running_reply())
    if kind == "finished":
        return hs.real_id(world.fresh_session()["messageId"])
    return hs.any_id(in_url=True)


def cancel(draw: Draw, world: World) -> Request:
    message = draw(message_ids(draw, world))
    path = f"/api/chat/streams/{segment(message)}/cancel"
    auth = caller(draw, world, world.attacker)
    return Request("POST", path, b"", hostile_headers(draw, world, auth))


def openai_completions(draw: Draw, world: World) -> Request:
    part = hs.objects(
        {"type": hs.Field(st.just("text"), hs.hostile_text(8)), "text": text_field(200)}
    )
    content = hs.Field(
        st.one_of(hs.plain_text(200), st.lists(part, min_size=1, max_size=2)),
        st.one_of(hs.hostile_text(), st.none(), st.lists(part, max_size=2), hs.json_values()),
    )

    def message(roles: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
        return hs.objects(
            {
                "role": hs.Field(roles, st.one_of(st.just("tool"), hs.hostile_text(8))),
                "content": content,
                "name": text_field(required=False),
            }
        )

    earlier = message(st.sampled_from(("user", "system", "developer", "assistant")))
    typed = hs.objects(
        {
            "model": agent_names(),
            "messages": messages_field(earlier, message(st.just("user"))),
            "stream": hs.Field(st.booleans(), hs.json_values(), required=False),
            "temperature": number_field(st.floats(0, 2)),
            "max_tokens": number_field(st.integers(1, 4096)),
            "max_completion_tokens": number_field(st.integers(1, 4096)),
            "n": number_field(st.just(1)),
            "stream_options": hs.Field(
                st.fixed_dictionaries({"include_usage": st.booleans()}),
                hs.json_values(),
                required=False,
            ),
            "user": text_field(required=False),
        }
    )
    return json_request(draw, world, "POST", "/v1/chat/completions", typed, world.attacker)


# /api/upload and /api/cad ------------------------------------------------------------------


def dxf(layer: str, text: str, x: str = "1.0") -> bytes:
    """A one-TEXT drawing, written by hand so any layer name, text or coordinate goes in."""
    pairs = ["0", "SECTION", "2", "ENTITIES", "0", "TEXT", "8", layer, "10", x, "20", "2.0"]
    pairs += ["40", "1.0", "1", text, "0", "ENDSEC", "0", "EOF"]
    return raw("\n".join(pairs) + "\n")


def broken_dxf(line: bytes) -> bytes:
    """A drawing with one line ezdxf cannot read: its error quotes the line."""
    return b"0\nSECTION\n2\nENTITIES\n0\nLINE\n" + line + b"\n0\nENDSEC\n0\nEOF\n"


def drawings() -> st.SearchStrategy[bytes]:
    coordinate = st.one_of(st.just("1.0"), hs.hostile_text(20))
    return st.one_of(
        st.builds(dxf, hs.plain_text(), hs.plain_text()),
        st.builds(dxf, hs.bounded_text(30), hs.hostile_text(), coordinate),
        st.builds(lambda code: broken_dxf(raw(code)), hs.hostile_text(30)),
        st.builds(lambda value: broken_dxf(b"40\n" + raw(value)), hs.hostile_text(30)),
        st.binary(max_size=80).map(broken_dxf),
    )


GOOD_FILES: dict[str, tuple[bytes, st.SearchStrategy[bytes]]] = {
    "txt": (b"text/plain", hs.plain_text(200).map(raw)),
    "md": (b"text/markdown", hs.plain_text(200).map(raw)),
    "png": (b"image/png", st.just(png_bytes())),
    "dxf": (b"image/vnd.dxf", drawings()),
}


def file_part(draw: Draw, field: bytes = b"file") -> tuple[bytes, bytes]:
    """A file part; its name, extension, name encoding, content type and content are each
    what an uploader sends, or hostile."""
    kind = draw(st.sampled_from(sorted(GOOD_FILES)))
    good_type, good_content = GOOD_FILES[kind]
    odd_extensions = st.sampled_from(("TXT", "exe", "", "txt\x00.exe", "dxf\u202e"))
    extension = draw(hs.either(hs.Field(st.just(kind), odd_extensions)))
    stem = draw(hs.either(hs.Field(hs.plain_text(), hs.hostile_text())))
    name = raw(stem + (("." + extension) if extension else ""))
    disposition = b"Content-Disposition: form-data; name=" + quoted(field)
    odd_styles = st.sampled_from(("escaped", "rfc5987", "none"))
    style = draw(hs.either(hs.Field(st.just("plain"), odd_styles)))
    if style == "plain":
        disposition += b"; filename=" + quoted(name)
    elif style == "escaped":
        disposition += b"; filename=" + quoted(name.replace(b'"', b"%22"))
    elif style == "rfc5987":
        disposition += b"; filename*=UTF-8''" + urllib.parse.quote(name, safe="").encode()
    odd_types = st.one_of(st.just(b""), st.builds(raw, hs.hostile_text(30)))
    content_type = draw(hs.either(hs.Field(st.just(good_type), odd_types)))
    headers = disposition + (b"\r\nContent-Type: " + content_type if content_type else b"")
    odd_content = st.one_of(st.binary(max_size=64), hs.hostile_text().map(raw))
    content = draw(hs.either(hs.Field(good_content, odd_content)))
    return headers, content


def text_part(name: bytes, value: str) -> tuple[bytes, bytes]:
    return b"Content-Disposition: form-data; name=" + quoted(name), raw(value)


def form_request(draw: Draw, world: World, path: str, parts: list[tuple[bytes, bytes]]) -> Request:
    body, content_type = multipart(parts)
    auth = caller(draw, world, world.attacker)
    headers = {**hostile_headers(draw, world, auth), "Content-Type": content_type}
    return Request("POST", path, body, headers)


def upload(draw: Draw, world: World) -> Request:
    files = draw(hs.either(hs.Field(st.just(1), st.sampled_from((0, 2)))))
    parts = [file_part(draw) for _ in range(files)]
    if draw(st.booleans()):
        kind = hs.Field(st.sampled_from(("document", "image", "cad")), hs.hostile_text())
        parts.append(text_part(b"type", draw(hs.either(kind))))
    if draw(st.booleans()):
        parts.append(text_part(b"description", draw(hs.either(text_field(200)))))
    if draw(st.booleans()):
        parts.append(text_part(raw(draw(hs.bounded_text(20))), draw(hs.hostile_text())))
    return form_request(draw, world, "/api/upload", draw(st.permutations(parts)))


def upload_delete(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("own", "own", "other", "any")))
    if kind == "any":
        file_id = draw(hs.any_id(in_url=True))
    else:
        owner = world.attacker if kind == "own" else world.bystander
        file_id = draw(hs.real_id(world.upload("notes.txt", b"some notes", owner)))
    auth = caller(draw, world, world.attacker)
    path = "/api/upload/" + segment(file_id)
    return Request("DELETE", path, b"", hostile_headers(draw, world, auth))


def cad_parse(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("sent", "uploaded", "uploaded", "any")))
    if kind == "sent":
        return form_request(draw, world, "/api/cad/parse", [file_part(draw)])
    if kind == "uploaded":
        # An uploaded drawing's parse is recorded (CadParsed, or CadParseFailed with the
        # reason, which may quote the drawing).
        file_id = world.upload_or_none("plan.dxf", draw(drawings()))
        real = st.just(file_id) if file_id is None else hs.real_id(file_id)
        typed = st.fixed_dictionaries({"fileId": st.one_of(real, real, hs.any_id())})
    else:
        typed = st.fixed_dictionaries({"fileId": hs.any_id()})
    return json_request(draw, world, "POST", "/api/cad/parse", typed, world.attacker)


# Admin -------------------------------------------------------------------------------------


def api_key_create(draw: Draw, world: World) -> Request:
    roles = st.sampled_from(("user", "enterprise", "admin"))
    scopes = st.lists(st.just("metrics"), max_size=1)
    typed = hs.objects(
        {
            "name": text_field(),
            "role": hs.Field(roles, hs.hostile_text(), required=False),
            "scopes": hs.Field(scopes, st.lists(hs.hostile_text(), max_size=3), required=False),
        }
    )
    return json_request(draw, world, "POST", "/api/admin/api-keys", typed, world.admin)


def api_key_revoke(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("real", "real", "any")))
    key_id = draw(hs.real_id(world.fresh_api_key()) if kind == "real" else hs.any_id(in_url=True))
    auth = caller(draw, world, world.admin)
    path = "/api/admin/api-keys/" + segment(key_id)
    return Request("DELETE", path, b"", hostile_headers(draw, world, auth))


def user_change(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("real", "real", "any")))
    user_id = draw(hs.real_id(world.fresh_user()) if kind == "real" else hs.any_id(in_url=True))
    roles = st.sampled_from(("user", "enterprise", "admin"))
    statuses = st.sampled_from(("active", "deactivated"))
    typed = hs.objects(
        {
            "role": hs.Field(roles, hs.hostile_text(), required=False),
            "status": hs.Field(statuses, hs.hostile_text(), required=False),
        }
    )
    path = "/api/admin/users/" + segment(user_id)
    return json_request(draw, world, "PATCH", path, typed, world.admin)


def user_erase(draw: Draw, world: World) -> Request:
    kind = draw(st.sampled_from(("real", "real", "any")))
    user_id = draw(hs.real_id(world.fresh_user()) if kind == "real" else hs.any_id(in_url=True))
    auth = caller(draw, world, world.admin)
    path = "/api/admin/users/" + segment(user_id) + "/erase"
    return Request("POST", path, b"", hostile_headers(draw, world, auth))


def agent_update(draw: Draw, world: World) -> Request:
    others = st.one_of(hs.id_forms(EDITABLE_AGENT), hs.url_text())
    agent = draw(hs.either(hs.Field(st.just(EDITABLE_AGENT), others)))
    config = hs.objects(
        {
            "model": text_field(required=False),
            "temperature": number_field(st.floats(0, 2)),
            "maxTokens": number_field(st.integers(1, 4096)),
        }
    )
    typed = hs.objects(
        {
            "name": text_field(required=False),
            "description": text_field(required=False),
            "config": hs.Field(config, hs.json_values(), required=False),
        }
    )
    path = "/api/agents/" + segment(agent)
    return json_request(draw, world, "PUT", path, typed, world.admin)


def agents_reload(draw: Draw, world: World) -> Request:
    typed = st.dictionaries(hs.hostile_text(12), hs.json_values(), max_size=3)
    return json_request(draw, world, "POST", "/api/agents/reload", typed, world.admin)


# Each route, and how many hostile requests it gets (those that sign in per case get fewer:
# argon2 is slow on purpose).
WRITE_ROUTES: dict[str, tuple[Builder, int]] = {
    "POST /api/auth/register": (register, 30),
    "POST /api/auth/login": (login, 30),
    "POST /api/auth/refresh": (refresh, 25),
    "POST /api/auth/logout": (logout, 15),
    "DELETE /api/auth/me": (erase_me, 15),
    "POST /api/chat/completions": (completions, 50),
    "POST /api/chat/sessions/save": (sessions_save, 40),
    "DELETE /api/chat/sessions/{sessionId}": (session_delete, 25),
    "POST /api/chat/streams/{messageId}/cancel": (cancel, 25),
    "POST /v1/chat/completions": (openai_completions, 40),
    "POST /api/upload": (upload, 40),
    "DELETE /api/upload/{fileId}": (upload_delete, 25),
    "POST /api/cad/parse": (cad_parse, 30),
    "POST /api/admin/api-keys": (api_key_create, 25),
    "DELETE /api/admin/api-keys/{keyId}": (api_key_revoke, 25),
    "PATCH /api/admin/users/{userId}": (user_change, 25),
    "POST /api/admin/users/{userId}/erase": (user_erase, 20),
    "PUT /api/agents/{agentId}": (agent_update, 30),
    "POST /api/agents/reload": (agents_reload, 10),
}
