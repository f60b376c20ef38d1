"""Time to first chunk at concurrency 1, several checkouts served at once, taking turns.

Run: .venv/bin/python -m bench.interleaved [--rounds 10] [--streams 100] TREE [TREE ...]
Each TREE (a checkout of this repository) is served by its own stack (fake provider,
database, `serve --no-workers` and a worker); rounds of `--streams` chats go to each in
turn, with a round straight to the fake provider first. On a shared machine whose speed
drifts from minute to minute, turns this short put every tree under the same drift, which
whole runs one after the other do not. Prints the table; records nothing.
"""

import argparse
import asyncio
import contextlib
from pathlib import Path

from bench.harness import percentile, stack
from bench.streaming import load


async def main(trees: list[Path], rounds: int, streams: int) -> None:
    with contextlib.ExitStack() as running:
        stacks = {tree: running.enter_context(stack(worker=True, root=tree)) for tree in trees}
        first = next(iter(stacks.values()))
        times: dict[Path, list[float]] = {tree: [] for tree in trees}
        direct: list[float] = []
        for _ in range(rounds):
            direct += (await load("direct", first, 1, streams)).first_chunk
            for tree, stack_ in stacks.items():
                times[tree] += (await load("llmchat", stack_, 1, streams)).first_chunk
    base = percentile(direct, 50) * 1000
    print("| tree | TTFC p50 ms | added ms | p99 ms |\n|---|---|---|---|")
    print(f"| direct (fake provider) | {base:.2f} | | |")
    for tree, values in times.items():
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        print(f"| {tree} | {p50:.2f} | {p50 - base:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--streams", type=int, default=100)
    arguments = parser.parse_args()
    trees = [tree.resolve() for tree in arguments.trees]
    asyncio.run(main(trees, arguments.rounds, arguments.streams))
