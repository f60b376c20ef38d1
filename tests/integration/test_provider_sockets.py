"""The provider client's sockets (infrastructure/providers/network.py) against real loopback
servers, on asyncio's default loop and on uvloop, which the server runs on."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpcore2
import httpx2
import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infrastructure.providers.http import on_asyncio_sockets
from infrastructure.providers.network import PAUSE_READING_AT, AsyncioBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def run_on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coroutine)

    return run_on_loop


async def serving(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_to_end(stream: httpcore2.AsyncNetworkStream, silence: float = 2.0) -> bytes:
    received = bytearray()
    while piece := await stream.read(65536, timeout=silence):
        received += piece
    return bytes(received)


def test_what_the_server_sends_arrives_whole_then_the_end(run: Any) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB: more than the inbox holds before pausing

    async def send_and_close(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    async def scenario() -> bytes:
        server, port = await serving(send_and_close)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            await asyncio.sleep(0.2)  # let the inbox fill past PAUSE_READING_AT
            received = await read_to_end(stream)
            await stream.aclose()
            return received

    assert len(payload) > PAUSE_READING_AT
    assert run(scenario()) == payload


def test_a_silent_server_times_the_read_out_after_the_timeout(run: Any) -> None:
    async def say_nothing(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read()

    async def scenario() -> float:
        server, port = await serving(say_nothing)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            started = time.monotonic()
            with pytest.raises(httpcore2.ReadTimeout):
                await stream.read(1024, timeout=0.2)
            waited = time.monotonic() - started
            await stream.aclose()
            return waited

    assert 0.19 <= run(scenario()) < 1.0


def test_the_timeout_counts_from_the_last_read_not_the_first(run: Any) -> None:
    """Ten pieces 0.1 s apart under a 0.25 s timeout: 1 s in all, no timeout."""

    async def trickle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _n in range(10):
            await asyncio.sleep(0.1)
            writer.write(b"x")
        writer.close()

    async def scenario() -> bytes:
        server, port = await serving(trickle)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            received = await read_to_end(stream, silence=0.25)
            await stream.aclose()
            return received

    assert run(scenario()) == b"x" * 10


def test_each_read_keeps_its_own_timeout(run: Any) -> None:
    """A read with no timeout after one with a timeout never times out; a shorter timeout
    after a longer one fails at its own deadline, not the longer one's."""

    async def late_then_silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"a")
        await asyncio.sleep(0.4)
        writer.write(b"b")
        await asyncio.sleep(5)

    async def scenario() -> tuple[bytes, bytes, float]:
        server, port = await serving(late_then_silent)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            first = await stream.read(1024, timeout=0.2)  # arms the timer for 0.2 s
            second = await stream.read(1024, timeout=None)  # waits 0.4 s: past that timer
            long_wait = asyncio.ensure_future(stream.read(1024, timeout=3.0))
            await asyncio.sleep(0)
            long_wait.cancel()
            started = time.monotonic()
            with pytest.raises(httpcore2.ReadTimeout):
                await stream.read(1024, timeout=0.2)
            waited = time.monotonic() - started
            await stream.aclose()
            return first, second, waited

    first, second, waited = run(scenario())
    assert (first, second) == (b"a", b"b")
    assert 0.19 <= waited < 1.0


def test_a_reset_connection_is_a_read_error(run: Any) -> None:
    async def reset(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        await asyncio.sleep(0.1)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def scenario() -> bytes:
        server, port = await serving(reset)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            first = await stream.read(1024, timeout=2)
            with pytest.raises(httpcore2.ReadError):
                await stream.read(1024, timeout=2)
            await stream.aclose()
            return first

    assert run(scenario()) == b"partial"


def test_an_idle_connection_the_server_closed_is_readable(run: Any) -> None:
    """What httpcore's pool asks before it reuses a keep-alive connection."""

    async def scenario() -> tuple[bool, bool]:
        close_now = asyncio.Event()

        async def close_when_told(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await close_now.wait()
            writer.close()

        server, port = await serving(close_when_told)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            before = stream.get_extra_info("is_readable")
            close_now.set()
            await asyncio.sleep(0.1)
            after = stream.get_extra_info("is_readable")
            await stream.aclose()
            return before, after

    assert run(scenario()) == (False, True)


def test_a_refused_connection_is_a_connect_error(run: Any) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async def scenario() -> None:
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)

    with pytest.raises(httpcore2.ConnectError):
        run(scenario())


def test_writes_reach_the_server_and_the_addresses_are_known(run: Any) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        writer.close()

    async def scenario() -> tuple[bytes, Any, Any]:
        server, port = await serving(echo)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
            await stream.write(b"hello", timeout=2)
            echoed = await read_to_end(stream)
            addresses = stream.get_extra_info("server_addr"), stream.get_extra_info("socket")
            await stream.aclose()
            return echoed, *addresses

    echoed, server_addr, sock = run(scenario())
    assert echoed == b"hello"
    assert server_addr[0] == "127.0.0.1"
    assert sock is not None


def test_https_through_the_pool_on_these_sockets(run: Any, tmp_path: Path) -> None:
    """httpcore2 connects, then starts TLS on the stream (start_tls), then speaks HTTP/1.1."""
    certificate, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsound")
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[int, bytes, str | None]:
        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = httpx2.AsyncClient(verify=ssl.create_default_context(cafile=certificate))
            async with on_asyncio_sockets(client, AsyncioBackend()):
                response = await client.get(f"https://localhost:{port}/")
                return response.status_code, response.content, response.http_version

    assert run(scenario()) == (200, b"sound", "HTTP/1.1")


def test_a_server_with_the_wrong_name_fails_the_handshake(run: Any, tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path, name="elsewhere.example")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate, key)

    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = httpx2.AsyncClient(verify=ssl.create_default_context(cafile=certificate))
            async with on_asyncio_sockets(client, AsyncioBackend()):
                await client.get(f"https://localhost:{port}/")

    with pytest.raises(httpx2.ConnectError):
        run(scenario())


def self_signed(folder: Path, name: str = "localhost") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certificate_file), str(key_file)
