"""The provider client's HTTP/1.1: httpcore2's pool and connection set-up, with responses
parsed by httptools (llhttp, the C parser uvicorn serves with) instead of h11.

h11 parses in Python: at 384 paced streams it was 11% of the API's event loop. Reading 256
paced streams, the client's CPU per delta fell from 80.7 µs (h11 on the same sockets) to
39.1 µs (bench/provider_reads.py, side by side). Requests are still written the way h11
writes them (the head, then the body framed as its headers say), and anything this
connection does not do itself is left to httpcore2's own: HTTP/2, proxies, HEAD, CONNECT and
protocol upgrades.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpcore2
import httptools
from httpcore2 import AsyncNetworkStream, Origin, Request, Response

READ_NUM_BYTES = 64 * 1024
_HEAD_LIMIT = 100 * 1024
"""Largest response head accepted (h11's limit in httpcore2)."""
_IDLE, _ACTIVE, _CLOSED = "IDLE", "ACTIVE", "CLOSED"
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_SPLITS = re.compile(rb"[\r\n\x00]")


class _Answer:
    """httptools' callbacks: what the answer to one request parsed so far holds. An
    informational (1xx) head before it is skipped; anything after it spoils the connection."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_size = 0
        self.head_done = False
        self.body: list[bytes] = []
        self.done = False
        self.surplus = False
        self.keep_alive = False

    def on_status(self, reason: bytes) -> None:
        self.reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value)
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.done or self.head_done:
            self.surplus = True
        elif self.parser.get_status_code() < 200:
            self.headers, self.head_size = [], 0
        else:
            self.head_done = True
            # Asked now: llhttp forgets the answer's keep-alive once the message completed.
            self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self.done:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.done = True

    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            raise httpcore2.RemoteProtocolError("an upgrade that was not asked for") from exc
        except httptools.HttpParserError as exc:
            raise httpcore2.RemoteProtocolError(f"a malformed response: {exc}") from exc
        if not self.head_done and self.head_size > _HEAD_LIMIT:
            raise httpcore2.RemoteProtocolError("the response head is too large")


class Http11Connection:
    """One HTTP/1.1 keep-alive connection; the pool gives it one request at a time.

    Implements httpcore2's AsyncConnectionInterface (its methods, not its class, which
    AsyncHTTPConnection delegates to by duck typing)."""

    def __init__(
        self, origin: Origin, stream: AsyncNetworkStream, keepalive_expiry: float | None
    ) -> None:
        self._origin = origin
        self._stream = stream
        self._keepalive_expiry = keepalive_expiry
        self._expire_at: float | None = None
        self._state = _ACTIVE  # the connection is made for the request it is about to take
        self._requests = 0

    async def handle_async_request(self, request: Request) -> Response:
        if self._state == _CLOSED or (self._requests and self._state != _IDLE):
            raise httpcore2.ConnectionNotAvailable()
        self._state, self._expire_at = _ACTIVE, None
        self._requests += 1
        timeouts = request.extensions.get("timeout", {})
        try:
            sent = await self._send(request, timeouts.get("write"))
            answer = _Answer()
            await self._receive_head(answer, timeouts.get("read"))
        except BaseException:
            await self.aclose()
            raise
        return Response(
            status=answer.parser.get_status_code(),
            headers=answer.headers,
            content=ResponseBody(self, answer, sent, timeouts.get("read")),
            extensions={
                "http_version": b"HTTP/" + answer.parser.get_http_version().encode(),
                "reason_phrase": answer.reason,
                "network_stream": self._stream,
            },
        )

    async def _send(self, request: Request, write_within: float | None) -> bool:
        """Write the request; False if the server stopped taking it (it may answer anyway)."""
        head = [b"%s %s HTTP/1.1\r\n" % (request.method, request.url.target)]
        chunked = False
        for name, value in request.headers:
            _check_header(name, value)
            head.append(b"%s: %s\r\n" % (name, value))
            chunked = chunked or (
                name.lower() == b"transfer-encoding" and value.lower() == b"chunked"
            )
        head.append(b"\r\n")
        try:
            await self._stream.write(b"".join(head), timeout=write_within)
            async for piece in request.stream:  # type: ignore[union-attr]
                if piece:
                    framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                    await self._stream.write(framed, timeout=write_within)
            if chunked:
                await self._stream.write(b"0\r\n\r\n", timeout=write_within)
        except httpcore2.WriteError:
            # As httpcore2 does: a server can close the request early and still answer it.
            return False
        return True

    async def _receive_head(self, answer: _Answer, read_within: float | None) -> None:
        while not answer.head_done:
            data = await self._stream.read(READ_NUM_BYTES, timeout=read_within)
            if not data:
                raise httpcore2.RemoteProtocolError(
                    "Server disconnected without sending a response."
                )
            answer.feed(data)

    async def release(self, reusable: bool) -> None:
        """The response is over: keep the connection for the next request, or close it."""
        if not reusable or self._state != _ACTIVE:
            await self.aclose()
            return
        self._state = _IDLE
        if self._keepalive_expiry is not None:
            self._expire_at = time.monotonic() + self._keepalive_expiry

    async def aclose(self) -> None:
        self._state = _CLOSED
        await self._stream.aclose()

    def can_handle_request(self, origin: Origin) -> bool:
        return origin == self._origin

    def is_connected(self) -> bool:
        return self._state != _CLOSED

    def is_available(self) -> bool:
        return self._state == _IDLE

    def has_expired(self) -> bool:
        expire_at = self._expire_at
        if expire_at is not None and time.monotonic() > expire_at:
            return True
        # An idle connection with something to read was closed (or broken) by the server.
        return self._state == _IDLE and bool(self._stream.get_extra_info("is_readable"))

    def is_idle(self) -> bool:
        return self._state == _IDLE

    def can_multiplex(self) -> bool:
        return False

    def is_closed(self) -> bool:
        return self._state == _CLOSED

    def info(self) -> str:
        return f"{str(self._origin)!r}, HTTP/1.1, {self._state}, Request Count: {self._requests}"

    def __repr__(self) -> str:
        return f"<Http11Connection [{self.info()}]>"


class ResponseBody:
    """The body as it arrives, each piece once it was read; closing it releases the
    connection (kept only when the whole answer was read and the server keeps it alive)."""

    def __init__(
        self,
        connection: Http11Connection,
        answer: _Answer,
        sent: bool,
        timeout: float | None,
    ) -> None:
        self._connection = connection
        self._answer = answer
        self._sent = sent
        self._timeout = timeout
        self._closed = False
        framed = {name.lower() for name, _ in answer.headers} & {
            b"content-length",
            b"transfer-encoding",
        }
        self._ends_at_eof = not framed and not answer.done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        answer = self._answer
        try:
            while True:
                if answer.body:
                    pieces, answer.body = answer.body, []
                    for piece in pieces:
                        yield piece
                if answer.done:
                    break
                data = await self._connection._stream.read(READ_NUM_BYTES, timeout=self._timeout)
                if not data:
                    if self._ends_at_eof:
                        break
                    raise httpcore2.RemoteProtocolError(
                        "peer closed connection without sending complete message body"
                    )
                answer.feed(data)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        answer = self._answer
        reusable = (
            answer.done
            and self._sent
            and not answer.surplus
            and not self._ends_at_eof
            and answer.keep_alive
        )
        await self._connection.release(reusable)


class Http11Connecting(httpcore2.AsyncHTTPConnection):
    """httpcore2's connection set-up (TCP, TLS, ALPN, its retries) with an HTTP/1.1 that
    parses with httptools; an HTTP/2 answer to ALPN keeps httpcore2's own."""

    async def handle_async_request(self, request: Request) -> Response:
        if self._connection is not None or not _is_plain(request):
            return await super().handle_async_request(request)
        if not self.can_handle_request(request.url.origin):
            raise RuntimeError(
                f"a request to {request.url.origin} on a connection to {self._origin}"
            )
        try:
            async with self._request_lock:
                if self._connection is None:
                    stream = await self._connect(request)
                    ssl_object = stream.get_extra_info("ssl_object")
                    if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
                        from httpcore2._async.http2 import AsyncHTTP2Connection

                        self._connection = AsyncHTTP2Connection(
                            origin=self._origin,
                            stream=stream,
                            keepalive_expiry=self._keepalive_expiry,
                        )
                    else:
                        self._connection = Http11Connection(  # type: ignore[assignment]
                            self._origin, stream, self._keepalive_expiry
                        )
        except BaseException:
            self._connect_failed = True
            raise
        assert self._connection is not None
        return await self._connection.handle_async_request(request)


def with_httptools(pool: httpcore2.AsyncConnectionPool) -> None:
    """Give a direct pool (no proxy) connections that parse with httptools; proxies keep
    httpcore2's own connections, whose tunnels and forwarding this module does not do."""
    if type(pool) is not httpcore2.AsyncConnectionPool or pool._proxy is not None:
        return
    pool.__class__ = Http11Pool


class Http11Pool(httpcore2.AsyncConnectionPool):
    def create_connection(self, origin: Origin) -> Any:
        return Http11Connecting(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )


def _is_plain(request: Request) -> bool:
    """A request whose answer is an ordinary message body (h11 handles the rest)."""
    if request.method in (b"HEAD", b"CONNECT"):
        return False
    return not any(name.lower() == b"upgrade" for name, _ in request.headers)


def _check_header(name: bytes, value: bytes) -> None:
    # What h11 refuses too: a header that would split the request or is no header at all.
    if not _TOKEN.fullmatch(name) or _SPLITS.search(value):
        raise httpcore2.LocalProtocolError(f"an invalid header: {name!r}")
