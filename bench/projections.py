"""Projections: lag from append to visible read model under streaming load, and rebuild speed.

Run: .venv/bin/python -m bench.projections [--streams 1000]
The projections run in a `llmchat worker` process, as deployed. The lag is what the runner
records for each batch it applies (llmchat_projection_positions.lag_ms: the time of the commit
minus the append time of the batch's oldest event), for every projection while 50 clients
stream; the rebuild re-applies
everything that load wrote, timed in-process once the server has stopped.
"""

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from api.bootstrap import Database, build_container
from bench.harness import percentile, run_by, stack, tree_option
from bench.report import record
from bench.streaming import load
from infrastructure.metrics import LAG
from infrastructure.settings import Settings
from projections.rebuild import rebuild


def wait_caught_up(url: str) -> None:
    """Until every projection holds the log so far: the sign-up and agents written before the
    load are applied once the worker has started, seconds after they were stored, and that
    batch's lag (the worker's start) is not the load's."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(2000):
            # Each projection's events behind the head, as /metrics reads it.
            behind = [row[1] for row in conn.execute(LAG).fetchall()]
            if behind and max(behind) <= 0:
                return
            time.sleep(0.01)
    raise TimeoutError("the worker did not catch up with the log in 20 s")


def sample_lag(url: str, stop: threading.Event, samples: dict[str, list[float]]) -> None:
    """Each projection's lag for every batch it applies from now (the runner records the
    batch's oldest event: the one that waited longest)."""
    with psycopg.connect(url, autocommit=True) as conn:
        last = dict(
            conn.execute("SELECT name, position FROM llmchat_projection_positions").fetchall()
        )
        while not stop.is_set():
            rows = conn.execute(
                "SELECT name, position, lag_ms FROM llmchat_projection_positions"
            ).fetchall()
            for name, position, lag in rows:
                if lag is not None and last.get(name) != position:
                    samples.setdefault(name, []).append(float(lag))
                    last[name] = position
            time.sleep(0.005)


def settle(url: str) -> None:
    """Vacuum and checkpoint what the load left, so the rebuild does not share the disk and
    the CPU with them: a tree that finished the load sooner met autovacuum in its rebuild
    (main 17.4k events/s against 22.1k for 9c9159a, and both 19.6-22.8k on one database)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def rebuild_in(root: Path, url: str) -> tuple[int, float]:
    """The rebuild by the code of the checkout at `root`, in a fresh process of its own."""
    script = "from bench.projections import rebuild_timed as r; import sys; print(*r(sys.argv[1]))"
    printed = subprocess.run(
        [sys.executable, "-c", script, url], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    return int(printed[-2]), float(printed[-1])


def rebuild_timed(url: str) -> tuple[int, float]:
    """Rebuild the conversations read model in this process, timing the rebuild alone."""
    container = build_container(Settings(database_url=url), Database(url))
    try:
        projection = next(p for p in container.projections if p.name == "conversations")
        started = time.perf_counter()
        rebuilt = rebuild(container.runner, projection)
        return rebuilt.events, time.perf_counter() - started
    finally:
        container.close()


async def main(streams: int, root: Path) -> None:
    with stack(worker=True, root=root) as running:
        samples: dict[str, list[float]] = {}
        wait_caught_up(running.database_url)
        stop = threading.Event()
        sampler = threading.Thread(target=sample_lag, args=(running.database_url, stop, samples))
        sampler.start()
        await load("llmchat", running, 50, streams)
        stop.set()
        sampler.join()
        running.stop()  # the rebuild alone, not its wait for a live worker's lock
        settle(running.database_url)
        # In a process of its own for every tree: this one holds the load's heap, whose
        # collector passes slowed main's rebuilds by a quarter against a fresh process.
        total, rebuild_seconds = rebuild_in(root, running.database_url)
    every = [lag for lags in samples.values() for lag in lags]
    table = "\n".join(
        [
            "| projection | batches applied during the load | lag p50 ms | lag p99 ms |",
            "|---|---|---|---|",
            *(
                f"| {name} | {len(lags)} | {percentile(lags, 50):.1f} | {percentile(lags, 99):.1f} |"
                for name, lags in sorted(samples.items())
            ),
            f"| all | {len(every)} | {percentile(every, 50):.1f} | {percentile(every, 99):.1f} |",
            "",
            f"Rebuild of `conversations`: {total:,} events in {rebuild_seconds:.2f} s.",
            "",
            f"Lag p99 under {streams} streams at concurrency 50, over every projection:"
            f" **{percentile(every, 99):.0f} ms** (target ≤ 100 ms); rebuild"
            f" **{total / rebuild_seconds:,.0f} events/s** (target ≥ 20,000/s).",
        ]
    )
    print(table)
    command, title = run_by(f"python -m bench.projections --streams {streams}", "Projections", root)
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    tree_option(parser)
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.streams, args.root))
