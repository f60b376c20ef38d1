"""The provider client's HTTP/1.1: httpcore2's pool and connection set-up, with responses
parsed by httptools (llhttp, the C parser uvicorn serves with) instead of h11.

h11 parses in Python: at 384 paced streams it was 11% of the API's event loop. Reading 256
paced streams, the client's CPU per delta fell from 80.7 µs (h11 on the same sockets) to
39.1 µs (bench/provider_reads.py, side by side). Requests are still written the way h11
writes them (the head, then the body framed as its headers say, and as long as they say),
and what this connection does not do is left to httpcore2's own: HTTP/2, proxies, and
CONNECT or protocol upgrades (on a connection made for them; a kept one refuses them).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
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
    informational (1xx) head before it is skipped; anything after it spoils the connection.
    `bodiless`: the answer to a HEAD, whose head announces a body that never comes."""

    def __init__(self, bodiless: bool = False) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.bodiless = bodiless
        self.status = 0
        self.version = b""
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.head_done = False
        self.body: list[bytes] = []
        self.done = False
        self.surplus = False
        self.keep_alive = False

    def on_message_begin(self) -> None:
        if self.done:
            self.surplus = True
        else:
            self.reason = b""  # a 1xx head's reason is not the answer's

    def on_status(self, reason: bytes) -> None:
        if not self.done:
            self.reason += reason  # a status line split between reads comes in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.done:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.done or self.head_done:
            self.surplus = True
        elif self.parser.get_status_code() < 200:
            self.headers = []
        else:
            # Read now: what follows the answer (surplus bytes) would change them.
            self.status = self.parser.get_status_code()
            self.version = self.parser.get_http_version().encode()
            # Asked now: llhttp forgets the answer's keep-alive once the message completed.
            self.keep_alive = self.parser.should_keep_alive()
            self.head_done = True
            self.done = self.bodiless

    def on_body(self, body: bytes) -> None:
        if self.done:
            self.surplus = True
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.done = True

    def feed(self, data: bytes) -> None:
        if self.done:
            self.surplus = True  # a bodiless answer's parser is not fed past its head
            return
        reading_head = not self.head_done
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError) as exc:
            if self.done:  # the answer is whole: what came after it only spoils the connection
                self.surplus = True
                return
            if isinstance(exc, httptools.HttpParserUpgrade):
                raise httpcore2.RemoteProtocolError("an upgrade that was not asked for") from exc
            raise httpcore2.RemoteProtocolError(f"a malformed response: {exc}") from exc
        if reading_head:
            # Counted by the bytes fed, not by the headers parsed: httptools holds a header
            # that has not ended yet, and one that never ends would grow without limit.
            self.head_bytes += len(data)
            if not self.head_done and self.head_bytes > _HEAD_LIMIT:
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
        if not _is_plain(request):
            # Only a connection made for it does these (httpcore2's, see Http11Connecting).
            raise httpcore2.LocalProtocolError("CONNECT and upgrades need a new connection")
        self._state, self._expire_at = _ACTIVE, None
        self._requests += 1
        timeouts = request.extensions.get("timeout", {})
        try:
            sent = await self._send(request, timeouts.get("write"))
            answer = _Answer(bodiless=request.method == b"HEAD")
            await self._receive_head(answer, timeouts.get("read"))
        except BaseException:
            await self.aclose()
            raise
        reusable_after = sent and not _asks_to_close(request)
        return Response(
            status=answer.status,
            headers=answer.headers,
            content=ResponseBody(self, answer, reusable_after, timeouts.get("read")),
            extensions={
                "http_version": b"HTTP/" + answer.version,
                "reason_phrase": answer.reason,
                "network_stream": self._stream,
            },
        )

    async def _send(self, request: Request, write_within: float | None) -> bool:
        """Write the request; False if the server stopped taking it (it may answer anyway).
        The body is framed as its headers say, and must be as long as they say."""
        head = [b"%s %s HTTP/1.1\r\n" % (request.method, request.url.target)]
        for name, value in request.headers:
            _check_header(name, value)
            head.append(b"%s: %s\r\n" % (name, value))
        head.append(b"\r\n")
        chunked, length = _framing(request.headers)
        written = 0
        try:
            await self._stream.write(b"".join(head), timeout=write_within)
            async for piece in request.stream:  # type: ignore[union-attr]
                if not piece:
                    continue
                written += len(piece)
                if length is not None and written > length:
                    raise httpcore2.LocalProtocolError("more body than its Content-Length")
                framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                await self._stream.write(framed, timeout=write_within)
            if chunked:
                await self._stream.write(b"0\r\n\r\n", timeout=write_within)
        except httpcore2.WriteError:
            # As httpcore2 does: a server can close the request early and still answer it.
            return False
        if length is not None and written < length:
            raise httpcore2.LocalProtocolError("less body than its Content-Length")
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
        reusable_after: bool,
        timeout: float | None,
    ) -> None:
        self._connection = connection
        self._answer = answer
        self._reusable_after = reusable_after
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
            and self._reusable_after
            and not answer.surplus
            and not self._ends_at_eof
            and answer.keep_alive
        )
        await self._connection.release(reusable)


class Http11Connecting(httpcore2.AsyncHTTPConnection):
    """httpcore2's connection set-up (TCP, TLS, ALPN, its retries) with an HTTP/1.1 that
    parses with httptools; an HTTP/2 answer to ALPN keeps httpcore2's own.

    handle_async_request is httpcore2's AsyncHTTPConnection.handle_async_request (2.16)
    with another HTTP/1.1 class: httpcore2 names its class as a module global and has no
    seam for it, and patching the global would reach every httpcore2 user in the process.
    Check this copy against httpcore2's when upgrading it."""

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
    """Not a CONNECT nor an upgrade, which only httpcore2's own connection does."""
    if request.method == b"CONNECT":
        return False
    return not any(name.lower() == b"upgrade" for name, _ in request.headers)


def _asks_to_close(request: Request) -> bool:
    return any(
        name.lower() == b"connection" and b"close" in value.lower()
        for name, value in request.headers
    )


def _framing(headers: Sequence[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    """(chunked, length) of a request body, as its headers declare it."""
    chunked, length = False, None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            if value.lower().split(b",")[-1].strip() != b"chunked":
                raise httpcore2.LocalProtocolError("a transfer coding other than chunked last")
            chunked = True
        elif lowered == b"content-length":
            if not value.strip().isdigit():
                raise httpcore2.LocalProtocolError("an invalid Content-Length")
            length = int(value)
    if chunked and length is not None:
        raise httpcore2.LocalProtocolError("both Content-Length and Transfer-Encoding")
    return chunked, length


def _check_header(name: bytes, value: bytes) -> None:
    # What h11 refuses too: a header that would split the request or is no header at all.
    if not _TOKEN.fullmatch(name) or _SPLITS.search(value):
        raise httpcore2.LocalProtocolError(f"an invalid header: {name!r}")
