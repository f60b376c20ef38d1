"""The provider client's sockets: httpcore2's network backend on asyncio's own transports.

httpcore2 reaches asyncio through anyio by default, and its every read opens an anyio
cancel scope for the read timeout (the task lookup, the backend sniffing, the scope's
bookkeeping): at 128 paced streams that was 10% of the API's event loop, more than reading
the bytes. Here a read waits on one future, its timeout is a deadline moved forward by each
read and checked by one timer per connection that fires only when the deadline may have
passed, and the readiness the pool asks of idle connections is what the protocol has seen
(no poll() per socket).

The methods take `timeout` because httpcore2's AsyncNetworkStream and AsyncNetworkBackend
do (ruff's ASYNC109 is silenced for that reason).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import httpcore2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

PAUSE_READING_AT = 256 * 1024
"""Bytes held unread before the transport stops reading (the provider waits meanwhile)."""


class _Inbox(asyncio.Protocol):
    """What a connection received and has not yet been read, and whether it ended."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.ended = False
        self.lost: BaseException | None = None
        self.reader: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they do all it does.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > PAUSE_READING_AT and not self.reading_paused and self.transport:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.lost = exc
        self._wake_reader()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        if len(self.chunks) == 1 or len(self.chunks[0]) >= max_bytes:
            data = self.chunks.popleft()
        else:
            data = b"".join(self.chunks)
            self.chunks.clear()
        if len(data) > max_bytes:
            self.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        self.size -= len(data)
        if self.reading_paused and self.size <= PAUSE_READING_AT // 2 and self.transport:
            self.transport.resume_reading()
            self.reading_paused = False
        return data

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, inbox: _Inbox) -> None:
        self._transport = transport
        self._inbox = inbox
        self._loop = asyncio.get_running_loop()
        self._deadline: float | None = None
        """When the waiting read fails, if it has a timeout."""
        self._timer: asyncio.TimerHandle | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        inbox = self._inbox
        if not inbox.chunks and not inbox.ended:
            await self._wait_for_data(timeout)
        if inbox.chunks:
            return inbox.take(max_bytes)
        if inbox.lost is not None:
            raise httpcore2.ReadError(repr(inbox.lost))
        return b""

    async def _wait_for_data(self, silence: float | None) -> None:
        reader = self._inbox.reader = self._loop.create_future()
        if silence is None:
            self._deadline = None
        else:
            self._deadline = self._loop.time() + silence
            # A timer set for a later deadline (a longer timeout before) would fire late.
            if self._timer is None or self._deadline < self._timer.when():
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(self._deadline, self._check_deadline)
        try:
            await reader
        finally:
            # A read cancelled as the next began unwinds after it: leave the next one's.
            if self._inbox.reader is reader:
                self._inbox.reader = None

    def _check_deadline(self) -> None:
        """The timer's turn: fail the waiting read if its deadline passed, else wait on."""
        self._timer = None
        reader = self._inbox.reader
        if reader is None or reader.done() or self._deadline is None:
            return  # no read waits with a timeout; the next one with one arms the timer
        if self._loop.time() >= self._deadline:
            reader.set_exception(httpcore2.ReadTimeout("no data within the read timeout"))
        else:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        if self._inbox.lost is not None or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        writable = self._inbox.writable
        if writable is not None and not writable.done():
            try:
                async with asyncio.timeout(timeout):
                    await writable
            except TimeoutError as exc:
                raise httpcore2.WriteTimeout("the peer stopped reading") from exc
            if self._inbox.lost is not None:
                raise httpcore2.WriteError(repr(self._inbox.lost))

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                transport = await self._loop.start_tls(
                    self._transport, self._inbox, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore2.ConnectTimeout("the TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore2.ConnectError(repr(exc)) from exc
        if transport is None:  # asyncio's type allows it; a handshake that failed raised
            raise httpcore2.ConnectError("the TLS handshake gave no transport")
        self._inbox.transport = transport
        return AsyncioStream(transport, self._inbox)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with anything to read was closed (or broken) by
            # the server: that is what httpcore asks this for.
            return bool(self._inbox.chunks) or self._inbox.ended
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        if name in ("ssl_object", "sockname", "peername", "socket"):
            return self._transport.get_extra_info(name)
        return None


class AsyncioBackend(AsyncNetworkBackend):
    """TCP only: the provider client is never given a Unix socket (httpx2's `uds`)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # Each address in turn (uvloop has no Happy Eyeballs): a provider's host
                # that answers on none of its addresses is a connect timeout either way.
                transport, inbox = await loop.create_connection(
                    _Inbox, host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"no connection to {host}:{port}") from exc
        except OSError as exc:
            raise httpcore2.ConnectError(repr(exc)) from exc
        _set_options(transport, socket_options)
        return AsyncioStream(transport, inbox)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(transport: asyncio.Transport, options: Iterable[SocketOption] | None) -> None:
    sock: socket.socket | None = transport.get_extra_info("socket")
    for option in options or ():
        if sock is not None:
            sock.setsockopt(*option)
