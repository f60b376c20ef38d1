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
import threading
import time

import psycopg

from api.bootstrap import Database, build_container
from bench.harness import percentile, stack
from bench.report import record
from bench.streaming import load
from infrastructure.settings import Settings
from projections.rebuild import rebuild


def sample_lag(url: str, stop: threading.Event, samples: dict[str, list[float]]) -> None:
    """Each projection's lag for every batch it applies (the runner records the batch's
    oldest event: the one that waited longest)."""
    with psycopg.connect(url, autocommit=True) as conn:
        last: dict[str, int] = {}
        while not stop.is_set():
            rows = conn.execute(
                "SELECT name, position, lag_ms FROM llmchat_projection_positions"
            ).fetchall()
            for name, position, lag in rows:
                if lag is not None and last.get(name) != position:
                    samples.setdefault(name, []).append(float(lag))
                    last[name] = position
            time.sleep(0.005)


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


async def main(streams: int) -> None:
    with stack(worker=True) as running:
        samples: dict[str, list[float]] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=sample_lag, args=(running.database_url, stop, samples))
        sampler.start()
        await load("llmchat", running, 50, streams)
        stop.set()
        sampler.join()
        running.stop()  # the rebuild alone, not its wait for a live worker's lock
        total, rebuild_seconds = rebuild_timed(running.database_url)
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
    record("Projections", f"python -m bench.projections --streams {streams}", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    asyncio.run(main(parser.parse_args().streams))
