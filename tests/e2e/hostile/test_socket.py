"""Hypothesis over /api/ws: chat, cancel, resume and auth messages with hostile fields, and
frames that are not JSON at all. No answer may be a server fault (the WebSocket's 5xx), the
socket may not die with 1011, and the projections go on after every message."""

import collections
import json
import uuid
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketSession, connect_ws
from hypothesis import example, given
from hypothesis import strategies as st

from tests.e2e.hostile import strategies as hs
from tests.e2e.hostile.attack import hostile_settings
from tests.e2e.hostile.routes import Draw, completion_body, message_ids
from tests.e2e.hostile.world import World

pytestmark = pytest.mark.slow

SERVER_FAULTS = {"INTERNAL_ERROR", "BAD_GATEWAY", "SERVICE_UNAVAILABLE"}
INTERNAL_ERROR_CLOSE = 1011
ANSWER_SECONDS = 15.0


def chat_frame(content: str = "hello", **extra: object) -> str:
    message = {"role": "user", "content": content}
    return json.dumps({"type": "chat", "agentId": "demo", "messages": [message], **extra})


@st.composite
def socket_frames(draw: Draw, world: World) -> str | bytes:
    """One frame: text (JSON, every non-ASCII character escaped) or, now and then, bytes."""
    kinds = ("chat",) * 4 + ("cancel", "cancel", "resume", "resume", "other", "raw", "bytes")
    kind = draw(st.sampled_from(kinds))
    if kind == "bytes":
        return bytes(draw(st.binary(max_size=64)))
    if kind == "raw":
        return str(draw(st.one_of(st.text(max_size=64), st.sampled_from(("{", "[]", "null")))))
    message: dict[str, Any]
    if kind == "chat":
        message = {**draw(completion_body(draw, world)), "type": "chat"}
    elif kind == "cancel":
        message = {"type": "cancel", "messageId": draw(message_ids(draw, world))}
    elif kind == "resume":
        last = st.one_of(st.just(0), hs.huge_numbers(), hs.hostile_text(20))
        message = {"type": "resume", "messageId": draw(message_ids(draw, world))}
        message["lastEventId"] = draw(last)
    else:
        message = {"type": draw(hs.hostile_text(20)), "token": draw(hs.hostile_text(20))}
    if draw(st.booleans()):
        message["requestId"] = draw(st.one_of(hs.hostile_text(20), hs.json_values()))
    return json.dumps(message)


# The messages that end a request: a reply's end, an error, or a resume that found the
# reply finished at the frame it was asked to follow.
LAST = ("end", "error", "complete")


def answers(ws: WebSocketSession) -> list[dict[str, Any]]:
    """Messages until one ends the request."""
    got: list[dict[str, Any]] = []
    while not got or got[-1].get("type") not in LAST:
        got.append(json.loads(ws.receive_text(timeout=ANSWER_SECONDS)))
    return got


def test_no_socket_message_gets_a_server_fault_or_stops_the_projections(world: World) -> None:
    url = world.server.base_url.replace("http", "ws", 1) + "/api/ws"
    token = world.attacker["Authorization"].removeprefix("Bearer ")

    @hostile_settings(40)
    @given(frame=socket_frames(world))
    @example(frame=chat_frame(content="a\x00b"))
    @example(frame=chat_frame(sessionId=f"urn:uuid:{uuid.uuid4()}"))
    @example(frame=chat_frame(content="\u202e\u200b\x85\x1b[31m" * 1000))
    @example(frame=json.dumps({"type": "cancel", "messageId": f"urn:uuid:{uuid.uuid4()}"}))
    @example(frame=json.dumps({"type": "resume", "messageId": "\x00", "lastEventId": 2**64}))
    def attack(frame: str | bytes) -> None:
        shown = repr(frame[:300])
        with httpx.Client() as client, connect_ws(url, client) as ws:
            ws.send_text(json.dumps({"type": "auth", "token": token}))
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            try:
                got = answers(ws)
            except WebSocketDisconnect as closed:
                assert closed.code != INTERNAL_ERROR_CLOSE, f"socket closed 1011 after {shown}"
                got = []
        outcomes[str(got[-1].get("code") or got[-1].get("type")) if got else "closed"] += 1
        faults = [m for m in got if m.get("code") in SERVER_FAULTS]
        assert not faults, f"{faults} for {shown}\nserver log:\n{world.log_tail()}"
        world.assert_projections_advance(f"socket frame {shown}")

    outcomes: collections.Counter[str] = collections.Counter()
    attack()
    print(f"/api/ws: {sum(outcomes.values())} frames, outcomes {dict(outcomes)}")
    assert outcomes["end"] > 0, "no chat, cancel or resume over the socket ever ended"
