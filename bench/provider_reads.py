"""What reading a provider's stream costs the API's process, per delta: the same paced
event streams read through each way the provider client has had, side by side.

Run: .venv/bin/python -m bench.provider_reads [--rounds 5] [--streams 256]
A server in a process of its own answers each POST with a chunked event stream of 64
deltas 20 ms apart, one chunk each, as providers send them; the client (on uvloop, as the
server runs) reads `--streams` of them at once with httpx2's `aiter_bytes`, as the adapters
do, and its CPU time over the round (each stream's request and head included) divided by
the deltas read is the figure. The ways
alternate within each round: httpx2's own (h11 over anyio), asyncio sockets with h11
(b6fd5b9), and asyncio sockets with httptools (main).
"""

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import httpx2
import uvloop

from bench.harness import median
from bench.report import record
from infrastructure.providers.http import on_asyncio_sockets
from infrastructure.providers.network import AsyncioBackend

DELTAS, PACE = 64, 0.02
DELTA = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}\n\n'
)
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


async def serve(port: int) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(HEAD)
                for _ in range(DELTAS):
                    await asyncio.sleep(PACE)
                    writer.write(b"%x\r\n%s\r\n" % (len(DELTA), DELTA))
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def httpx2_own() -> httpx2.AsyncClient:
    return _client()


def asyncio_sockets_h11() -> httpx2.AsyncClient:
    client = _client()
    client._transport._pool._network_backend = AsyncioBackend()  # type: ignore[attr-defined]
    return client


def asyncio_sockets_httptools() -> httpx2.AsyncClient:
    return on_asyncio_sockets(_client(), AsyncioBackend())


def _client() -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=2048, max_keepalive_connections=2048)
    return httpx2.AsyncClient(trust_env=False, limits=limits, timeout=30)


WAYS: dict[str, Callable[[], httpx2.AsyncClient]] = {
    "httpx2's own (h11, anyio)": httpx2_own,
    "asyncio sockets, h11 (b6fd5b9)": asyncio_sockets_h11,
    "asyncio sockets, httptools (main)": asyncio_sockets_httptools,
}


async def read_round(make: Callable[[], httpx2.AsyncClient], url: str, streams: int) -> float:
    """µs of this process's CPU per delta read, the connections already made."""

    async def one(client: httpx2.AsyncClient) -> int:
        async with client.stream("POST", url, json={"stream": True}) as response:
            return sum([piece.count(b"data:") async for piece in response.aiter_bytes()])

    async with make() as client:
        await asyncio.gather(*(one(client) for _ in range(streams)))  # connect, warm up
        started = time.process_time()
        counts = await asyncio.gather(*(one(client) for _ in range(streams)))
        spent = time.process_time() - started
    assert sum(counts) == streams * DELTAS, counts
    return spent / (streams * DELTAS) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        uvloop.run(serve(args.serve))
        return
    port = 18_000 + int(time.time()) % 1000
    server = subprocess.Popen([sys.executable, "-m", "bench.provider_reads", "--serve", str(port)])
    try:
        time.sleep(1.0)
        results: dict[str, list[float]] = {way: [] for way in WAYS}
        names = list(WAYS)
        for round_ in range(args.rounds):
            for way in names[round_ % len(names) :] + names[: round_ % len(names)]:
                cost = uvloop.run(read_round(WAYS[way], f"http://127.0.0.1:{port}/", args.streams))
                results[way].append(cost)
                print(f"round {round_ + 1}: {way}: {cost:.1f} µs/delta", flush=True)
    finally:
        server.terminate()
        server.wait()
    rows = ["| way | µs of CPU per delta, median | rounds |", "|---|---|---|"]
    for way, costs in results.items():
        rows.append(f"| {way} | {median(costs):.1f} | {', '.join(f'{c:.1f}' for c in costs)} |")
    table = "\n".join(rows) + (
        f"\n\n{args.streams} streams at once, {DELTAS} deltas {PACE * 1000:.0f} ms apart each;"
        " each stream's request and head counted in; the ways take turns within each round."
    )
    print(table)
    record(
        "Provider reads: CPU per streamed delta",
        f"python -m bench.provider_reads --rounds {args.rounds} --streams {args.streams}",
        table,
    )


if __name__ == "__main__":
    main()
