"""What sealing the log costs, and where: appends/s with no sealing, with the trailing sealer
(what runs) and with the seal computed inside the append (a row trigger under the table
lock, the alternative), then the streaming path with and without the sealer.

Run: .venv/bin/python -m bench.sealing [--seconds 5] [--rounds 2]
Appends: the group-commit writer as bench.event_store drives it, a fresh database per run,
the three ways alternating within each round. The trailing sealer runs in a process of its
own, as in a worker; its lag is how far behind the log's head it was when the appends
stopped, and how long it then took to reach it. Streaming: this checkout as deployed for
load (`serve --no-workers` plus one `worker`) beside a copy whose worker does not seal.
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from application.ports import PendingEvent
from bench.event_store import reply
from bench.harness import ROOT, database, median, percentile
from bench.ledger import noise_note, side_by_side
from bench.report import record
from domain.reply_stream import ChunksAppended
from infrastructure.event_store import RecorderEventStore
from infrastructure.group_commit import GroupCommitWriter
from infrastructure.postgres import create_schema, open_datastore
from projections.sealer import SCHEMA
from tests.unit.fakes import FixedClock

REPLIES = 50
# The alternative measured: the same seal, computed by PostgreSQL for each row as the
# append inserts it, while the append holds the table lock.
IN_APPEND = (
    """CREATE OR REPLACE FUNCTION llmchat_bench_seal_row() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE previous text; state_hash text;
    BEGIN
        SELECT seal INTO previous FROM llmchat_event_seals ORDER BY position DESC LIMIT 1;
        previous := COALESCE(previous, repeat('0', 64));
        state_hash := encode(sha256(NEW.state), 'hex');
        INSERT INTO llmchat_event_seals (position, state_hash, previous, seal)
        VALUES (NEW.notification_id, state_hash, previous, encode(sha256(convert_to(
            json_build_array(NEW.notification_id, NEW.originator_id::text,
            NEW.originator_version, NEW.topic, state_hash, previous)::text, 'UTF8')), 'hex'));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER llmchat_bench_seal AFTER INSERT ON llmchat_events
    FOR EACH ROW EXECUTE FUNCTION llmchat_bench_seal_row()""",
)
SEALER = (
    "import sys, threading; from projections.sealer import Sealer;"
    " Sealer(sys.argv[1], 'llmchat_events').follow(threading.Event())"
)


def unsealed(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM llmchat_events WHERE notification_id >"
            " COALESCE((SELECT max(position) FROM llmchat_event_seals), 0)"
        ).fetchone()
    return int(row[0]) if row else 0


async def appends(way: str, seconds: float) -> dict[str, float]:
    with database() as url:
        datastore = open_datastore(url, 4)
        store = RecorderEventStore(create_schema(datastore, SCHEMA), FixedClock())
        if way == "in the append":
            with datastore.get_connection() as conn:
                for statement in IN_APPEND:
                    conn.execute(statement)
        sealer = None
        if way == "trailing sealer":
            sealer = await asyncio.create_subprocess_exec(
                sys.executable, "-c", SEALER, url, cwd=ROOT
            )
        writer = GroupCommitWriter(url, store.stamped)
        await writer.start()
        await writer.write(
            [PendingEvent(str(uuid.uuid4()), 1, ChunksAppended(text="warm", deltas=1))]
        )
        latencies: list[float] = []
        until = time.perf_counter() + seconds
        started = time.perf_counter()
        counts = await asyncio.gather(*(reply(writer, until, latencies) for _ in range(REPLIES)))
        elapsed = time.perf_counter() - started
        await writer.stop()
        behind, caught_up = 0, 0.0
        if sealer is not None:
            behind = unsealed(url)
            stopped = time.perf_counter()
            while unsealed(url) and time.perf_counter() - stopped < 60:
                await asyncio.sleep(0.01)
            caught_up = time.perf_counter() - stopped
            sealer.terminate()
            await sealer.wait()
        if way != "no sealing":
            assert unsealed(url) == 0, f"{way}: not everything was sealed"
        datastore.close()
    return {
        "batches/s": len(latencies) / elapsed,
        "deltas/s": sum(counts) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "behind": behind,
        "caught_up": caught_up,
    }


def without_sealer(folder: Path) -> Path:
    """This checkout's HEAD, its workers not starting the sealer."""
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    bootstrap = folder / "api" / "bootstrap.py"
    text = bootstrap.read_text()
    started = "return [*threads, start_sealing(sealer, self.stop_workers)]"
    assert started in text, "the sealer is started elsewhere now: update bench.sealing"
    bootstrap.write_text(text.replace(started, "return threads"))
    return folder


async def main(seconds: float, rounds: int) -> None:
    ways = ("no sealing", "trailing sealer", "in the append")
    measured: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    for round_ in range(rounds):
        for way in ways if round_ % 2 == 0 else reversed(ways):
            measured[way].append(await appends(way, seconds))
    lines = [
        "| sealing | batches (events) appended/s | deltas durable/s | append p50 ms"
        " | append p99 ms | sealer behind at the end (events) | sealer caught up in ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for way, runs in measured.items():
        cells = [way, f"{median([r['batches/s'] for r in runs]):,.0f}"]
        cells += [f"{median([r['deltas/s'] for r in runs]):,.0f}"]
        cells += [f"{median([r['p50'] for r in runs]) * 1000:.2f}"]
        cells += [f"{median([r['p99'] for r in runs]) * 1000:.2f}"]
        trailing = way == "trailing sealer"
        cells += [f"{median([r['behind'] for r in runs]):,.0f}" if trailing else "-"]
        cells += [f"{median([r['caught_up'] for r in runs]) * 1000:.0f}" if trailing else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"without sealer": without_sealer(Path(tmp)), "with sealer": ROOT}
        lines += await side_by_side(roots, rounds, "the sealer adds")
    table = "\n".join(lines + noise_note())
    print(table)
    command = f"python -m bench.sealing --seconds {seconds:g} --rounds {rounds}"
    record("Sealing", command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.rounds))
