"""A fake LLM provider: a bare ASGI app speaking the real wire formats, plus ways to run it.

Each request picks its behaviour with ``;``-separated directives found in the
``x-fake-scenario`` header, the ``model`` field or the API key (Dify sends no
model), e.g. ``model="gpt-4o;fault-429;times=1;tag=a1"``:

- ``fault-NNN``: answer HTTP NNN (429 and 503 carry ``Retry-After``)
- ``fault-slow-first-byte``: wait ``delay`` seconds before answering at all
- ``fault-cut``: send ``cut_after`` text pieces, then drop the connection
- ``fault-stall``: send ``cut_after`` text pieces, then go silent for ``delay`` seconds
- ``fault-error-event``: send ``cut_after`` text pieces, then the provider's error event
- ``fault-malformed`` / ``fault-wrong-shape``: unparseable JSON / valid JSON of the wrong shape
- ``times=N``: fault only the first N requests with these directives, then succeed
  (add a unique ``tag=...`` so tests do not share the count)
- ``chunks=N`` (default 32), ``interval=S`` between pieces, ``split=N`` bytes per
  write, ``retry_after=S`` (default 1), ``delay=S`` (default 1), ``finish=REASON``.
- ``usage=none``: report no token usage at all (as some servers do).
- ``repeat=N``: when continuing, first say again the last N characters it was given
  (as models do), so the caller's seam has an overlap to strip.

A request that asks to continue a partial reply (a prefix of ``REPLY_TEXT``; see
``wire.continued_from``) is answered with the rest of the reply, in the pieces the whole
reply would have had from there on: the text a client receives across a fault and its
continuation equals the fault-free reply, character for character. Faults apply to it
as to any request (``times`` counts it too).

Every answer reports its usage in its wire format's own fields: a prompt of
``PROMPT_TOKENS`` (``CACHED_TOKENS`` of them from the prompt cache, and for Anthropic
``CACHE_WRITE_TOKENS`` written to it) and one completion token per text piece
(``REASONING_TOKENS`` of them reasoning, where the format says so).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import msgspec
import uvicorn

from tests.fake_provider.wire import (
    CACHE_WRITE_TOKENS,
    CACHED_TOKENS,
    PROMPT_TOKENS,
    REASONING_TOKENS,
    STREAM_ERROR_MESSAGE,
    Usage,
    Wire,
    continued_from,
    pieces_from,
    reply_pieces,
    wire_for,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ENDPOINT_PATHS = {
    "openai": "/openai/v1",
    "custom": "/custom/v1",
    "anthropic": "/anthropic",
    "fastgpt": "/fastgpt/api",
    "dify": "/dify/v1",
}
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
JSON_HEADERS = [(b"content-type", b"application/json")]
_REPO_ROOT = Path(__file__).resolve().parents[2]


class DeliberateDisconnect(Exception):
    """Raised mid-response: uvicorn then closes the connection, as a crashed provider would."""


class RecordedRequest(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int = 0
    """The caller's TCP port: equal ports mean a kept-alive connection was reused."""


@dataclass(frozen=True)
class Scenario:
    fault: str | None = None
    times: int | None = None
    chunks: int = 32
    interval: float = 0.0
    split: int = 0
    retry_after: str = "1"
    delay: float = 1.0
    cut_after: int = 3
    finish: str | None = None
    usage: str = "reported"
    repeat: int = 0
    key: str = ""

    @classmethod
    def from_request(cls, request: RecordedRequest) -> Scenario:
        body = request.body if isinstance(request.body, dict) else {}
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        sources = [request.headers.get("x-fake-scenario", ""), str(body.get("model", "")), key]
        directives = [part.strip() for source in sources for part in source.split(";")]
        options: dict[str, Any] = {"key": "|".join(sources)}
        for directive in directives:
            if directive.startswith("fault-"):
                options["fault"] = directive.removeprefix("fault-")
            name, equals, value = directive.partition("=")
            if equals and name in _OPTION_TYPES:
                options[name] = _OPTION_TYPES[name](value)
        return cls(**options)


_OPTION_TYPES: dict[str, Callable[[str], Any]] = {
    "times": int,
    "chunks": int,
    "interval": float,
    "split": int,
    "retry_after": str,
    "delay": float,
    "cut_after": int,
    "finish": str,
    "usage": str,
    "repeat": int,
}


@dataclass
class FakeProviderApp:
    """The ASGI app. Remembers the last request per path and how often each path was hit."""

    recorded: dict[str, RecordedRequest] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    _faults_served: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _run_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=_json_or_none(await _read_body(receive)),
            client_port=(scope.get("client") or ("", 0))[1],
        )
        if request.path.startswith("/_fake/"):
            await self._inspect(request, scope.get("query_string", b""), send)
            return
        self.recorded[request.path] = request
        self.counts[request.path] += 1
        scenario = Scenario.from_request(request)
        await _Reply(send, request, scenario, self._fault_now(request.path, scenario)).respond()

    def _fault_now(self, path: str, scenario: Scenario) -> str | None:
        if scenario.fault is None or scenario.times is None:
            return scenario.fault
        key = f"{path} {scenario.key}"
        if self._faults_served[key] >= scenario.times:
            return None
        self._faults_served[key] += 1
        return scenario.fault

    async def _inspect(self, request: RecordedRequest, query: bytes, send: Send) -> None:
        path = parse_qs(query.decode()).get("path", [""])[0]
        if request.path == "/_fake/reset":
            self.recorded.clear()
            self.counts.clear()
            self._faults_served.clear()
            await _send_json(send, 200, {"reset": True})
        elif request.path == "/_fake/count":
            await _send_json(send, 200, {"count": self.counts[path]})
        elif request.path == "/_fake/request" and path in self.recorded:
            await _send_json(send, 200, self.recorded[path])
        else:
            await _send_json(send, 404, {"message": f"nothing recorded for {path!r}"})


@dataclass
class _Reply:
    send: Send
    request: RecordedRequest
    scenario: Scenario
    fault: str | None

    async def respond(self) -> None:
        body = self.request.body if isinstance(self.request.body, dict) else {}
        wire = wire_for(self.request.path, body, self.scenario.finish, self.usage())
        if self.fault == "slow-first-byte":
            await asyncio.sleep(self.scenario.delay)
        if self.fault is not None and self.fault.isdigit():
            await self._send_status(int(self.fault), wire)
        elif self.request.method == "GET":
            await _send_json(self.send, 200, {"object": "list", "data": []})
        elif wire is None:
            await _send_json(
                self.send, 404, {"message": f"no fake provider at {self.request.path}"}
            )
        elif wire.streaming:
            await self._send_stream(wire)
        else:
            await self._send_blocking(wire)

    def pieces(self) -> list[str]:
        """The answer's text pieces: the whole reply, or the rest of it when continuing."""
        pieces = reply_pieces(self.scenario.chunks)
        body = self.request.body if isinstance(self.request.body, dict) else {}
        start = continued_from(body)
        if start == 0:
            return pieces
        return pieces_from(pieces, max(0, start - self.scenario.repeat))

    def usage(self) -> Usage:
        return Usage(
            PROMPT_TOKENS,
            len(self.pieces()),
            CACHED_TOKENS,
            CACHE_WRITE_TOKENS,
            REASONING_TOKENS,
            reported=self.scenario.usage != "none",
        )

    async def _send_status(self, status: int, wire: Wire | None) -> None:
        message = f"fake HTTP {status}"
        payload = wire.error(status, message) if wire else {"message": message}
        headers = list(JSON_HEADERS)
        if status in (429, 503):
            headers.append((b"retry-after", self.scenario.retry_after.encode()))
        await _send_json(self.send, status, payload, headers)

    async def _send_stream(self, wire: Wire) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        if self.fault == "malformed":
            await self._write(wire.malformed_frame())
        elif self.fault == "wrong-shape":
            await self._write(b"data: [1, 2, 3]\n\n")
        else:
            await self._stream_reply(wire)
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream_reply(self, wire: Wire) -> None:
        pieces = self.pieces()
        breaks_off = self.fault in ("cut", "stall", "error-event")
        sent = pieces[: self.scenario.cut_after] if breaks_off else pieces
        for frame in wire.opening():
            await self._write(frame)
        for piece in sent:
            if self.scenario.interval > 0:
                await asyncio.sleep(self.scenario.interval)
            await self._write(wire.text(piece))
        if self.fault == "cut":
            raise DeliberateDisconnect
        if self.fault == "stall":
            await asyncio.sleep(self.scenario.delay)
        elif self.fault == "error-event":
            await self._write(wire.stream_error())
        else:
            for frame in wire.closing(self.usage()):
                await self._write(frame)

    async def _write(self, data: bytes) -> None:
        step = self.scenario.split or len(data)
        for start in range(0, len(data), step):
            await self.send(
                {
                    "type": "http.response.body",
                    "body": data[start : start + step],
                    "more_body": True,
                }
            )
            if self.scenario.split:
                await asyncio.sleep(0)  # let the transport flush, so the client reads pieces

    async def _send_blocking(self, wire: Wire) -> None:
        pieces = self.pieces()
        answer = wire.answer("".join(pieces), self.usage())
        if self.fault == "error-event":
            answer = wire.error(500, STREAM_ERROR_MESSAGE)
        body = msgspec.json.encode(answer)
        if self.fault == "malformed":
            body = body[: len(body) // 2]
        elif self.fault == "wrong-shape":
            body = b"[1, 2, 3]"
        if self.fault != "cut":
            await _send_json(self.send, 200, body)
            return
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        half = {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        await self.send(half)
        raise DeliberateDisconnect


async def _send_json(
    send: Send, status: int, payload: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    length = (b"content-length", str(len(body)).encode())
    all_headers = [*(headers or JSON_HEADERS), length]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _json_or_none(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        return None


async def _run_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _HideDeliberateDisconnects(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DeliberateDisconnect))


def quiet_deliberate_disconnects() -> None:
    """Keep uvicorn from logging a traceback for every ``fault-cut``."""
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDeliberateDisconnects) for f in error_log.filters):
        error_log.addFilter(_HideDeliberateDisconnects())


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free port with no race against other processes."""
    # An explicit IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections;
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def uvicorn_server(app: FakeProviderApp, log_level: str = "warning") -> uvicorn.Server:
    quiet_deliberate_disconnects()
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    return uvicorn.Server(config)


class FakeProvider(ABC):
    """Where a running fake provider is, and what it has been asked."""

    url: str

    def endpoint(self, provider: str) -> str:
        """The base URL an agent of ``provider`` would be configured with."""
        return self.url + ENDPOINT_PATHS[provider]

    def reset(self) -> None:
        """Forget every request, count and served fault."""
        httpx.post(f"{self.url}/_fake/reset", trust_env=False).raise_for_status()

    @abstractmethod
    def last_request(self, path: str) -> RecordedRequest:
        """The last request to ``path``; KeyError if there was none."""

    @abstractmethod
    def request_count(self, path: str) -> int: ...


class FakeProviderThread(FakeProvider):
    """Serves in a background thread of this process; cheap, and state is read directly."""

    def __init__(self) -> None:
        self.app = FakeProviderApp()
        self._socket = bind_socket()
        host, port = self._socket.getsockname()
        self.url = f"http://{host}:{port}"
        self._server = uvicorn_server(self.app)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> FakeProviderThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def last_request(self, path: str) -> RecordedRequest:
        return self.app.recorded[path]

    def request_count(self, path: str) -> int:
        return self.app.counts[path]


class FakeProviderProcess(FakeProvider):
    """Serves from ``python -m tests.fake_provider``: its own GIL, so benchmarks are not skewed."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeProviderProcess:
        command = [sys.executable, "-m", "tests.fake_provider", "--port", str(self._port)]
        self._process = subprocess.Popen(command, cwd=_REPO_ROOT, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the server prints its URL once it listens
        if not line.startswith("http://"):
            self.__exit__()
            raise RuntimeError(f"the fake provider did not start: {line!r}")
        self.url = line.strip()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
            if self._process.stdout is not None:
                self._process.stdout.close()

    def last_request(self, path: str) -> RecordedRequest:
        answer = httpx.get(f"{self.url}/_fake/request", params={"path": path}, trust_env=False)
        if answer.status_code == 404:
            raise KeyError(path)
        return msgspec.json.decode(answer.content, type=RecordedRequest)

    def request_count(self, path: str) -> int:
        answer = httpx.get(f"{self.url}/_fake/count", params={"path": path}, trust_env=False)
        return int(answer.json()["count"])
