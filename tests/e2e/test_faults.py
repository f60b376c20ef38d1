"""Outages under traffic: the database or Redis goes away and comes back.

The servers reach PostgreSQL and Redis through a proxy the test can cut, which is an outage
as the server sees it, without stopping the services other tests use.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.e2e.chat_fixtures import agent, agents_document
from tests.support.builders import signed_in
from tests.support.server import ServerProcess
from tests.support.sse import Event, events
from tests.support.tcp_proxy import TcpProxy

PASSWORD = "fault-password-1"


def proxied(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl()


def wait_healthy(http: httpx.Client, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if http.get("/health", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def grows(items: list[str], within: float, beyond: int = 0) -> bool:
    """Whether another thread appends to ``items`` past ``beyond`` within the time."""
    deadline = time.monotonic() + within
    while len(items) <= beyond:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def database_behind_proxy(chat_env):
    url = urlsplit(chat_env["LLMCHAT_DATABASE_URL"])
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    yield proxy
    proxy.close()


def test_a_database_outage_gives_503s_then_recovers_and_loses_nothing_acknowledged(
    chat_env, database_behind_proxy
):
    proxy = database_behind_proxy
    env = {**chat_env, "LLMCHAT_DATABASE_URL": proxied(chat_env["LLMCHAT_DATABASE_URL"], proxy)}
    server = ServerProcess(env, args=())
    server.start()
    acknowledged: list[str] = []
    statuses: list[int] = []
    unexpected: list[str] = []  # checked by the test: an assert in the thread only warns
    stop = threading.Event()

    def traffic() -> None:
        try:
            register_until_stopped()
        except Exception as error:  # reported by the test, on its own thread
            unexpected.append(repr(error))

    def register_until_stopped() -> None:
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            while not stop.is_set():
                email = f"fault-{uuid.uuid4().hex[:10]}@example.com"
                body = {"email": email, "password": PASSWORD, "name": "F"}
                try:
                    response = http.post("/api/auth/register", json=body)
                except httpx.HTTPError:
                    continue
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.append(email)
                elif response.status_code != 503 or "SERVICE_UNAVAILABLE" not in response.text:
                    unexpected.append(f"{response.status_code}: {response.text}")

    worker = threading.Thread(target=traffic)
    try:
        worker.start()
        assert grows(acknowledged, within=30, beyond=2), "a few registrations before the cut"
        proxy.cut()
        time.sleep(4.0)
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            down = http.get("/health")
            assert down.status_code == 503 and down.json()["status"] == "unhealthy"
        proxy.restore()
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            recovered = len(acknowledged)
            assert wait_healthy(http, 30), "the server recovers by itself"
            assert grows(acknowledged, within=30, beyond=recovered), "and registers again"
            stop.set()
            worker.join(30)
            assert not worker.is_alive()
            assert unexpected == [], "only 503 SERVICE_UNAVAILABLE while the database is away"
            assert 503 in statuses, "requests during the outage were refused with 503"
            assert statuses.count(200) > 2
            for email in acknowledged:
                login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
                assert login.status_code == 200, f"{email} was acknowledged, then lost"
    finally:
        stop.set()
        proxy.restore()
        server.stop()


@pytest.fixture
def redis_behind_proxy():
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield proxy
    proxy.close()


def test_with_redis_gone_streams_complete_are_durable_and_resume_elsewhere(
    chat_env, redis_behind_proxy
):
    proxy = redis_behind_proxy
    redis_url = f"redis://127.0.0.1:{proxy.port}/0"
    env = {**chat_env, "LLMCHAT_REDIS_URL": redis_url}
    first, second = ServerProcess(env, args=()), ServerProcess(env)
    first.start()
    second.start()
    try:
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            email = f"redis-{uuid.uuid4().hex[:8]}@example.com"
            http.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "R"}
            )
            token = http.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            ).json()["data"]["token"]
            auth = {"Authorization": f"Bearer {token}"}
            proxy.cut()
            body = {
                "agentId": "slow",
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
            }
            received = []
            with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
                assert response.status_code == 200
                for frame in events(response):
                    received.append(frame)
                    if len(received) == 3:
                        break
        message_id = received[0].data["messageId"]
        # Resume on the other instance: no Redis signal reaches it, so it follows the store.
        with (
            httpx.Client(base_url=second.base_url, timeout=30) as other,
            other.stream(
                "GET",
                f"/api/chat/streams/{message_id}",
                headers={**auth, "Last-Event-ID": str(received[-1].id)},
            ) as response,
        ):
            rest = list(events(response))
        assert rest[-1].event == "end" and rest[-1].data["finishReason"] == "stop"
        frames = received + rest
        assert [f.id for f in frames] == sorted({f.id for f in frames})
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            health = http.get("/health").json()
            assert health["status"] == "degraded" and health["services"]["redis"] == "disconnected"
            blocking = {**body, "stream": False}
            done = http.post("/api/chat/completions", headers=auth, json=blocking)
            assert done.status_code == 200, "chat works without Redis"
    finally:
        proxy.restore()
        first.stop()
        second.stop()


# A paced reply outlasts the outage; a brief one ends while the database is away, so its
# close is what has to wait for the database.
PACED_AGENTS = {"paced": "gpt;interval=0.1;chunks=80", "brief": "gpt;interval=0.1;chunks=25"}
STREAMING_CLIENTS = 10
OUTAGE_SECONDS = 5.0
ENDS_WITHIN_SECONDS = 30.0


@dataclass
class Followed:
    """What one streaming client saw: its frames, and when each came."""

    frames: list[Event] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    failure: str | None = None

    @property
    def final(self) -> Event | None:
        return self.frames[-1] if self.frames and self.frames[-1].event != "chunk" else None

    def text_before(self, moment: float) -> str:
        return "".join(
            f.data["content"]
            for f, at in zip(self.frames, self.times, strict=True)
            if f.event == "chunk" and at < moment
        )


@pytest.fixture(scope="module")
def paced_env(chat_env, fake, tmp_path_factory):
    """chat_env, with agents whose replies are still streaming when the database goes."""
    document = agents_document(fake)
    document["agents"] += [
        agent(name, "openai", fake.endpoint("openai"), model)
        for name, model in PACED_AGENTS.items()
    ]
    path = tmp_path_factory.mktemp("paced") / "agents.json"
    path.write_text(json.dumps(document))
    return {**chat_env, "LLMCHAT_AGENTS_FILE": str(path)}


@pytest.fixture(scope="module")
def proxied_server(paced_env):
    url = urlsplit(paced_env["LLMCHAT_DATABASE_URL"])
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    server = ServerProcess({**paced_env, "LLMCHAT_DATABASE_URL": proxied(url.geturl(), proxy)}, ())
    server.start()
    yield server, proxy
    proxy.close()
    server.stop()


def follow(
    base_url: str,
    auth: dict[str, str],
    agent_id: str,
    seen: Followed,
    streaming: threading.Semaphore,
) -> None:
    body = {"agentId": agent_id, "stream": True, "messages": [{"role": "user", "content": "go"}]}
    try:
        # Longer than a keep-alive's 15 s: a stream that only keeps alive is still open.
        with (
            httpx.Client(base_url=base_url, timeout=60) as http,
            http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response,
        ):
            if response.status_code != 200:
                seen.failure = f"{response.status_code}: {response.read()!r}"
                return
            for frame in events(response):
                seen.frames.append(frame)
                seen.times.append(time.monotonic())
                if len(seen.frames) == 2:
                    streaming.release()
    except Exception as error:  # reported by the test, on its own thread
        seen.failure = repr(error)
    finally:
        if len(seen.frames) < 2:
            streaming.release()


def settled_reply(http: httpx.Client, auth: dict[str, str], session_id: str, within: float):
    """The session's assistant message once the read model shows it ended (or the last seen)."""
    deadline = time.monotonic() + within
    while True:
        answer = http.get(f"/api/chat/sessions/{session_id}/history", headers=auth)
        assert answer.status_code == 200, answer.text
        items = answer.json()["data"]["items"]
        replies = [m for m in items if m["role"] == "assistant"]
        if (replies and replies[-1]["status"] != "streaming") or time.monotonic() > deadline:
            return replies[-1] if replies else None
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(5))
def test_every_stream_ends_after_a_database_outage_and_keeps_what_it_acknowledged(
    proxied_server, round_
):
    server, proxy = proxied_server
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert wait_healthy(http, 30)
        _, auth = signed_in(http)
    seen = [Followed() for _ in range(STREAMING_CLIENTS)]
    streaming = threading.Semaphore(0)
    clients = [
        threading.Thread(
            target=follow,
            args=(server.base_url, auth, "paced" if i % 2 else "brief", seen[i], streaming),
            daemon=True,
        )
        for i in range(STREAMING_CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        for _ in clients:
            assert streaming.acquire(timeout=30), "every client is streaming before the cut"
        proxy.cut()
        cut_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
    finally:
        proxy.restore()
    back_at = time.monotonic()
    for client in clients:
        client.join(timeout=max(0.0, back_at + ENDS_WITHIN_SECONDS + 5 - time.monotonic()))
    assert [s.failure for s in seen] == [None] * STREAMING_CLIENTS
    for index, followed in enumerate(seen):
        final = followed.final
        assert final is not None and final.event in ("end", "error"), f"client {index} hangs"
        ended_after = followed.times[-1] - back_at
        assert ended_after <= ENDS_WITHIN_SECONDS, f"client {index} ended {ended_after:.1f}s late"
        ids = [f.id for f in followed.frames]
        assert ids == sorted(set(ids)), "frames come once each, in order"
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for index, followed in enumerate(seen):
            session_id = followed.frames[0].data["sessionId"]
            reply = settled_reply(http, auth, session_id, within=15)
            assert reply is not None and reply["status"] != "streaming", f"client {index}"
            acknowledged = followed.text_before(cut_at)
            assert acknowledged, f"client {index} had text before the cut"
            assert reply["content"].startswith(acknowledged), "nothing acknowledged is lost"
            assert reply["content"].startswith(followed.text_before(float("inf")))
            turn = {
                "agentId": "openai",
                "sessionId": session_id,
                "messages": [{"role": "user", "content": "and then?"}],
            }
            again = http.post("/api/chat/completions", headers=auth, json=turn)
            assert again.status_code == 200, f"client {index}: {again.text}"
