"""Reads: one page of history from a 1,000-message conversation, and GET /api/agents.

Run: .venv/bin/python -m bench.reads [--requests 500]
Server time is what the API process reports in each answer's Server-Timing header: from
the request reaching its middleware to its answer starting (rate limit, authentication,
the query and the JSON included; the network and the HTTP parser not).
"""

import argparse
import asyncio
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import percentile, run_by, stack, tree_option
from bench.report import record


async def timed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], count: int
) -> tuple[list[float], list[float]]:
    """Seconds at the client and at the server, per request."""
    client_times, server_times = [], []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        client_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        server_times.append(server_seconds(response))
    return client_times, server_times


def server_seconds(response: httpx.Response) -> float:
    timing = response.headers["server-timing"]  # app;dur=<ms>
    return float(timing.split("dur=")[1]) / 1000


async def throughput(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], seconds: float
) -> float:
    done = 0
    until = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < until:
            await client.get(url, headers=headers)
            done += 1

    await asyncio.gather(*(loop() for _ in range(16)))
    return done / seconds


async def main(requests: int, root: Path) -> None:
    with stack(worker=True, root=root) as running:
        base, auth = running.server.base_url, running.auth
        session_id = str(uuid.uuid4())
        messages = [
            {
                "role": "user" if n % 2 == 0 else "assistant",
                "content": f"message {n} " + "words " * 20,
            }
            for n in range(1000)
        ]
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            saved = await client.post(
                "/api/chat/sessions/save",
                headers=auth,
                json={
                    "sessionId": session_id,
                    "title": "long",
                    "agentId": "bench",
                    "messages": messages,
                },
            )
            assert saved.status_code == 200, saved.text
            page = f"/api/chat/sessions/{session_id}/history?limit=50"
            while (await client.get(page, headers=auth)).json()["data"]["pagination"][
                "total"
            ] < 1000:
                await asyncio.sleep(0.1)
            await timed(client, page, auth, 50)
            newest = await timed(client, page, auth, requests)
            middle = f"/api/chat/sessions/{session_id}/history?limit=50&page=10"
            deep = await timed(client, middle, auth, requests)
            agents = await throughput(client, "/api/agents", auth, 5)
    rows = [("newest page (50) of a 1,000-message history", newest), ("page 10 of the same", deep)]
    table = "\n".join(
        [
            "| read | server p50 ms | server p99 ms | client p50 ms | client p99 ms |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {ms(server, 50)} | {ms(server, 99)} | {ms(seen, 50)} | {ms(seen, 99)} |"
                for name, (seen, server) in rows
            ),
            "",
            f"History page, server time p99: **{ms(newest[1], 99)} ms** (newest page) and"
            f" **{ms(deep[1], 99)} ms** (page 10); target ≤ 5 ms.",
            f"`GET /api/agents`: **{agents:,.0f} requests/s** (16 concurrent clients, 5 s).",
        ]
    )
    print(table)
    command, title = run_by(f"python -m bench.reads --requests {requests}", "Reads", root)
    record(title, command, table)


def ms(seconds: list[float], q: float) -> str:
    return f"{percentile(seconds, q) * 1000:.2f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    tree_option(parser)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.root))
