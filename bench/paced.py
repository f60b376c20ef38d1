"""Paced streams: a provider's real rhythm (64 deltas, 20 ms apart), ramped from 32 to 512
concurrent streams, straight to the fake provider and through LLMChat in one run.

Run: .venv/bin/python -m bench.paced [--levels 32,64,128,192,256,384,512] [--root TREE]
(`--root`: serve another checkout of this repository, to measure it before a change.)

A stream *stalls* when two of its pieces arrive more than 200 ms apart (the method of the
public gateway comparisons). Every stream of a level starts at once; both paths run each
level in turn, so the shared machine's noise hits both. The load generator speaks HTTP/1.1
on raw sockets (httpx cost more CPU per stream than the server under test at these counts),
counts the pieces as their bytes arrive, and checks each stream ended as its wire ends it
(LLMChat's `end` frame, the provider's `[DONE]`). Through LLMChat a piece is an SSE `chunk`
frame, sent only once its text is stored.
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import Stack, median, percentile, run_by, stack, tree_option
from bench.report import record

MODEL = "gpt;chunks=64;interval=0.02"
STALL = 0.200
BODY = {"messages": [{"role": "user", "content": "pace me"}], "stream": True}


@dataclass(frozen=True)
class Target:
    url: str
    body: bytes
    headers: dict[str, str]
    piece: bytes
    end: bytes


@dataclass
class Stream:
    status: int = 0
    first: float | None = None
    largest_gap: float = 0.0
    pieces: int = 0
    ended: bool = False
    error: str | None = None


@dataclass
class Level:
    streams: list[Stream] = field(default_factory=list)
    wall: float = 0.0

    def stalled(self) -> int:
        return sum(1 for s in self.streams if s.largest_gap > STALL or not s.ended)


def target_of(path: str, stack_: Stack) -> Target:
    if path == "direct":
        body = {**BODY, "model": MODEL}
        return Target(
            stack_.fake.endpoint("openai") + "/chat/completions",
            json.dumps(body).encode(),
            {"Authorization": "Bearer sk-bench"},
            b'data: {"id"',
            b"data: [DONE]",
        )
    return Target(
        stack_.server.base_url + "/api/chat/completions",
        json.dumps({**BODY, "agentId": "bench"}).encode(),
        stack_.auth,
        b"event: chunk",
        b"event: end",
    )


def request_bytes(target: Target) -> bytes:
    parts = urlsplit(target.url)
    head = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        "Connection: close",
        f"Content-Length: {len(target.body)}",
        *(f"{k}: {v}" for k, v in target.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + target.body


async def one_stream(target: Target, wire: bytes, started: float) -> Stream:
    stream = Stream()
    parts = urlsplit(target.url)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError as error:
        stream.error = str(error)
        return stream
    try:
        writer.write(wire)
        status_line = await reader.readline()
        stream.status = int(status_line.split()[1]) if status_line else 0
        tail, last = b"", None
        while data := await reader.read(65536):
            now = time.perf_counter()
            seen = tail + data
            count = seen.count(target.piece)
            if count:
                if stream.first is None:
                    stream.first = now - started
                if last is not None:
                    stream.largest_gap = max(stream.largest_gap, now - last)
                last = now
                stream.pieces += count
            if target.end in seen:
                stream.ended = True
            tail = seen[-len(target.piece) :]
    except OSError as error:
        stream.error = str(error)
    finally:
        writer.close()
    return stream


async def level(target: Target, concurrency: int) -> Level:
    wire = request_bytes(target)
    started = time.perf_counter()
    streams = await asyncio.gather(*(one_stream(target, wire, started) for _ in range(concurrency)))
    return Level(list(streams), time.perf_counter() - started)


def ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def row(concurrency: int, path: str, measured: Level) -> str:
    streams = measured.streams
    gaps = [s.largest_gap for s in streams if s.pieces > 1]
    firsts = [s.first for s in streams if s.first is not None]
    statuses = sorted({s.status for s in streams})
    not_ok = sum(1 for s in streams if s.status != 200)
    cells = [
        str(concurrency),
        path,
        f"{sum(s.ended for s in streams)}/{len(streams)}",
        str(not_ok),
        str(measured.stalled()),
        ms(median(gaps)) if gaps else "-",
        ms(percentile(gaps, 99)) if gaps else "-",
        ms(percentile(firsts, 50)) if firsts else "-",
        ms(percentile(firsts, 99)) if firsts else "-",
        str(statuses),
    ]
    return "| " + " | ".join(cells) + " |"


async def main(levels: list[int], root: Path, title: str) -> None:
    columns = ["streams", "path", "ended", "not 200", "stalled", "largest gap p50 ms"]
    columns += ["largest gap p99 ms", "TTFC p50 ms", "TTFC p99 ms", "statuses"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    best = {"direct": 0, "llmchat": 0}
    stalled_at: dict[str, int | None] = {"direct": None, "llmchat": None}
    with stack(model=MODEL, worker=True, root=root) as stack_:
        targets = {path: target_of(path, stack_) for path in ("direct", "llmchat")}
        for target in targets.values():  # warm both paths
            await level(target, 4)
        for concurrency in levels:
            for path, target in targets.items():
                measured = await level(target, concurrency)
                lines.append(row(concurrency, path, measured))
                print(lines[-1], flush=True)
                if measured.stalled() == 0 and stalled_at[path] is None:
                    best[path] = concurrency
                elif stalled_at[path] is None:
                    stalled_at[path] = concurrency
                await asyncio.sleep(1.0)  # let the worker catch up between levels
    lines.append("")
    lines.append(
        f"Most concurrent streams with no stall: **{best['llmchat']}** through LLMChat, "
        f"**{best['direct']}** straight to the fake provider (target: 384 through LLMChat; "
        "a stall is a gap over 200 ms or a stream that did not end)."
    )
    table = "\n".join(lines)
    print(table)
    command, title = run_by("python -m bench.paced", title, root)
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="32,64,128,192,256,384,512")
    tree_option(parser)
    parser.add_argument("--title", default="Paced streams")
    arguments = parser.parse_args()
    levels = [int(n) for n in arguments.levels.split(",")]
    asyncio.run(main(levels, arguments.root, arguments.title))
