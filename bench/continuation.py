"""The added cost of a continuation: how long the client waits at the seam, from the last
frame before the provider broke off to the first frame of the continuation.

Run: .venv/bin/python -m bench.continuation [--runs 20]
One server (with its projections) and the fake provider in a process of its own. The agent
`broken` cuts its stream after 8 of 32 pieces, every time; asked once more it continues,
and cuts again 8 pieces further; its fallback `steady` then continues to the end. So each
reply has two seams: the same agent asked again, and a fallback asked. Pieces come every
10 ms. Beside it, `steady`'s time to first frame for a new reply: what any new request to
the provider costs, which a continuation is.
"""

import argparse
import itertools
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import bench_agent, database, median, percentile
from bench.report import record
from tests.fake_provider import REPLY_TEXT, FakeProviderProcess, reply_pieces
from tests.support.server import ServerProcess
from tests.support.sse import events

PIECES = reply_pieces(32)
SEAMS = (len("".join(PIECES[:8])), len("".join(PIECES[:16])))


def timed_frames(
    http: httpx.Client, auth: dict[str, str], agent_id: str
) -> list[tuple[float, int]]:
    """(seconds since the request, text length so far) at each chunk frame."""
    body = {"agentId": agent_id, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    started, length, seen = time.perf_counter(), 0, []
    with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
        for frame in events(response):
            if frame.event == "chunk":
                length += len(frame.data["content"])
                seen.append((time.perf_counter() - started, length))
            elif frame.event == "end":
                assert frame.data["finishReason"] == "stop" and length == len(REPLY_TEXT)
                assert frame.data["continuations"] == 2, frame.data
            else:
                raise AssertionError(frame)
    return seen


def seam_gaps(frames: list[tuple[float, int]]) -> list[float]:
    gaps = []
    for seam in SEAMS:
        [before] = [t for t, length in frames if length == seam]
        after = min(t for t, length in frames if length > seam)
        gaps.append(after - before)
    return gaps


def paced_gaps(frames: list[tuple[float, int]]) -> list[float]:
    """The waits between frames away from the seams."""
    return [
        later[0] - earlier[0]
        for earlier, later in itertools.pairwise(frames)
        if earlier[1] not in SEAMS
    ]


def first_frame(http: httpx.Client, auth: dict[str, str]) -> float:
    body = {"agentId": "steady", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    started = time.perf_counter()
    with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
        for frame in events(response):
            if frame.event == "chunk":
                return time.perf_counter() - started
    raise AssertionError("no chunk")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    with FakeProviderProcess() as fake, database() as url, tempfile.TemporaryDirectory() as tmp:
        agents_file = Path(tmp) / "agents.json"
        steady, broken = "gpt;interval=0.01", "gpt;interval=0.01;fault-cut;cut_after=8"
        document = {
            "agents": [
                bench_agent(fake, "steady", steady),
                bench_agent(fake, "broken", broken, ["steady"]),
            ]
        }
        agents_file.write_text(json.dumps(document))
        env = {
            "LLMCHAT_DATABASE_URL": url,
            "LLMCHAT_DATA_DIR": tmp,
            "LLMCHAT_AGENTS_FILE": str(agents_file),
            "LLMCHAT_JWT_SECRET": "bench-secret-" + "b" * 40,
            "LLMCHAT_LOG_LEVEL": "ERROR",
            "LLMCHAT_RATE_LIMIT_USER": "100000000",
        }
        server = ServerProcess(env, args=())
        server.start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
                account = {"email": email, "password": "bench-password", "name": "B"}
                http.post("/api/auth/register", json=account)
                login = http.post("/api/auth/login", json=account)
                auth = {"Authorization": f"Bearer {login.json()['data']['token']}"}
                timed_frames(http, auth, "broken")  # warm up
                same, other, fresh, paced = [], [], [], []
                for _ in range(runs):
                    frames = timed_frames(http, auth, "broken")
                    paced += paced_gaps(frames)
                    again, fallback = seam_gaps(frames)
                    same.append(again)
                    other.append(fallback)
                    fresh.append(first_frame(http, auth))
        finally:
            server.stop()

    def row(name: str, values: list[float]) -> str:
        p50, p99 = median(values) * 1000, percentile(values, 99) * 1000
        return f"| {name} | {p50:.1f} | {p99:.1f} |"

    table = "\n".join(
        [
            f"{runs} replies, each continued twice; milliseconds.\n",
            "| wait at the client | p50 | p99 |",
            "|---|---|---|",
            row("seam: the same agent asked again", same),
            row("seam: the fallback asked", other),
            row("a new reply's first frame (same provider)", fresh),
            row("between two frames away from the seams (the provider's pace)", paced),
        ]
    )
    print(table)
    record("Continuation: the wait at the seam", "python -m bench.continuation", table)


if __name__ == "__main__":
    main()
