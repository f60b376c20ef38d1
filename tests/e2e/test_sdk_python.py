"""The Python SDK (sdk/python) against a live `llmchat serve`: every route group, the spec's
snippet as written, token refresh, typed errors, and a stream that survives a cut connection.
"""

import asyncio
import io
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REDIS_URL
from tests.e2e.chat_fixtures import agents_document, fake  # noqa: F401
from tests.fake_provider import REPLY_TEXT
from tests.support.builders import PASSWORD, unique_email
from tests.support.server import ROOT, ServerProcess
from tests.support.tcp_proxy import TcpProxy
from tests.unit.test_cad import simple_drawing, to_bytes

sys.path.insert(0, str(ROOT / "sdk" / "python" / "src"))

from llmchat import (  # type: ignore[import-not-found, unused-ignore]
    AsyncLLMChatClient,
    ChatChunk,
    ConflictError,
    ForbiddenError,
    LLMChatClient,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
)
from llmchat.sse import SSEDecoder  # type: ignore[import-not-found, unused-ignore]

SLOWLY = [{"role": "user", "content": "tell me slowly"}]
"""For the `slow` agent: 40 chunks, 50 ms apart."""


@pytest.fixture(scope="module")
def sdk_server(fake, make_database, redis_namespace, tmp_path_factory) -> Iterator[ServerProcess]:  # noqa: F811
    folder = tmp_path_factory.mktemp("sdk")
    agents_file = folder / "agents.json"
    agents_file.write_text(json.dumps(agents_document(fake)))
    env = {
        "LLMCHAT_DATABASE_URL": make_database(f"sdk_{folder.name[-4:]}"),
        "LLMCHAT_REDIS_URL": REDIS_URL,
        "LLMCHAT_REDIS_NAMESPACE": redis_namespace,
        "LLMCHAT_DATA_DIR": str(folder),
        "LLMCHAT_JWT_SECRET": "sdk-secret-" + "s" * 40,
        "LLMCHAT_AGENTS_FILE": str(agents_file),
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    process = ServerProcess(env, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api_url(sdk_server: ServerProcess) -> str:
    return sdk_server.base_url + "/api"


def new_user(api_url: str) -> tuple[str, LLMChatClient]:
    """A fresh registered user, and a client signed in as them."""
    email = unique_email("sdk")
    client = LLMChatClient(base_url=api_url)
    client.auth.register(email, PASSWORD, "SDK user")
    client.login(email, PASSWORD)
    return email, client


@pytest.fixture
def client(api_url: str) -> Iterator[LLMChatClient]:
    _, signed_in = new_user(api_url)
    with signed_in:
        yield signed_in


@pytest.fixture
def admin(api_url: str) -> Iterator[LLMChatClient]:
    with LLMChatClient(base_url=api_url) as signed_in:
        signed_in.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield signed_in


# Cutting a stream: a transport whose first SSE answer breaks after some frames, mid-frame.


def torn(data: bytes, frames_left: int) -> tuple[bytes | None, int]:
    """`data` up to the end of frame number `frames_left` plus a shred of the next, if it
    holds that many frame ends; else None and the frames still to pass."""
    start = 0
    while (end := data.find(b"\n\n", start)) != -1:
        frames_left -= 1
        start = end + 2
        if frames_left == 0:
            return data[: start + 7], 0
    return None, frames_left


class CutStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, frames: int) -> None:
        self.inner, self.frames = inner, frames

    def __iter__(self) -> Iterator[bytes]:
        left = self.frames
        for data in self.inner:
            shred, left = torn(data, left)
            if shred is not None:
                yield shred
                raise httpx.RemoteProtocolError("connection cut by the test")
            yield data

    def close(self) -> None:
        self.inner.close()


class AsyncCutStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, frames: int) -> None:
        self.inner, self.frames = inner, frames

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = self.frames
        async for data in self.inner:
            shred, left = torn(data, left)
            if shred is not None:
                yield shred
                raise httpx.ReadError("connection cut by the test")
            yield data

    async def aclose(self) -> None:
        await self.inner.aclose()


def is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


class CuttingTransport(httpx.BaseTransport):
    """Passes everything through, but breaks the first event stream after `frames` frames."""

    def __init__(self, frames: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.frames = frames
        self.cut = False
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        response = self.inner.handle_request(request)
        if self.cut or not is_event_stream(response):
            return response
        self.cut = True
        assert isinstance(response.stream, httpx.SyncByteStream)
        stream = CutStream(response.stream, self.frames)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)


class AsyncCuttingTransport(httpx.AsyncBaseTransport):
    def __init__(self, frames: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.frames = frames
        self.cut = False
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        response = await self.inner.handle_async_request(request)
        if self.cut or not is_event_stream(response):
            return response
        self.cut = True
        assert isinstance(response.stream, httpx.AsyncByteStream)
        stream = AsyncCutStream(response.stream, self.frames)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)


def assert_whole_reply_once(chunks: list[ChatChunk]) -> None:
    ids = [chunk.event_id for chunk in chunks]
    assert ids == sorted(set(ids)), "every frame once, in order"
    assert "".join(chunk.content for chunk in chunks) == REPLY_TEXT


# The spec's snippet, and streams that lose their connection


def test_the_spec_snippet_prints_the_streamed_reply(api_url, client, capsys):
    token = client.token
    # The spec's Python snippet, word for word but for the address, token and agent:
    from llmchat import LLMChatClient

    client = LLMChatClient(base_url=api_url, token=token)
    for chunk in client.chat.completions(
        agent_id="openai", messages=[{"role": "user", "content": "你好"}], stream=True
    ):
        print(chunk.content)

    assert capsys.readouterr().out.replace("\n", "") == REPLY_TEXT


def test_a_stream_cut_mid_frame_is_resumed_and_yields_the_reply_once(api_url, client):
    transport = CuttingTransport(frames=5)
    with LLMChatClient(
        base_url=api_url, token=client.token, http_client=httpx.Client(transport=transport)
    ) as cut_client:
        stream = cut_client.chat.completions(agent_id="slow", messages=SLOWLY, stream=True)
        chunks = list(stream)

    assert transport.cut
    assert any(r.startswith("GET /api/chat/streams/") for r in transport.requests)
    assert_whole_reply_once(chunks)
    assert stream.text == REPLY_TEXT
    assert stream.finish_reason == "stop"
    assert stream.usage is not None and stream.usage.total_tokens > 0
    assert stream.message_id and stream.session_id


def test_a_stream_survives_its_tcp_connection_being_killed(sdk_server, client):
    proxy = TcpProxy("127.0.0.1", sdk_server.port)
    try:
        via_proxy = LLMChatClient(base_url=f"http://127.0.0.1:{proxy.port}/api", token=client.token)
        chunks: list[ChatChunk] = []
        for chunk in via_proxy.chat.completions(agent_id="slow", messages=SLOWLY, stream=True):
            chunks.append(chunk)
            if len(chunks) == 4:
                proxy.cut()  # every open connection dies here
                proxy.restore()  # and new ones are let through again
        assert_whole_reply_once(chunks)
        assert proxy.connections, "the stream was resumed over a new connection"
    finally:
        proxy.close()


async def test_the_async_client_resumes_a_cut_stream_too(api_url, client):
    transport = AsyncCuttingTransport(frames=3)
    http = httpx.AsyncClient(transport=transport)
    async with AsyncLLMChatClient(base_url=api_url, token=client.token, http_client=http) as ac:
        stream = await ac.chat.completions(agent_id="slow", messages=SLOWLY, stream=True)
        chunks = [chunk async for chunk in stream]
    await http.aclose()

    assert transport.cut
    assert_whole_reply_once(chunks)


def test_a_finished_stream_can_be_replayed_from_any_frame(client):
    stream = client.chat.completions(agent_id="slow", messages=SLOWLY, stream=True)
    first = [next(stream), next(stream)]
    stream.close()

    rest = list(client.chat.streams.resume(stream.message_id, last_event_id=first[-1].event_id))
    assert_whole_reply_once(first + rest)


def finished_reply(client) -> tuple[str, int]:
    """A reply read to its end: its message id and its end frame's id."""
    stream = client.chat.completions(agent_id="openai", messages=SLOWLY, stream=True)
    assert stream.until_done() == REPLY_TEXT and stream.finish_reason == "stop"
    return stream.message_id, stream.state.last_event_id


def test_resuming_a_finished_reply_after_its_end_frame_ends_at_once(api_url, client):
    message_id, end_id = finished_reply(client)
    asked: list[str] = []
    hooks = {"request": [lambda request: asked.append(request.url.path)]}
    with LLMChatClient(
        base_url=api_url, token=client.token, http_client=httpx.Client(event_hooks=hooks)
    ) as watched:
        started = time.monotonic()
        rest = list(watched.chat.streams.resume(message_id, last_event_id=end_id))
        took = time.monotonic() - started
    assert rest == [] and took < 1, took
    assert asked == [f"/api/chat/streams/{message_id}"], "asked once: 204 means done"


async def test_the_async_client_takes_204_as_the_end_too(api_url, client):
    message_id, end_id = finished_reply(client)
    asked: list[str] = []

    async def record(request: httpx.Request) -> None:
        asked.append(request.url.path)

    http = httpx.AsyncClient(event_hooks={"request": [record]})
    async with AsyncLLMChatClient(base_url=api_url, token=client.token, http_client=http) as ac:
        started = time.monotonic()
        stream = await ac.chat.streams.resume(message_id, last_event_id=end_id)
        rest = [chunk async for chunk in stream]
        took = time.monotonic() - started
    await http.aclose()
    assert rest == [] and took < 1, took
    assert asked == [f"/api/chat/streams/{message_id}"], "asked once: 204 means done"


def test_a_stream_can_be_cancelled(client):
    with client.chat.completions(agent_id="slow", messages=SLOWLY, stream=True) as stream:
        next(stream)
        cancelled = stream.cancel()
        rest = list(stream)
    assert cancelled.finish_reason == "cancelled"
    assert stream.finish_reason == "cancelled"
    assert len(rest) < 39


# Auth: login keeps the tokens, a 401 refreshes them once, logout forgets them


def test_a_401_refreshes_the_tokens_once_and_retries(api_url, client):
    seen: list[Any] = []
    stale = LLMChatClient(
        base_url=api_url,
        token="not-a-valid-token",
        refresh_token=client.refresh_token,
        on_tokens=seen.append,
    )
    assert stale.agents.get("demo").id == "demo"
    assert len(seen) == 1 and stale.token == seen[0].token != "not-a-valid-token"
    assert stale.chat.completions(agent_id="demo", messages=[{"role": "user", "content": "x"}])


def test_a_revoked_refresh_token_raises_unauthorized(api_url, client):
    refresh_token = client.refresh_token
    client.auth.refresh()  # rotates: the old refresh token is spent
    client.auth.refresh()  # and again: past its grace as a concurrent use
    stale = LLMChatClient(base_url=api_url, token="expired", refresh_token=refresh_token)
    with pytest.raises(UnauthorizedError) as raised:
        stale.agents.list()
    assert raised.value.status == 401 and raised.value.code == "UNAUTHORIZED"
    assert stale.refresh_token is None


def test_logout_ends_the_sign_in(api_url):
    _, client = new_user(api_url)
    token = client.token
    client.logout()
    assert client.token is None
    with pytest.raises(UnauthorizedError):
        LLMChatClient(base_url=api_url, token=token).agents.list()


def test_errors_carry_the_envelope_code_message_and_status(client, api_url):
    with pytest.raises(NotFoundError) as missing:
        client.agents.get("no-such-agent")
    assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
    assert missing.value.message and missing.value.error_type == "NotFoundError"

    with pytest.raises(ValidationError) as invalid:
        client.chat.sessions.save("not-a-uuid", title="t", agent_id="demo")
    assert invalid.value.status == 400

    email, _ = new_user(api_url)
    anonymous = LLMChatClient(base_url=api_url)
    with pytest.raises(RateLimitedError) as limited:
        for _ in range(10):
            with pytest.raises(UnauthorizedError):
                anonymous.login(email, "wrong-password-1")
    assert limited.value.status == 429
    assert limited.value.retry_after is not None and limited.value.retry_after > 0


# Every route group


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """What `read` returns once `done` holds of it: the read models follow the events."""
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_agents(client, admin):
    page = client.agents.list(limit=3, provider="openai")
    assert page.pagination.limit == 3 and len(page.items) == 3
    assert all(agent.provider == "openai" for agent in page.items)
    assert client.agents.get("demo").config.model == "demo-echo"
    assert client.agents.status("openai").reachable is True

    with pytest.raises(ForbiddenError):
        client.agents.update("demo", description="nope")
    updated = admin.agents.update("custom", description="edited by the SDK", max_tokens=256)
    assert (updated.description, updated.config.max_tokens) == ("edited by the SDK", 256)
    assert admin.agents.reload().registered == []


def test_blocking_completion_and_sessions(client):
    reply = client.chat.completions(
        agent_id="openai", messages=[{"role": "user", "content": "hi"}], max_tokens=100
    )
    assert reply.content == REPLY_TEXT and reply.usage.total_tokens > 0

    history = eventually(
        lambda: client.chat.sessions.history(reply.session_id),
        lambda page: len(page.items) == 2 and page.items[1].status != "streaming",
    )
    assert [m.role for m in history.items] == ["user", "assistant"]
    assert history.items[1].content == REPLY_TEXT
    listed = client.chat.sessions.list()
    assert reply.session_id in [s.id for s in listed.items]

    saved_id = "6f1d1f64-0000-4000-8000-" + reply.session_id[-12:]
    saved = client.chat.sessions.save(
        saved_id, title="Saved", agent_id="demo", messages=[{"role": "user", "content": "hello"}]
    )
    assert (saved.id, saved.message_count) == (saved_id, 1)
    client.chat.sessions.delete(saved_id)
    with pytest.raises(NotFoundError):
        client.chat.sessions.history(saved_id)


def test_files_from_a_path_bytes_and_a_file_object(client, tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("hello 你好\n")
    by_path = client.files.upload(path, type="document", description="from a path")
    assert (by_path.original_name, by_path.size) == ("notes.txt", len("hello 你好\n".encode()))
    by_bytes = client.files.upload(b"# Title\n", filename="readme.md")
    by_object = client.files.upload(io.BytesIO(b"plain"), filename="plain.txt")

    assert client.files.get(by_bytes.id).original_name == "readme.md"
    assert client.files.download(by_object) == b"plain"
    assert client.files.download(by_path.id, byte_range=(0, 4)) == b"hello"

    client.files.delete(by_path.id)
    with pytest.raises(NotFoundError):
        client.files.get(by_path.id)


def test_cad_parse_and_preview(client, tmp_path: Path):
    path = tmp_path / "plan.dxf"
    path.write_bytes(to_bytes(simple_drawing()))

    sent = client.cad.parse(path)
    assert [e.type for e in sent.entities] == ["LINE", "CIRCLE"]
    assert sent.entities[0].start_point.y == -1.0 and sent.bounds.max_x == 10.0

    uploaded = client.files.upload(path, type="cad")
    assert client.cad.parse(file_id=uploaded.id).entity_count == 2
    assert client.cad.preview(uploaded.id).lstrip().startswith("<svg")


def test_health_metrics_and_api_keys(client, admin):
    assert client.health().status == "healthy"
    assert admin.health_detailed().checks["database"]["status"] == "healthy"
    with pytest.raises(ForbiddenError):
        client.metrics()
    assert "llmchat_" in admin.metrics()

    created = admin.admin.api_keys.create("sdk-test", role="user")
    assert created.key.startswith("llmk_")
    assert created.id in [k.id for k in admin.admin.api_keys.list(limit=100).items]
    assert admin.admin.api_keys.revoke(created.id).revoked is True


def test_budgets_are_set_read_and_removed_and_a_spent_one_refuses(api_url, admin):
    email = unique_email("sdk-budget")
    with LLMChatClient(base_url=api_url) as client:
        user_id = client.auth.register(email, PASSWORD, "Budgeted").user.id
        client.login(email, PASSWORD)
        budget = admin.admin.budgets.set("user", user_id, period="day", tokens=60)
        assert (budget.scope, budget.id, budget.tokens, budget.cost) == ("user", user_id, 60, None)
        assert budget.left.tokens == 60 and budget.resets_at
        ask = [{"role": "user", "content": "hi"}]
        client.chat.completions(agent_id="openai", messages=ask, max_tokens=40)
        with pytest.raises(RateLimitedError) as refused:
            client.chat.completions(agent_id="openai", messages=ask, max_tokens=40)
        assert refused.value.error_type == "BudgetExceeded" and refused.value.retry_after
        assert refused.value.details["resetsAt"] == budget.resets_at
        assert admin.admin.budgets.get("user", user_id).used.tokens > 0
        admin.admin.budgets.remove("user", user_id)
        with pytest.raises(NotFoundError):
            admin.admin.budgets.get("user", user_id)


def test_users_are_listed_and_changed_and_a_deactivated_one_is_signed_out(api_url, admin):
    email = unique_email("sdk-managed")
    with LLMChatClient(base_url=api_url) as client:
        user_id = client.auth.register(email, PASSWORD, "Managed").user.id
        client.login(email, PASSWORD)
        changed = admin.admin.users.update(user_id, role="enterprise")
        assert (changed.id, changed.role, changed.status) == (user_id, "enterprise", "active")
        with pytest.raises(ValidationError):
            admin.admin.users.update(user_id, role="root")
        with pytest.raises(ForbiddenError):
            client.admin.users.list()
        admin.admin.users.update(user_id, status="deactivated")
        with pytest.raises(UnauthorizedError):
            client.agents.list()  # its refresh is refused too
        deadline = time.monotonic() + 10
        while not (listed := admin.admin.users.list(email=email, status="deactivated").items):
            assert time.monotonic() < deadline, "the users read model did not catch up"
            time.sleep(0.1)
        assert [(u.id, u.email, u.role) for u in listed] == [(user_id, email, "enterprise")]


def test_a_user_is_erased_by_an_administrator_or_by_themselves(api_url, admin):
    with LLMChatClient(base_url=api_url) as client:
        email = unique_email("sdk-erased")
        user_id = client.auth.register(email, PASSWORD, "Erased").user.id
        client.login(email, PASSWORD)
        erased = admin.admin.users.erase(user_id)
        assert (erased.id, erased.status, erased.erased) == (user_id, "deactivated", True)
        with pytest.raises(ConflictError):
            admin.admin.users.erase(user_id)
        with pytest.raises(UnauthorizedError):
            client.agents.list()
    with LLMChatClient(base_url=api_url) as client:
        email = unique_email("sdk-leaving")
        user_id = client.auth.register(email, PASSWORD, "Leaving").user.id
        client.login(email, PASSWORD)
        with pytest.raises(UnauthorizedError):
            client.auth.erase_me("not-my-password")
        assert client.auth.erase_me(PASSWORD).id == user_id
        with pytest.raises((UnauthorizedError, ForbiddenError)):
            client.login(email, PASSWORD)


async def test_the_async_client_erases_users(api_url):
    async with AsyncLLMChatClient(base_url=api_url) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user_id = (await admin.auth.register(unique_email("sdk-erase"), PASSWORD, "E")).user.id
        assert (await admin.admin.users.erase(user_id)).erased
    async with AsyncLLMChatClient(base_url=api_url) as client:
        email = unique_email("sdk-self")
        await client.auth.register(email, PASSWORD, "S")
        await client.login(email, PASSWORD)
        assert (await client.auth.erase_me(PASSWORD)).status == "deactivated"


async def test_the_async_client_changes_users(api_url):
    async with AsyncLLMChatClient(base_url=api_url) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user_id = (await admin.auth.register(unique_email("sdk-async"), PASSWORD, "A")).user.id
        assert (await admin.admin.users.update(user_id, status="deactivated")).status == (
            "deactivated"
        )
        assert (await admin.admin.users.list(limit=1)).pagination.limit == 1


async def test_the_async_client_manages_budgets(api_url):
    async with AsyncLLMChatClient(base_url=api_url) as admin:
        await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        budget = await admin.admin.budgets.set("role", "enterprise", period="month", cost=2.5)
        assert budget.cost == 2.5 and budget.period == "month"
        assert (await admin.admin.budgets.get("role", "enterprise")).left.cost == 2.5
        await admin.admin.budgets.remove("role", "enterprise")


def test_admin_stats_and_audit(api_url, admin):
    email = unique_email("sdk-audited")
    client = LLMChatClient(base_url=api_url)
    user = client.auth.register(email, PASSWORD, "Audited").user
    client.login(email, PASSWORD)

    stats = admin.admin.stats()
    assert stats.users.total >= 2 and "test" in stats.agents.categories
    assert stats.system.environment and stats.system.version

    audit = eventually(
        lambda: admin.admin.audit(user_id=user.id, limit=10),
        lambda page: {"auth.register", "auth.login"} <= {e.action for e in page.items},
    )
    assert {e.action for e in audit.items} >= {"auth.register", "auth.login"}
    assert all(e.user_id == user.id and e.timestamp for e in audit.items)
    verified = admin.admin.verify_audit()
    assert verified.intact and verified.audit_chain.intact and verified.event_chain.intact
    assert verified.event_chain.log_head >= verified.event_chain.verified_to
    with pytest.raises(ForbiddenError):
        client.admin.stats()
    with pytest.raises(ForbiddenError):
        client.admin.verify_audit()


async def test_the_async_client_covers_the_same_routes(api_url):
    email = unique_email("sdk-async")
    async with AsyncLLMChatClient(base_url=api_url) as client:
        await client.auth.register(email, PASSWORD, "Async")
        await client.login(email, PASSWORD)
        assert (await client.agents.get("demo")).id == "demo"
        reply = await client.chat.completions(
            agent_id="demo", messages=[{"role": "user", "content": "hello"}]
        )
        assert "hello" in reply.content
        stream = await client.chat.completions(
            agent_id="openai", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        assert await stream.until_done() == REPLY_TEXT
        uploaded = await client.files.upload(b"async", filename="a.txt")
        assert await client.files.download(uploaded) == b"async"
        results = await asyncio.gather(*(client.agents.list() for _ in range(3)))
        assert all(page.pagination.total == results[0].pagination.total for page in results)


# The SSE decoder, on its own


FRAMES = (
    b": keep-alive\n\n"
    + 'id: 2\nevent: chunk\ndata: {"content":"你好 \u2028 🚀"}\n\n'.encode()
    + b'id: 3\r\nevent: end\r\ndata: {"type":"end"}\r\n\r\n'
    + b"id: 4\revent: chunk\rdata: a\rdata: b\r\r"
    + b"id: 5\nevent: chunk\ndata: torn"
)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(FRAMES)])
def test_the_sse_decoder_handles_any_split_of_the_bytes(size):
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(FRAMES), size):
        events += decoder.feed(FRAMES[start : start + size])

    assert [(e.id, e.event) for e in events] == [("2", "chunk"), ("3", "end"), ("4", "chunk")]
    assert json.loads(events[0].data)["content"] == "你好 \u2028 🚀"
    assert events[2].data == "a\nb"
