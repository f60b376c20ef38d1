"""Quiet streams say something: a keep-alive comment between frames that are slow to come."""

import asyncio

from api.sse import with_heartbeat


async def slow_parts():
    yield b"data: first\n\n"
    await asyncio.sleep(0.12)
    yield b"data: second\n\n"


def test_a_comment_fills_each_silence_and_the_parts_pass_unchanged():
    async def collect():
        return [part async for part in with_heartbeat(slow_parts(), every=0.05)]

    parts = asyncio.run(collect())
    assert parts[0] == b"data: first\n\n" and parts[-1] == b"data: second\n\n"
    assert parts[1:-1] and set(parts[1:-1]) == {b": keep-alive\n\n"}


def test_no_comment_when_parts_keep_coming():
    async def quick():
        for n in range(3):
            yield b"data: %d\n\n" % n

    async def collect():
        return [part async for part in with_heartbeat(quick(), every=0.05)]

    assert asyncio.run(collect()) == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]


async def endless(stopped: list[bool], pause: float):
    """Frames for ever; notes in `stopped` when it is closed."""
    try:
        while True:
            yield b"data: x\n\n"
            await asyncio.sleep(pause)
    finally:
        stopped.append(True)


def test_closing_the_stream_stops_its_source_at_once():
    """A follower that goes away stops listening then, not when its generator is collected."""
    stopped: list[bool] = []

    async def scenario():
        stream = with_heartbeat(endless(stopped, pause=10), every=0.05)
        assert await anext(stream) == b"data: x\n\n"
        await anext(stream)  # a keep-alive, while the source waits
        await stream.aclose()
        assert stopped == [True]

    asyncio.run(scenario())


def test_what_stops_the_source_stops_the_stream():
    async def failing():
        yield b"data: x\n\n"
        raise RuntimeError("the store is gone")

    async def collect():
        return [part async for part in with_heartbeat(failing(), every=0.05)]

    try:
        asyncio.run(collect())
    except RuntimeError as error:
        assert str(error) == "the store is gone"
    else:
        raise AssertionError("the failure was swallowed")


def streaming_response(chunks):
    from api.sse import StreamingResponse

    return StreamingResponse(iterator=chunks, media_type="text/event-stream")


def test_a_client_that_leaves_ends_the_stream_and_its_source():
    stopped: list[bool] = []
    sent = []

    async def scenario():
        left = asyncio.Event()

        async def receive():
            await left.wait()
            return {"type": "http.disconnect"}

        flowing = asyncio.Event()  # the source's parts reach the client: it leaves mid-stream

        async def send(message):
            sent.append(message)
            if len(sent) >= 2:
                flowing.set()

        response = streaming_response(with_heartbeat(endless(stopped, pause=0.01), every=1))
        streaming = asyncio.ensure_future(response.send_body(send, receive))
        await asyncio.wait_for(flowing.wait(), 1)
        left.set()
        await asyncio.wait_for(streaming, 1)  # ends quietly, not cancelled
        assert not streaming.cancelled()

    asyncio.run(scenario())
    assert stopped == [True]
    assert len(sent) >= 2 and all(m["body"] == b"data: x\n\n" for m in sent)


def test_a_stream_that_ends_stops_listening_for_the_client():
    async def two():
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    async def scenario():
        listening = asyncio.Event()

        async def receive():
            listening.set()
            await asyncio.sleep(3600)

        sent = []

        async def send(message):
            sent.append(message)

        await asyncio.wait_for(streaming_response(two()).send_body(send, receive), 1)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.sleep(0)
        assert all(t.done() for t in pending), "the disconnect listener is left behind"
        return [m["body"] for m in sent]

    assert asyncio.run(scenario()) == [b"data: 1\n\n", b"data: 2\n\n", b""]
