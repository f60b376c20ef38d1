"""Memory: RSS of one API process holding 1,000 idle SSE subscribers.

Run: .venv/bin/python -m bench.memory [--subscribers 1000]
Each subscriber follows a reply whose provider went quiet (it never ends while we measure).
The API process runs as deployed beside a worker (`serve --no-workers`); the worker projects.
"""

import argparse
import asyncio
from pathlib import Path

import httpx
import psutil

from bench.harness import installed_option, run_by, stack, tree_option
from bench.report import record
from tests.support.server import LLMCHAT

STALLED = "gpt;fault-stall;cut_after=2;delay=120"


async def subscribe(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], ready: asyncio.Event
) -> None:
    async with client.stream("GET", url, headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                ready.set()


async def main(subscribers: int, root: Path, llmchat: list[str] | None) -> None:
    # An API process as deployed beside `llmchat worker`: `serve --no-workers`.
    with stack(model=STALLED, worker=True, root=root, command=llmchat or LLMCHAT) as running:
        process = psutil.Process(running.server.process.pid if running.server.process else 0)
        base, auth = running.server.base_url, running.auth
        limits = httpx.Limits(max_connections=subscribers + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as client:
            body = {
                "agentId": "bench",
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            }
            message_id = None
            async with client.stream(
                "POST", "/api/chat/completions", headers=auth, json=body
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data:") and "messageId" in line:
                        message_id = line.split('"messageId":"')[1].split('"')[0]
                        break
            assert message_id
            before = process.memory_info().rss
            url = f"/api/chat/streams/{message_id}"
            events = [asyncio.Event() for _ in range(subscribers)]
            tasks = [asyncio.create_task(subscribe(client, url, auth, e)) for e in events]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
            await asyncio.sleep(2)
            during = process.memory_info().rss
            connections = len(process.net_connections(kind="tcp"))
            for task in tasks:
                task.cancel()
    mib = 1024 * 1024
    table = "\n".join(
        [
            "| subscribers | RSS before MiB | RSS with subscribers MiB | per subscriber KiB | server TCP connections |",
            "|---|---|---|---|---|",
            f"| {subscribers} | {before / mib:.1f} | {during / mib:.1f} | "
            f"{(during - before) / subscribers / 1024:.1f} | {connections} |",
            "",
            f"RSS of the API process with {subscribers} idle SSE subscribers:"
            f" **{during / 1e6:.0f} MB** ({during / mib:.0f} MiB; target ≤ 150 MB).",
        ]
    )
    print(table)
    line = f"python -m bench.memory --subscribers {subscribers}"
    line += f" --llmchat {llmchat[0]}" if llmchat else ""
    command, title = run_by(line, "Memory", root)
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    tree_option(parser)
    installed_option(parser)
    parser.add_argument("--subscribers", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.root, args.llmchat))
