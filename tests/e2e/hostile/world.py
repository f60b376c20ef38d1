"""The server under attack, what it already holds (users, sessions, files, keys), and the
check run after every hostile request: no 5xx, and the projections still advance."""

import collections
import itertools
import json
import time
from collections.abc import Mapping

import httpx
import psycopg

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.hostile.wire import Request, file_upload
from tests.support.builders import PASSWORD, login, register
from tests.support.server import ServerProcess

# A chat made after a hostile request must be listed within this long.
PROBE_SECONDS = 5.0
PROBE_AGENT = "probe"
EDITABLE_AGENT = "editable"
# Agents that answer (the fake provider's well-behaved ones and the local demo): a hostile
# request to these must not get a 5xx. The fake's deliberately failing agents answer 502 or
# 503 by design, and are left out of the fuzzing.
HEALTHY_AGENTS = ("demo", "openai", "anthropic", "fastgpt", "dify", "custom")


class World:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.db_url = server.env["LLMCHAT_DATABASE_URL"]
        self.jwt_secret = server.env["LLMCHAT_JWT_SECRET"]
        self.client = httpx.Client(base_url=server.base_url, timeout=60)
        self.counter = itertools.count()
        self.addresses = itertools.count(1)
        self.admin = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.probe_user = self.new_user("probe")
        self.attacker = self.new_user("attacker")
        self.bystander = self.new_user("bystander")
        self.target_email = self.unique_email("target")
        register(self.client, self.target_email)
        self.database = psycopg.connect(self.db_url, autocommit=True)
        self.cases = 0
        self.statuses: collections.Counter[int] = collections.Counter()

    def close(self) -> None:
        self.client.close()
        self.database.close()

    # Who is asking ----------------------------------------------------------------------

    def unique_email(self, prefix: str = "hostile") -> str:
        return f"{prefix}-{next(self.counter)}@example.com"

    def sign_in(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {login(self.client, email, password)['token']}"}

    def new_user(self, prefix: str) -> dict[str, str]:
        email = self.unique_email(prefix)
        register(self.client, email)
        return self.sign_in(email)

    def fresh_tokens(self) -> dict[str, str]:
        """A sign-in of its own (access and refresh token), for requests that end it."""
        email = self.unique_email("session")
        register(self.client, email)
        return login(self.client, email)

    def next_address(self) -> str:
        """A client address of its own (the server trusts this client as a proxy), so the
        sign-in throttle per address does not turn every later case into a 429."""
        n = next(self.addresses)
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    # What the server holds --------------------------------------------------------------

    def chat(self, headers: Mapping[str, str], agent: str = "demo") -> dict[str, str]:
        body = {"agentId": agent, "messages": [{"role": "user", "content": "hello"}]}
        answer = self.client.post("/api/chat/completions", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        return {"sessionId": data["sessionId"], "messageId": data["id"]}

    def fresh_session(self, headers: Mapping[str, str] | None = None) -> dict[str, str]:
        return self.chat(headers or self.attacker)

    def running_reply(self) -> str:
        """The message id of a reply still streaming (the `slow` agent takes ~2 s); the
        request is closed after its first frame, and the reply runs on in the server."""
        body = {
            "agentId": "slow",
            "stream": True,
            "messages": [{"role": "user", "content": "go on"}],
        }
        with self.client.stream(
            "POST", "/api/chat/completions", json=body, headers=self.attacker
        ) as answer:
            assert answer.status_code == 200
            for line in answer.iter_lines():
                if line.startswith("data:"):
                    message_id: str = json.loads(line[5:])["messageId"]
                    return message_id
        raise AssertionError("the slow reply sent no frame")

    def upload(self, name: str, content: bytes, headers: Mapping[str, str] | None = None) -> str:
        answer = self.client.post(
            "/api/upload", files={"file": (name, content)}, headers=headers or self.attacker
        )
        assert answer.status_code == 200, answer.text
        file_id: str = answer.json()["data"]["id"]
        return file_id

    def upload_or_none(self, name: str, content: bytes) -> str | None:
        """Upload hostile bytes (checked as any hostile request is); the file's id, or None
        if the upload was refused."""
        answer = self.attempt(file_upload("/api/upload", name, content, self.attacker))
        return str(answer.json()["data"]["id"]) if answer.status_code == 200 else None

    def fresh_user(self) -> str:
        """An account of its own, for changes that would end another case's sign-in."""
        user_id: str = register(self.client, self.unique_email("administered"))["id"]
        return user_id

    def fresh_api_key(self) -> str:
        answer = self.client.post("/api/admin/api-keys", json={"name": "k"}, headers=self.admin)
        assert answer.status_code == 200, answer.text
        key_id: str = answer.json()["data"]["id"]
        return key_id

    # The attack and the check -----------------------------------------------------------

    def send(self, request: Request) -> httpx.Response:
        return self.client.request(
            request.method,
            request.path,
            content=request.content,
            headers=[
                (name.encode(), value if isinstance(value, bytes) else value.encode("latin-1"))
                for name, value in request.headers.items()
            ],
            params=request.query or None,
        )

    def attempt(self, request: Request) -> httpx.Response:
        """Send it; it must not get a 5xx, and the projections must still advance after it."""
        self.cases += 1
        answer = self.send(request)
        self.statuses[answer.status_code] += 1
        assert answer.status_code < 500, (
            f"{answer.status_code} for {request.describe()}\n{answer.text[:2000]}"
            f"\nserver log:\n{self.log_tail()}"
        )
        self.assert_projections_advance(request.describe())
        return answer

    def assert_projections_advance(self, after: str) -> None:
        """A chat made now is listed in its owner's sessions within PROBE_SECONDS, every
        projection reaches the log's head as it stood after that chat, and no event was
        quarantined on the way: the runner would go on past one, but an event a projection
        cannot apply is outside text the edge let into the log unsanitised."""
        made = self.chat(self.probe_user, PROBE_AGENT)["sessionId"]
        head = self.log_head()
        deadline = time.monotonic() + PROBE_SECONDS
        while True:
            listed = self.listed_sessions()
            behind = self.projections_behind(head)
            if made in listed and not behind:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"projections stopped after {after}\n"
                    f"probe session listed: {made in listed}; behind head {head}: {behind}"
                    f"\nserver log:\n{self.log_tail()}"
                )
            time.sleep(0.02)
        quarantined = self.quarantined()
        assert not quarantined, f"quarantined after {after}: {quarantined}"

    def quarantined(self) -> list[tuple[str, str, str]]:
        """(projection, event type, error) of each quarantined event."""
        rows = self.database.execute(
            "SELECT name, event_type, left(error, 300) FROM llmchat_projection_quarantine"
            " ORDER BY position"
        ).fetchall()
        return [(str(name), str(kind), str(error)) for name, kind, error in rows]

    def listed_sessions(self) -> list[str]:
        answer = self.client.get("/api/chat/sessions", params={"limit": 1}, headers=self.probe_user)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["data"]["items"]]

    def log_head(self) -> int:
        row = self.database.execute(
            "SELECT COALESCE(MAX(notification_id), 0) FROM llmchat_events"
        ).fetchone()
        return int(row[0]) if row else 0

    def projections_behind(self, head: int) -> dict[str, int]:
        rows = self.database.execute(
            "SELECT name, position FROM llmchat_projection_positions WHERE position < %s",
            (head,),
        ).fetchall()
        return {str(name): int(position) for name, position in rows}

    def log_tail(self, lines: int = 30) -> str:
        """The server's last distinct error lines (the projections repeat theirs each second)."""
        wanted = [line for line in self.server.log().splitlines() if "Error" in line]
        distinct = list(dict.fromkeys(line.split(" ", 2)[-1] for line in wanted))
        return "\n".join(distinct[-lines:])
