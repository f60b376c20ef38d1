"""Projections: lag from append to visible read model under streaming load, and rebuild speed.

Run: .venv/bin/python -m bench.projections [--streams 1000]
The projections run in a `llmchat worker` process, as deployed. The lag is what the runner
records for each batch it applies (llmchat_projection_positions.lag_ms: now minus the append
time of the batch's newest event), sampled while 50 clients stream; the rebuild re-applies
everything that load wrote, timed in-process once the server has stopped.
"""

import argparse
import asyncio
import threading
import time

import psycopg

from api.bootstrap import build_container
from bench.harness import percentile, stack
from bench.report import record
from bench.streaming import load
from infrastructure.settings import Settings
from projections.rebuild import rebuild


def sample_lag(url: str, stop: threading.Event, samples: list[float]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        last = None
        while not stop.is_set():
            row = conn.execute(
                "SELECT position, lag_ms FROM llmchat_projection_positions WHERE name = 'conversations'"
            ).fetchone()
            if row and row[1] is not None and row[0] != last:
                samples.append(float(row[1]))
                last = row[0]
            time.sleep(0.005)


def rebuild_timed(url: str) -> tuple[int, float]:
    """Rebuild the conversations read model in this process, timing the rebuild alone."""
    container = build_container(Settings(database_url=url), serving=False)
    try:
        projection = next(p for p in container.projections if p.name == "conversations")
        started = time.perf_counter()
        rebuilt = rebuild(container.runner, projection)
        return rebuilt.events, time.perf_counter() - started
    finally:
        container.close()


async def main(streams: int) -> None:
    with stack(worker=True) as running:
        samples: list[float] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_lag, args=(running.database_url, stop, samples))
        sampler.start()
        await load("llmchat", running, 50, streams)
        stop.set()
        sampler.join()
        running.stop()  # the rebuild alone, not its wait for a live worker's lock
        total, rebuild_seconds = rebuild_timed(running.database_url)
    table = "\n".join(
        [
            "| measure | value |",
            "|---|---|",
            f"| lag samples (batches applied during the load) | {len(samples)} |",
            f"| lag p50 ms | {percentile(samples, 50):.1f} |",
            f"| lag p99 ms | {percentile(samples, 99):.1f} |",
            f"| events in the log | {total:,} |",
            f"| rebuild of `conversations` s | {rebuild_seconds:.2f} |",
            f"| rebuild speed events/s | {total / rebuild_seconds:,.0f} |",
            "",
            f"Lag p99 under {streams} streams at concurrency 50: **{percentile(samples, 99):.0f} ms**"
            f" (target ≤ 100 ms); rebuild **{total / rebuild_seconds:,.0f} events/s** (target ≥ 20,000/s).",
        ]
    )
    print(table)
    record("Projections", f"python -m bench.projections --streams {streams}", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    asyncio.run(main(parser.parse_args().streams))
