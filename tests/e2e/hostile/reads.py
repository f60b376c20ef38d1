"""The read routes, with hostile path ids, query parameters and headers. A read can write
too: every refused one (401, 403) is recorded as an AccessDenied event, path and all."""

from collections.abc import Callable

from hypothesis import strategies as st

from tests.e2e.hostile import strategies as hs
from tests.e2e.hostile.routes import Builder, Draw, caller, hostile_headers
from tests.e2e.hostile.wire import Request, segment, with_query
from tests.e2e.hostile.world import EDITABLE_AGENT, World


def query_values() -> st.SearchStrategy[str]:
    numbers = hs.huge_numbers().map(str)
    return st.one_of(numbers, numbers, hs.url_text(), st.sampled_from(("", "1", "0", "-1")))


def queries(draw: Draw, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Some of `names` with hostile values, and now and then a name nobody asked for."""
    chosen = (
        draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)) if names else []
    )
    pairs = [(name, draw(query_values())) for name in chosen]
    if draw(st.booleans()):
        pairs.append((draw(hs.bounded_text(12)), draw(hs.url_text())))
    return pairs


def read(
    path_of: Callable[[Draw, World], str],
    names: tuple[str, ...] = (),
    token: Callable[[World], dict[str, str]] = lambda world: world.attacker,
    extra_headers: Callable[[Draw], dict[str, str | bytes]] = lambda draw: {},
) -> Builder:
    def build(draw: Draw, world: World) -> Request:
        path = with_query(path_of(draw, world), queries(draw, names))
        headers = hostile_headers(draw, world, caller(draw, world, token(world)))
        return Request("GET", path, b"", {**headers, **extra_headers(draw)})

    return build


def own_session(draw: Draw, world: World) -> str:
    return str(draw(hs.any_id(in_url=True, real=world.fresh_session()["sessionId"])))


def own_message(draw: Draw, world: World) -> str:
    return str(draw(hs.any_id(in_url=True, real=world.fresh_session()["messageId"])))


def own_file(draw: Draw, world: World, name: str = "notes.txt", content: bytes = b"notes") -> str:
    return str(draw(hs.any_id(in_url=True, real=world.upload(name, content))))


EMPTY_DRAWING = b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"


def stored_name(draw: Draw, world: World) -> str:
    extension = draw(st.one_of(st.sampled_from(("txt", "TXT", "png", "")), hs.bounded_text(8)))
    return segment(own_file(draw, world) + "." + extension)


def ranges(draw: Draw) -> dict[str, str | bytes]:
    headers: dict[str, str | bytes] = {}
    for name in ("Range", "If-Range", "If-None-Match"):
        if draw(st.booleans()):
            headers[name] = draw(
                st.one_of(
                    st.sampled_from((b"bytes=0-", b"bytes=-1", b"bytes=99999999999999999999-")),
                    hs.header_text(),
                )
            )
    return headers


def last_event(draw: Draw) -> dict[str, str | bytes]:
    return {"Last-Event-ID": draw(hs.header_text())} if draw(st.booleans()) else {}


def admin(world: World) -> dict[str, str]:
    return world.admin


READ_ROUTES: dict[str, tuple[Builder, int]] = {
    "GET /api/chat/sessions": (read(lambda d, w: "/api/chat/sessions", ("page", "limit")), 10),
    "GET /api/chat/sessions/{sessionId}/history": (
        read(
            lambda d, w: f"/api/chat/sessions/{segment(own_session(d, w))}/history",
            ("page", "limit", "before"),
        ),
        10,
    ),
    "GET /api/chat/streams/{messageId}": (
        read(
            lambda d, w: f"/api/chat/streams/{segment(own_message(d, w))}",
            ("lastEventId",),
            extra_headers=last_event,
        ),
        10,
    ),
    "GET /api/upload/{fileId}": (read(lambda d, w: f"/api/upload/{segment(own_file(d, w))}"), 10),
    "GET /uploads/{storedName}": (
        read(lambda d, w: f"/uploads/{stored_name(d, w)}", extra_headers=ranges),
        10,
    ),
    "GET /api/cad/{fileId}/preview.svg": (
        read(
            lambda d, w: (
                f"/api/cad/{segment(own_file(d, w, 'plan.dxf', EMPTY_DRAWING))}/preview.svg"
            )
        ),
        10,
    ),
    "GET /api/agents": (
        read(lambda d, w: "/api/agents", ("page", "limit", "category", "provider")),
        10,
    ),
    "GET /api/agents/{agentId}": (
        read(lambda d, w: "/api/agents/" + segment(d(hs.any_id(in_url=True, real=EDITABLE_AGENT)))),
        10,
    ),
    "GET /api/agents/{agentId}/status": (
        read(
            lambda d, w: (
                "/api/agents/" + segment(d(hs.any_id(in_url=True, real="openai"))) + "/status"
            )
        ),
        10,
    ),
    "GET /api/admin/stats": (read(lambda d, w: "/api/admin/stats", token=admin), 5),
    "GET /api/admin/audit": (
        read(
            lambda d, w: "/api/admin/audit",
            ("page", "limit", "userId", "action", "startDate", "endDate"),
            token=admin,
        ),
        10,
    ),
    "GET /api/admin/api-keys": (
        read(lambda d, w: "/api/admin/api-keys", ("page", "limit"), token=admin),
        10,
    ),
    "GET /api/admin/users": (
        read(
            lambda d, w: "/api/admin/users",
            ("page", "limit", "role", "status", "email"),
            token=admin,
        ),
        10,
    ),
    "GET /v1/models": (read(lambda d, w: "/v1/models"), 5),
    "GET /v1/models/{model}": (
        read(lambda d, w: "/v1/models/" + segment(d(hs.any_id(in_url=True, real="openai")))),
        10,
    ),
    "GET /health/detailed": (read(lambda d, w: "/health/detailed"), 5),
}
