"""Reads: one page of history from a 1,000-message conversation, and GET /api/agents.

Run: .venv/bin/python -m bench.reads [--requests 500]
"""

import argparse
import asyncio
import time
import uuid

import httpx

from bench.harness import percentile, stack
from bench.report import record


async def timed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], count: int
) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times


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


async def main(requests: int) -> None:
    with stack() as running:
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
            history = await timed(client, page, auth, requests)
            middle = f"/api/chat/sessions/{session_id}/history?limit=50&page=10"
            deep = await timed(client, middle, auth, requests)
            agents = await throughput(client, "/api/agents", auth, 5)
    table = "\n".join(
        [
            "| read | p50 ms | p99 ms |",
            "|---|---|---|",
            f"| newest page (50) of a 1,000-message history | {percentile(history, 50) * 1000:.2f} | "
            f"{percentile(history, 99) * 1000:.2f} |",
            f"| page 10 of the same | {percentile(deep, 50) * 1000:.2f} | {percentile(deep, 99) * 1000:.2f} |",
            "",
            f"`GET /api/agents`: **{agents:,.0f} requests/s** (16 concurrent clients, 5 s).",
            "",
            "Times are measured at the client over loopback, so they include HTTP and auth, not only the"
            " server's query (target: server time p99 ≤ 5 ms).",
        ]
    )
    print(table)
    record("Reads", f"python -m bench.reads --requests {requests}", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    asyncio.run(main(parser.parse_args().requests))
