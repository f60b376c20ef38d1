"""Event store: chunk deltas made durable per second, sustained, and append latency.

Run: .venv/bin/python -m bench.event_store [--seconds 10] [--replies 50]
Replies append ChunksAppended batches (16 deltas each, as the recorder makes under load)
through the group-commit writer, as fast as the database takes them.
"""

import argparse
import asyncio
import time
import uuid

from application.ports import PendingEvent
from bench.harness import database, percentile
from bench.report import record
from domain.reply_stream import ChunksAppended
from infrastructure.event_store import RecorderEventStore
from infrastructure.group_commit import GroupCommitWriter
from infrastructure.postgres import create_schema, open_datastore
from tests.unit.fakes import FixedClock

DELTAS_PER_BATCH = 16


async def reply(writer: GroupCommitWriter, until: float, latencies: list[float]) -> int:
    stream, version, delivered = str(uuid.uuid4()), 0, 0
    batch = ChunksAppended(text="token " * DELTAS_PER_BATCH, deltas=DELTAS_PER_BATCH)
    while time.perf_counter() < until:
        version += 1
        started = time.perf_counter()
        await writer.write([PendingEvent(stream, version, batch)])
        latencies.append(time.perf_counter() - started)
        delivered += DELTAS_PER_BATCH
    return delivered


async def main(seconds: float, replies: int) -> None:
    with database() as url:
        datastore = open_datastore(url, 4)
        store = RecorderEventStore(create_schema(datastore), FixedClock())
        writer = GroupCommitWriter(url, store.stamped)
        await writer.start()
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        started = time.perf_counter()
        counts = await asyncio.gather(*(reply(writer, until, latencies) for _ in range(replies)))
        elapsed = time.perf_counter() - started
        await writer.stop()
        datastore.close()
    rate = sum(counts) / elapsed
    table = "\n".join(
        [
            "| replies | deltas/batch | deltas durable/s | batches/s | append p50 ms | append p99 ms |",
            "|---|---|---|---|---|---|",
            f"| {replies} | {DELTAS_PER_BATCH} | {rate:,.0f} | {len(latencies) / elapsed:,.0f} | "
            f"{percentile(latencies, 50) * 1000:.2f} | {percentile(latencies, 99) * 1000:.2f} |",
            "",
            f"Sustained deltas made durable: **{rate:,.0f}/s** over {seconds:.0f} s (target ≥ 20,000/s).",
        ]
    )
    print(table)
    record(
        "Event store",
        f"python -m bench.event_store --seconds {seconds:g} --replies {replies}",
        table,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--replies", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.replies))
