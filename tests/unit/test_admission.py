"""The admission: a few chats start at once, each lets go once its turn is being stored,
and an HTTP request whose body came with its head takes its place at the edge, always
given back."""

import asyncio
import dataclasses
from typing import Any

import pytest

from api.admission import admission_middleware
from application.admission import HELD_AT_THE_EDGE, Admission
from application.send_message import send_message
from tests.unit.test_send_message import COMMAND, HeldWriter, WatchedProvider, chat_with


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_places_are_limited_and_each_is_given_back_once() -> None:
    async def scenario() -> None:
        admission = Admission(2)
        first, second = await admission.place(), await admission.place()
        third = asyncio.create_task(admission.place())
        await settle()
        assert not third.done()
        first.let_go()
        first.let_go()  # a second let-go of the same place frees nothing more
        third_place = await asyncio.wait_for(third, 1)
        fourth = asyncio.create_task(admission.place())
        await settle()
        assert not fourth.done()
        second.let_go()
        await asyncio.wait_for(fourth, 1)
        third_place.let_go()

    asyncio.run(scenario())


def test_admitted_takes_the_place_held_at_the_edge_and_gives_it_back() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        edge = await admission.place()
        HELD_AT_THE_EDGE.set(edge)
        async with admission.admitted() as place:
            assert place is edge
        HELD_AT_THE_EDGE.set(None)
        async with admission.admitted():  # the edge's place is free again
            pass

    asyncio.run(scenario())


def test_a_chat_lets_go_of_its_place_while_its_turn_commits() -> None:
    async def scenario() -> None:
        writer = HeldWriter()  # holds the first chat's turn until the test lets it land
        chat = dataclasses.replace(chat_with(writer, WatchedProvider()), admission=Admission(1))
        first = asyncio.create_task(send_message(chat, COMMAND))
        await asyncio.sleep(0.01)
        # The only place is the first chat's until its turn is being stored; then free.
        second = await asyncio.wait_for(send_message(chat, COMMAND), 2)
        assert not first.done(), "the first turn is still committing"
        writer.turn.set_result(None)
        for started in (await first, second):
            started.task.cancel()

    asyncio.run(scenario())


class RecordingApp:
    """An ASGI app that records the body it received and how many requests were inside it
    at once before their answer started; `hold` keeps each one waiting before it answers."""

    def __init__(self, hold: asyncio.Event | None = None, fail: bool = False) -> None:
        self.hold, self.fail = hold, fail
        self.inside = 0
        self.most_inside = 0
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        if self.hold is not None:
            await self.hold.wait()
        self.inside -= 1
        if self.fail:
            raise RuntimeError("the handler failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"streaming", "more_body": True})


def chat_request(path: str = "/api/chat/completions") -> Any:
    return {"type": "http", "method": "POST", "path": path, "headers": []}


def body_in(*pieces: bytes) -> Any:
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]

    async def receive() -> dict[str, Any]:
        if not messages:
            await asyncio.Event().wait()  # as a server does: the client stays connected
        return messages.pop(0)

    return receive


async def nowhere(message: Any) -> None:
    return None


async def called(app: Any, scope: Any, receive: Any) -> None:
    await app(scope, receive, nowhere)


def test_the_edge_lets_a_few_in_at_once_each_with_its_whole_body() -> None:
    async def scenario() -> None:
        hold = asyncio.Event()
        app = RecordingApp(hold)
        gated = admission_middleware(Admission(2), body_limit=1000)(app)
        requests = [
            asyncio.create_task(called(gated, chat_request(), body_in(b'{"a":1}')))
            for _ in range(5)
        ]
        await settle()
        assert app.inside == 2
        hold.set()
        await asyncio.wait_for(asyncio.gather(*requests), 2)
        assert app.most_inside == 2
        assert app.bodies == [b'{"a":1}'] * 5

    asyncio.run(scenario())


def test_the_edge_gives_the_place_back_when_the_answer_starts_or_the_handler_fails() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        streaming = admission_middleware(admission, body_limit=1000)(RecordingApp())
        await streaming(chat_request(), body_in(b"{}"), nowhere)  # answered, still streaming
        failing = admission_middleware(admission, body_limit=1000)(RecordingApp(fail=True))
        with pytest.raises(RuntimeError):
            await failing(chat_request("/v1/chat/completions"), body_in(b"{}"), nowhere)
        place = await asyncio.wait_for(admission.place(), 1)  # both places came back
        place.let_go()

    asyncio.run(scenario())


def test_the_edge_passes_other_requests_and_oversized_bodies_on_with_no_place() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        taken = await admission.place()  # no place is free: a request that needs one waits
        app = RecordingApp()
        gated = admission_middleware(admission, body_limit=1000)(app)
        await asyncio.wait_for(gated(chat_request("/api/files"), body_in(b"x"), nowhere), 1)
        assert app.bodies == [b"x"]
        in_pieces = [b'{"a":', b"1}"]  # a body still coming when the head came
        await asyncio.wait_for(gated(chat_request(), body_in(*in_pieces), nowhere), 1)
        assert app.bodies[-1] == b'{"a":1}'
        await asyncio.wait_for(gated(chat_request(), body_in(b"y" * 1001), nowhere), 1)
        assert app.bodies[-1] == b"y" * 1001  # over the limit, for the router to refuse
        declared: Any = {**chat_request(), "headers": [(b"content-length", b"5000")]}
        await asyncio.wait_for(gated(declared, body_in(b"z"), nowhere), 1)
        assert app.bodies[-1] == b"z"  # refused by the router, which reads nothing ahead
        taken.let_go()

    asyncio.run(scenario())


def test_a_re_run_after_a_conflict_takes_its_place_again() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        place = await admission.place()
        place.let_go()
        await place.take()  # what post_turn does first, on every run
        waiting = asyncio.create_task(admission.place())
        await settle()
        assert not waiting.done(), "the re-run holds the only place"
        place.let_go()
        (await asyncio.wait_for(waiting, 1)).let_go()

    asyncio.run(scenario())


def test_one_admission_serves_one_event_loop_after_another() -> None:
    admission = Admission(1)

    async def contend() -> None:
        first = await admission.place()
        second = asyncio.create_task(admission.place())
        await settle()
        first.let_go()
        (await asyncio.wait_for(second, 1)).let_go()

    asyncio.run(contend())
    asyncio.run(contend())  # a semaphore bound to the first loop would raise here


def test_a_client_that_leaves_while_it_waits_starts_no_chat() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        taken = await admission.place()
        app = RecordingApp()
        gated = admission_middleware(admission, body_limit=1000)(app)
        left = asyncio.Event()
        messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await left.wait()
            return {"type": "http.disconnect"}

        waiting = asyncio.create_task(called(gated, chat_request(), receive))
        await settle()
        left.set()
        await asyncio.wait_for(waiting, 1)
        assert app.bodies == [], "nothing started for a client that is gone"
        taken.let_go()
        place = await asyncio.wait_for(admission.place(), 1)  # its wait left no place taken
        place.let_go()

    asyncio.run(scenario())


def test_a_client_still_there_when_its_place_comes_gets_its_whole_body() -> None:
    async def scenario() -> None:
        admission = Admission(1)
        taken = await admission.place()
        app = RecordingApp()
        gated = admission_middleware(admission, body_limit=1000)(app)
        waiting = asyncio.create_task(called(gated, chat_request(), body_in(b'{"a":1}')))
        await settle()
        assert app.bodies == []
        taken.let_go()
        await asyncio.wait_for(waiting, 1)
        assert app.bodies == [b'{"a":1}']

    asyncio.run(scenario())
