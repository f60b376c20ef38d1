"""HTTP behaviour every provider adapter shares.

Timeouts and retries follow one rule: nothing is retried once a byte of the
answer arrived, because by then the provider has started (and billed) the work
and the caller may already have shown part of it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import msgspec

from application.provider import (
    Chunk,
    FinishReason,
    ProviderBadResponse,
    ProviderError,
    ProviderRejected,
    ProviderStreamFailed,
    ProviderTimedOut,
    ProviderUnavailable,
    Usage,
)
from infrastructure.providers.http11 import with_httptools
from infrastructure.providers.network import AsyncioBackend
from infrastructure.providers.sse import SseEvent, SseParser

T = TypeVar("T")

RETRY_AFTER_CAP = 10.0
"""Longest ``Retry-After`` we wait for; a user is watching a spinner meanwhile."""

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
_STATUSES_WITH_RETRY_AFTER = frozenset({429, 503})
# Failures where the provider cannot have started working on the request.
# A read timeout is missing on purpose: the provider may be generating.
_RETRYABLE_ERRORS = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.RemoteProtocolError,  # typically a pooled keep-alive connection closed by the server
    httpx2.ReadError,
    httpx2.WriteError,
)
_ERROR_TEXT_LIMIT = 300
_DRAIN_LIMIT = 0.25


class ProviderTimeouts(msgspec.Struct, frozen=True):
    connect: float = 5.0
    first_byte: float = 30.0
    """Seconds until the response head arrives; for a blocking call that is the whole generation."""
    read: float = 60.0
    """Longest silence between two reads once the answer started."""
    retries: int = 2
    backoff: float = 0.5


SHARDS = 16
"""Pools the provider connections are spread over (see ProviderClients)."""


class ProviderClients:
    """The pooled keep-alive clients all adapters share, each request taking the next.

    httpx2 (pydantic's maintained fork of httpx), not httpx: httpcore 1.0's pool walks every
    connection for every idle one on each request (quadratic), which took 28% of the API's
    CPU at 128 paced streams; httpcore2's walks them once. Still once per request start and
    per response end, with a poll() of each idle socket: one pool of a few hundred
    connections stalled the event loop for tens of milliseconds in a burst, so they are
    spread over SHARDS pools of a sixteenth the size each.
    """

    def __init__(self, clients: Sequence[httpx2.AsyncClient]) -> None:
        self.clients = list(clients)
        self.turns = itertools.cycle(self.clients)

    def next(self) -> httpx2.AsyncClient:
        return next(self.turns)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def __aenter__(self) -> ProviderClients:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def new_http_client(timeouts: ProviderTimeouts, shards: int = SHARDS) -> ProviderClients:
    """Up to 2048 connections in all: a stream holds one for as long as it runs, and a
    request past the limit waits for one. One TLS context for all (its CA store is ~1 MB; a
    context per client cost 15 MiB of the API's memory)."""
    tls = httpx2.create_ssl_context()
    backend = AsyncioBackend()
    return ProviderClients(
        [
            on_asyncio_sockets(
                httpx2.AsyncClient(
                    verify=tls,
                    timeout=_httpx_timeout(timeouts),
                    limits=httpx2.Limits(
                        max_connections=2048 // shards, max_keepalive_connections=256 // shards
                    ),
                    headers={"user-agent": "llmchat"},
                ),
                backend,
            )
            for _ in range(shards)
        ]
    )


def on_asyncio_sockets(client: httpx2.AsyncClient, backend: AsyncioBackend) -> httpx2.AsyncClient:
    """`client`, its connections (and those through the proxies its environment names) made
    by `backend` (infrastructure/providers/network.py), and its direct connections' answers
    parsed by httptools (infrastructure/providers/http11.py).

    httpx2 builds its transports' pools itself and takes no network backend, so the pools it
    built get ours before their first connection; proxies from HTTP(S)_PROXY keep working,
    which a transport of our own would lose."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:  # a host NO_PROXY exempts from the proxies is sent directly
            continue
        pool = getattr(transport, "_pool", None)
        if not hasattr(pool, "_network_backend"):
            raise RuntimeError(f"httpx2's transport {transport!r} has no pool to give a backend")
        pool._network_backend = backend  # type: ignore[union-attr]
        with_httptools(pool)  # type: ignore[arg-type]
    return client


class ProviderHttp:
    """The shared client seen through one provider's name and timeouts."""

    def __init__(
        self,
        client: httpx2.AsyncClient | ProviderClients,
        timeouts: ProviderTimeouts,
        provider: str,
    ):
        self._clients = client if isinstance(client, ProviderClients) else ProviderClients([client])
        self._timeouts = timeouts
        self.provider = provider

    async def stream_events(
        self, url: str, *, headers: dict[str, str], body: object, outcome: StreamOutcome
    ) -> AsyncGenerator[SseEvent, None]:
        """Yield the answer's events until the caller marks ``outcome`` finished."""
        async with self._post(url, headers, body) as response:
            await self._expect_event_stream(response)
            async for event in self._events(response, outcome):
                yield event

    async def fetch_json(
        self, url: str, *, headers: dict[str, str], body: object, answer_type: type[T]
    ) -> T:
        async with self._post(url, headers, body) as response:
            try:
                raw = await response.aread()
            except httpx2.TimeoutException as exc:
                raise ProviderUnavailable(self.provider, "the answer stalled halfway") from exc
            except httpx2.HTTPError as exc:
                detail = f"the connection dropped before the whole answer arrived: {exc!r}"
                raise ProviderBadResponse(self.provider, detail) from exc
        return decode_json(self.provider, raw, answer_type)

    async def probe(self, url: str, *, headers: dict[str, str]) -> float:
        started = time.perf_counter()
        request = self._build_request("GET", url, headers, None)
        try:
            response = await self._receive_head(request)
        except _RetryableFailure as failure:
            raise failure.error from None
        elapsed = time.perf_counter() - started
        await response.aclose()
        if response.status_code >= 500:
            raise ProviderUnavailable(
                self.provider, f"HTTP {response.status_code}", status=response.status_code
            )
        return elapsed

    @asynccontextmanager
    async def _post(
        self, url: str, headers: dict[str, str], body: object
    ) -> AsyncIterator[httpx2.Response]:
        """Yield a 2xx response whose head arrived; its body is still unread."""
        request = self._build_request("POST", url, headers, body)
        response = await self._send_with_retries(request)
        try:
            yield response
        finally:
            await response.aclose()

    def _build_request(
        self, method: str, url: str, headers: dict[str, str], body: object
    ) -> httpx2.Request:
        try:
            return self._clients.clients[0].build_request(
                method, url, headers=headers, json=body, timeout=_httpx_timeout(self._timeouts)
            )
        except httpx2.InvalidURL as exc:
            raise ProviderUnavailable(self.provider, f"invalid endpoint {url!r}") from exc

    async def _send_with_retries(self, request: httpx2.Request) -> httpx2.Response:
        attempts = self._timeouts.retries + 1
        for attempt in range(attempts):
            try:
                response = await self._receive_head(request)
                if response.is_success:
                    return response
                raise await self._failure_from(response)
            except _RetryableFailure as failure:
                if attempt == attempts - 1:
                    raise failure.error from None
                await asyncio.sleep(self._delay_before_retry(failure, attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay_before_retry(self, failure: _RetryableFailure, attempt: int) -> float:
        if failure.retry_after is not None:
            return failure.retry_after
        # Jitter keeps many sessions that failed together from retrying together.
        return self._timeouts.backoff * 2.0**attempt * random.uniform(0.5, 1.0)

    async def _receive_head(self, request: httpx2.Request) -> httpx2.Response:
        try:
            async with asyncio.timeout(self._timeouts.first_byte):
                return await self._clients.next().send(request, stream=True)
        except TimeoutError as exc:
            detail = f"no answer within {self._timeouts.first_byte:g}s"
            raise ProviderTimedOut(self.provider, detail) from exc
        except _RETRYABLE_ERRORS as exc:
            timed_out = isinstance(exc, httpx2.TimeoutException)
            kind = ProviderTimedOut if timed_out else ProviderUnavailable
            error = kind(self.provider, f"unreachable: {exc!r}")
            raise _RetryableFailure(error) from exc
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(self.provider, f"unreachable: {exc!r}") from exc

    async def _failure_from(self, response: httpx2.Response) -> Exception:
        status = response.status_code
        message, code = error_details(await self._read_error_body(response))
        detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
        if status in _RETRYABLE_STATUSES:
            error = ProviderUnavailable(self.provider, detail, status=status, code=code)
            retry_after = None
            if status in _STATUSES_WITH_RETRY_AFTER:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            return _RetryableFailure(error, retry_after)
        if 400 <= status < 500:
            return ProviderRejected(self.provider, detail, status=status, code=code)
        if status >= 500:
            return ProviderUnavailable(self.provider, detail, status=status, code=code)
        return ProviderBadResponse(self.provider, detail, status=status, code=code)

    async def _read_error_body(self, response: httpx2.Response) -> bytes:
        try:
            async with asyncio.timeout(self._timeouts.read):
                return await response.aread()
        except (TimeoutError, httpx2.HTTPError):
            return b""
        finally:
            await response.aclose()

    async def _expect_event_stream(self, response: httpx2.Response) -> None:
        # Some providers answer a streaming request with plain JSON (an error
        # object or a blocking answer) and a 200; that is not a stream.
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            return
        message, code = error_details(await self._read_error_body(response))
        detail = f"expected an event stream, got JSON: {message}"
        raise ProviderBadResponse(self.provider, detail, code=code)

    async def _events(
        self, response: httpx2.Response, outcome: StreamOutcome
    ) -> AsyncIterator[SseEvent]:
        parser = SseParser()
        pieces = response.aiter_bytes()
        try:
            async for piece in pieces:
                for event in parser.feed(piece):
                    yield event
                    if outcome.finished:
                        await _drain(pieces)
                        return
        except httpx2.TimeoutException as exc:
            detail = f"the stream went silent for {self._timeouts.read:g}s"
            raise ProviderStreamFailed(self.provider, detail) from exc
        except httpx2.HTTPError as exc:
            detail = f"the connection dropped mid-stream: {exc!r}"
            raise ProviderStreamFailed(self.provider, detail) from exc
        for event in parser.close():
            yield event


async def _drain(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows the end marker so the connection goes back to the pool.

    httpx only reuses a connection whose body was read to the end; a server
    that keeps talking after its end marker just costs us that connection.
    """
    try:
        async with asyncio.timeout(_DRAIN_LIMIT):
            async for _ in pieces:
                pass
    except (TimeoutError, httpx2.HTTPError):
        pass


class _RetryableFailure(Exception):
    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.retry_after = retry_after


@dataclass
class StreamOutcome:
    """What a stream told us besides text, turned into its closing chunk."""

    provider: str
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    conversation_id: str | None = None
    finished: bool = False
    """The provider sent its explicit end-of-stream marker."""

    def last_chunk(self) -> Chunk:
        if not self.finished and self.finish_reason is None:
            # A clean close without an end marker means a proxy or the provider cut us off.
            detail = "the stream ended before the answer was complete"
            raise ProviderStreamFailed(self.provider, detail)
        return Chunk(
            usage=self.usage,
            finish_reason=self.finish_reason or "stop",
            provider_conversation_id=self.conversation_id,
        )


def decode_json(provider: str, raw: bytes | str, answer_type: type[T]) -> T:
    try:
        return msgspec.json.decode(raw, type=answer_type)
    except msgspec.DecodeError as exc:
        message, code = error_details(raw)
        detail = f"unreadable answer ({exc}): {message}"
        raise ProviderBadResponse(provider, detail, code=code) from exc


def error_details(payload: bytes | str) -> tuple[str, str | None]:
    """The message and code inside any provider's error JSON, or the raw text."""
    try:
        parsed: Any = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, dict):
        # OpenAI and Anthropic nest the error; Dify and FastGPT put it at the top.
        inner = parsed.get("error")
        source = inner if isinstance(inner, dict) else parsed
        message = source.get("message") or (inner if isinstance(inner, str) else None)
        code = source.get("type") or source.get("code")
        if message is not None:
            return _clip(str(message)), None if code is None else str(code)
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return _clip(text.strip()), None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; the HTTP-date form falls back to backoff."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def bearer(api_key: str) -> dict[str, str]:
    # Self-hosted OpenAI-compatible servers often run without a key.
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def join_url(endpoint: str, path: str) -> str:
    return endpoint.rstrip("/") + path


def _clip(text: str) -> str:
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[: _ERROR_TEXT_LIMIT - 1] + "…"


def _httpx_timeout(timeouts: ProviderTimeouts) -> httpx2.Timeout:
    return httpx2.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
    )
