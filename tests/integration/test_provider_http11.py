"""The provider client's HTTP/1.1 (infrastructure/providers/http11.py) against a loopback
server that answers each request with bytes a test chose: well-formed answers in every
framing, and the malformed, truncated and surplus ones a provider or a proxy can send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import httpx2
import pytest

from infrastructure.providers.http import on_asyncio_sockets
from infrastructure.providers.http11 import Http11Connection, Http11Pool
from infrastructure.providers.network import AsyncioBackend

pytestmark = pytest.mark.asyncio

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"


class ScriptedServer:
    """Answers the n-th request on any connection with answers[n] (the last one once they
    run out), then closes if the answer says `connection: close` (or is empty: no answer)
    or `close` says to after every answer;
    records each request and the connection (its client port) it came on."""

    def __init__(self, answers: Sequence[bytes], *, close: bool = False) -> None:
        self.answers = list(answers)
        self.close = close
        self.requests: list[tuple[int, bytes]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    @property
    def ports(self) -> list[int]:
        return [port for port, _ in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("peername")[1]
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                body = await _read_body(reader, head)
                self.requests.append((port, head + body))
                answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
                if not answer:
                    break  # no answer at all: the connection just closes
                writer.write(answer)
                await writer.drain()
                if self.close or b"connection: close" in answer.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                return body
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return await reader.readexactly(int(line.split(b":")[1]))
    return b""


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with on_asyncio_sockets(httpx2.AsyncClient(trust_env=False), AsyncioBackend()) as c:
        yield c


async def test_the_direct_pool_parses_with_httptools(client: httpx2.AsyncClient) -> None:
    async with ScriptedServer([OK]) as server, client.stream("GET", server.url) as response:
        assert await response.aread() == b"hi"
        assert response.extensions["http_version"] == b"HTTP/1.1"
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert type(pool) is Http11Pool
    assert isinstance(pool.connections[0]._connection, Http11Connection)  # type: ignore[attr-defined]


async def test_a_chunked_answer_arrives_piece_by_piece_and_the_connection_is_kept(
    client: httpx2.AsyncClient,
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
        b"\r\n5\r\ndata:\r\n3\r\n 1\n\r\n0\r\n\r\n"
    )
    async with ScriptedServer([chunked]) as server:
        for _ in range(3):
            async with client.stream("POST", server.url, json={"a": 1}) as response:
                assert response.status_code == 200
                assert response.headers["content-type"] == "text/event-stream"
                assert b"".join([piece async for piece in response.aiter_raw()]) == b"data: 1\n"
        assert len(set(server.ports)) == 1
        assert all(request.endswith(b'{"a":1}') for _, request in server.requests)


async def test_an_informational_head_before_the_answer_is_skipped(
    client: httpx2.AsyncClient,
) -> None:
    async with ScriptedServer([b"HTTP/1.1 100 Continue\r\n\r\n" + OK]) as server:
        response = await client.get(server.url)
        assert (response.status_code, response.content) == (200, b"hi")
        assert response.reason_phrase == "OK"
        await client.get(server.url)
        assert len(set(server.ports)) == 1


async def test_an_answer_that_ends_with_the_connection_is_read_to_its_end(
    client: httpx2.AsyncClient,
) -> None:
    eof_framed = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it"
    async with ScriptedServer([eof_framed, OK]) as server:
        assert (await client.get(server.url)).content == b"all of it"
        assert (await client.get(server.url)).content == b"hi"
        assert len(set(server.ports)) == 2


async def test_connection_close_and_http_1_0_are_not_reused(client: httpx2.AsyncClient) -> None:
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi"
    http10 = b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi"
    async with ScriptedServer([closing, http10, OK, OK]) as server:
        for _ in range(4):
            assert (await client.get(server.url)).content == b"hi"
        assert len(set(server.ports[:3])) == 3  # after each of the first two: a new connection
        assert server.ports[3] == server.ports[2]


@pytest.mark.parametrize(
    "surplus",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra", id="answer"),
        pytest.param(b"HTTP/1.1 2", id="part-of-a-head"),
        pytest.param(b"junk", id="junk"),
    ],
)
async def test_bytes_after_the_answer_spoil_the_connection(
    client: httpx2.AsyncClient, surplus: bytes
) -> None:
    async with ScriptedServer([OK + surplus, OK]) as s:
        first = await client.get(s.url)
        assert (first.status_code, first.content, first.reason_phrase) == (200, b"hi", "OK")
        assert (await client.get(s.url)).content == b"hi"
        assert len(set(s.ports)) == 2


async def test_a_head_request_on_a_kept_connection_reads_no_body(
    client: httpx2.AsyncClient,
) -> None:
    head_answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
    async with ScriptedServer([OK, head_answer, OK]) as server:
        assert (await client.get(server.url)).content == b"hi"
        response = await asyncio.wait_for(client.head(server.url), 1)
        assert (response.status_code, response.content) == (200, b"")
        assert response.headers["content-length"] == "5"
        assert (await client.get(server.url)).content == b"hi"
        assert len(set(server.ports)) == 1


async def test_a_request_that_asks_to_close_gets_a_new_connection_next(
    client: httpx2.AsyncClient,
) -> None:
    async with ScriptedServer([OK]) as server:
        await client.get(server.url, headers={"connection": "close"})
        await client.get(server.url)
        assert len(set(server.ports)) == 2


@pytest.mark.parametrize("declared", [b"2", b"9"])
async def test_a_body_not_as_long_as_its_content_length_is_not_sent_whole(
    client: httpx2.AsyncClient, declared: bytes
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"1234"
        yield b"GET /smuggled HTTP/1.1\r\n\r\n"

    async with ScriptedServer([OK]) as server:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.post(
                server.url, content=body(), headers={"content-length": declared.decode()}
            )
        assert not any(b"/smuggled" in request for _, request in server.requests)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", id="short-body"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", id="cut-chunk"
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", id="bad-size"),
        pytest.param(b"HTTP/1.1 abc\r\n\r\n", id="bad-status"),
        pytest.param(b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n", id="bad-header"),
        pytest.param(b"HTTP/1.1 200 OK\r\nx: " + b"a" * 200_000, id="head-never-ends"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nx: " + b"a" * 300_000 + b"\r\ncontent-length: 0\r\n\r\n",
            id="head-too-large",
        ),
        pytest.param(b"", id="no-answer"),
        pytest.param(
            b"HTTP/1.1 101 Switching\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n", id="101"
        ),
    ],
)
async def test_a_broken_answer_is_a_protocol_error(
    client: httpx2.AsyncClient, answer: bytes
) -> None:
    async with ScriptedServer([answer], close=True) as server:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.get(server.url)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert pool.connections == []  # the broken connection was closed, not pooled


async def test_a_streamed_request_body_is_sent_chunked(client: httpx2.AsyncClient) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"one "
        yield b""
        yield b"two"

    async with ScriptedServer([OK]) as server:
        assert (await client.post(server.url, content=pieces())).content == b"hi"
        request = server.requests[0][1]
        assert request.endswith(b"4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n")


async def test_head_requests_go_through_httpcore2s_own_connection(
    client: httpx2.AsyncClient,
) -> None:
    async with ScriptedServer([b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"]) as server:
        response = await client.head(server.url)
        assert (response.status_code, response.content) == (200, b"")
        assert response.headers["content-length"] == "5"


@pytest.mark.parametrize(
    "header", [{"x-evil": "a\r\nx-injected: 1"}, {"x-nul": "a\x00"}, {"bad name": "a"}]
)
async def test_a_header_that_would_split_the_request_is_refused(
    client: httpx2.AsyncClient, header: dict[str, str]
) -> None:
    async with ScriptedServer([OK]) as server:
        with pytest.raises(httpx2.LocalProtocolError):
            await client.get(server.url, headers=header)
        assert server.requests == []


async def test_a_cancelled_stream_closes_its_connection(client: httpx2.AsyncClient) -> None:
    endless = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n"
    async with ScriptedServer([endless, OK]) as server:
        async with client.stream("GET", server.url) as response:
            async for piece in response.aiter_raw():
                assert piece == b"first"
                break
        assert (await client.get(server.url)).content == b"hi"
        assert len(set(server.ports)) == 2
