"""Streaming overhead: the same streamed chats straight to the fake provider and through LLMChat.

Run: .venv/bin/python -m bench.streaming [--rounds 3] [--root TREE]
Both paths are measured in one run, alternating, so the shared machine's noise hits both.
(`--root`: serve another checkout of this repository, to measure it before a change with the
same load generator.)
LLMChat runs as deployed for load: `llmchat serve --no-workers` plus one `llmchat worker`
applying the projections, on the same two cores (the worker's CPU still competes; its GIL
does not hold up the API's event loop, as projection threads inside the server would).

Each concurrent stream has a keep-alive connection of its own, as that many clients would.
One shared httpx pool of that many connections measured the pool, not the server: a request
could wait there 1.5 s before its first byte was sent (httpcore's trace), which made most of
the p99 at concurrency 50, and a connection left idle there past the server's keep-alive
timeout was now and then reused as the server closed it (httpx.ReadError).
"""

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Stack, median, percentile, run_by, stack, tree_option
from bench.report import record

BODY = {"messages": [{"role": "user", "content": "benchmark me"}], "stream": True}


@dataclass
class Run:
    first_chunk: list[float] = field(default_factory=list)
    full: list[float] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)
    wall: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.full) / self.wall


async def one_stream(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    marker: str,
    run: Run,
) -> None:
    started = time.perf_counter()
    first = None
    count = 0
    async with client.stream("POST", url, json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith(marker):
                count += 1
                if first is None:
                    first = time.perf_counter() - started
    run.first_chunk.append(first or 0.0)
    run.full.append(time.perf_counter() - started)
    run.chunks.append(count)


async def load(target: str, stack_: Stack, concurrency: int, streams: int) -> Run:
    if target == "direct":
        url = stack_.fake.endpoint("openai") + "/chat/completions"
        body = {**BODY, "model": "gpt;chunks=32", "stream_options": {"include_usage": True}}
        headers = {"Authorization": "Bearer sk-bench"}
        marker = 'data: {"id"'
    else:
        url = stack_.server.base_url + "/api/chat/completions"
        body = {**BODY, "agentId": "bench"}
        headers = stack_.auth
        marker = "event: chunk"
    run = Run()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(streams):
        queue.put_nowait(n)
    warm = asyncio.Barrier(concurrency + 1)

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            await one_stream(client, url, body, headers, marker, Run())  # its connection
            await warm.wait()
            while not queue.empty():
                queue.get_nowait()
                await one_stream(client, url, body, headers, marker, run)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await warm.wait()
    started = time.perf_counter()
    await asyncio.gather(*workers)
    run.wall = time.perf_counter() - started
    return run


def ms(value: float) -> str:
    return f"{value * 1000:.2f}"


async def main(rounds: int, root: Path) -> None:
    rows = []
    with stack(worker=True, root=root) as stack_:
        for concurrency, streams in ((1, 200), (50, 1000)):
            runs: dict[str, list[Run]] = {"direct": [], "llmchat": []}
            for _ in range(rounds):
                for target in ("direct", "llmchat"):
                    runs[target].append(await load(target, stack_, concurrency, streams))
            for target, measured in runs.items():
                first = [v for r in measured for v in r.first_chunk]
                full = [v for r in measured for v in r.full]
                rate = median([r.per_second for r in measured])
                chunks = {c for r in measured for c in r.chunks}
                rows.append((concurrency, target, first, full, rate, chunks))
    columns = ["concurrency", "path", "TTFC p50 ms", "TTFC p99 ms", "stream p50 ms"]
    columns += ["stream p99 ms", "streams/s", "frames/stream"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for concurrency, target, first, full, rate, chunks in rows:
        cells = [str(concurrency), target, ms(percentile(first, 50)), ms(percentile(first, 99))]
        cells += [
            ms(percentile(full, 50)),
            ms(percentile(full, 99)),
            f"{rate:.1f}",
            str(sorted(chunks)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    by = {(c, t): (first, rate) for c, t, first, _, rate, _ in rows}
    added = percentile(by[(1, "llmchat")][0], 50) - percentile(by[(1, "direct")][0], 50)
    lines.append("")
    rate = by[(50, "llmchat")][1]
    added_ms = f"{added * 1000:.2f}"
    lines.append(f"Added time to first chunk, concurrency 1, p50: **{added_ms} ms** (target ≤ 3).")
    lines.append(f"Streams/s through LLMChat at concurrency 50: **{rate:.1f}** (target ≥ 100).")
    table = "\n".join(lines)
    print(table)
    command, title = run_by(
        f"python -m bench.streaming --rounds {rounds}", "Streaming overhead", root
    )
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    tree_option(parser)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.root))
