"""Bursts past the connection pool: requests wait their turn for a connection, and when the
server truly is saturated it says it is busy, not that the database is down."""

import asyncio
import json
import os

import httpx
import pytest

from tests.support.builders import signed_in
from tests.support.server import ServerProcess
from tests.support.sse import Event

pytestmark = pytest.mark.slow

CHATS = 256
UPLOADS = 40
UPLOAD_BYTES = 9 * 2**20


def sse_frames(body: str) -> list[Event]:
    frames = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "data" in fields:
            frames.append(
                Event(int(fields.get("id", 0)), fields["event"], json.loads(fields["data"]))
            )
    return frames


@pytest.fixture(scope="module")
def busy_server(chat_env):
    server = ServerProcess(chat_env, args=())
    server.start()
    yield server
    server.stop()


async def burst(base_url: str, count: int, send) -> list[tuple[int, str]]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:
        go, all_waiting = asyncio.Event(), asyncio.Event()
        waiting = 0

        async def one(index: int) -> tuple[int, str]:
            nonlocal waiting
            waiting += 1
            if waiting == count:
                all_waiting.set()
            await go.wait()
            response = await send(http, index)
            return response.status_code, response.text

        tasks = [asyncio.create_task(one(i)) for i in range(count)]
        await asyncio.wait_for(all_waiting.wait(), 30)  # every task is waiting: they go at once
        go.set()
        return await asyncio.gather(*tasks)


def test_a_burst_of_streamed_chats_all_succeed(busy_server):
    with httpx.Client(base_url=busy_server.base_url, timeout=30) as http:
        users = [signed_in(http)[1] for _ in range(4)]

    async def chat(http: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {
            "agentId": "openai",
            "stream": True,
            "messages": [{"role": "user", "content": f"burst {index}"}],
        }
        return await http.post("/api/chat/completions", headers=users[index % 4], json=body)

    answers = asyncio.run(burst(busy_server.base_url, CHATS, chat))
    refused = [(status, text[:200]) for status, text in answers if status != 200]
    assert refused == [], f"{len(refused)} of {CHATS} refused"
    for _, text in answers:
        frames = sse_frames(text)
        assert frames and frames[-1].event == "end", text[-300:]


def test_concurrent_large_uploads_all_succeed(busy_server):
    with httpx.Client(base_url=busy_server.base_url, timeout=30) as http:
        users = [signed_in(http)[1] for _ in range(4)]
    data = os.urandom(UPLOAD_BYTES // 2).hex().encode()[:UPLOAD_BYTES]  # text: checked as UTF-8

    async def upload(http: httpx.AsyncClient, index: int) -> httpx.Response:
        files = {"file": (f"big-{index}.txt", data)}
        return await http.post("/api/upload", headers=users[index % 4], files=files)

    answers = asyncio.run(burst(busy_server.base_url, UPLOADS, upload))
    refused = [(status, text[:200]) for status, text in answers if status != 200]
    assert refused == [], f"{len(refused)} of {UPLOADS} refused"
    sizes = {json.loads(text)["data"]["size"] for _, text in answers}
    assert sizes == {UPLOAD_BYTES}
