"""The usage ledger's cost on the streaming path: the same streamed chats through this
checkout and through this checkout without the ledger, side by side.

Run: .venv/bin/python -m bench.ledger [--rounds 3] [--without COMMIT ...]
The tree without the ledger is this checkout's HEAD with the ledger's commits (the
`--without` ones) reverted, in a temporary folder. Both run as deployed for load
(`serve --no-workers` and one `worker`), and their rounds alternate so the shared
machine's noise hits both alike (and which goes first alternates too).
"""

import argparse
import asyncio
import os
import subprocess
import tempfile
from pathlib import Path

from bench.harness import ROOT, median, percentile, stack
from bench.report import record
from bench.streaming import Run, load, ms

LEDGER_COMMITS = ("3fe56aa", "d9eb5f3")  # the priced ledger, then usage as facts


def tree_without(commits: tuple[str, ...], folder: Path) -> Path:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    for commit in commits:
        patch = subprocess.run(
            ["git", "show", "--format=", commit], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(
            ["git", "apply", "-R", "--exclude=tests/*", "--exclude=docs/*", "--exclude=*.md"],
            cwd=folder,
            input=patch.stdout,
            check=True,
        )
    return folder


async def main(rounds: int, commits: tuple[str, ...]) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"without ledger": tree_without(commits, Path(tmp)), "with ledger": ROOT}
        with (
            stack(worker=True, root=roots["without ledger"]) as without,
            stack(worker=True, root=roots["with ledger"]) as with_ledger,
        ):
            stacks = {"without ledger": without, "with ledger": with_ledger}
            for concurrency, streams in ((1, 200), (50, 1000)):
                runs: dict[str, list[Run]] = {name: [] for name in stacks}
                for round_ in range(rounds):
                    # Each tree goes first in every other round: the first of a pair is
                    # not favoured.
                    order = list(stacks.items())
                    for name, stack_ in order if round_ % 2 == 0 else reversed(order):
                        runs[name].append(await load("llmchat", stack_, concurrency, streams))
                for name, measured in runs.items():
                    first = [v for r in measured for v in r.first_chunk]
                    full = [v for r in measured for v in r.full]
                    rate = median([r.per_second for r in measured])
                    rows.append((concurrency, name, first, full, rate))
    columns = ["concurrency", "tree", "TTFC p50 ms", "TTFC p99 ms", "stream p50 ms"]
    columns += ["stream p99 ms", "streams/s"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for concurrency, name, first, full, rate in rows:
        cells = [str(concurrency), name, ms(percentile(first, 50)), ms(percentile(first, 99))]
        cells += [ms(percentile(full, 50)), ms(percentile(full, 99)), f"{rate:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    by = {(c, n): first for c, n, first, _, _ in rows}
    lines.append("")
    for concurrency in (1, 50):
        added = percentile(by[(concurrency, "with ledger")], 50) - percentile(
            by[(concurrency, "without ledger")], 50
        )
        lines.append(
            f"Time to first chunk the ledger adds, concurrency {concurrency}, p50:"
            f" **{added * 1000:.2f} ms**."
        )
    load_average = os.getloadavg()[0]
    lines.append("")
    lines.append(
        f"Load average at the end of the run: {load_average:.1f} on {os.cpu_count()} cores (other work"
        " shares the machine): read differences smaller than the spread between rounds as none."
    )
    table = "\n".join(lines)
    print(table)
    command = f"python -m bench.ledger --rounds {rounds}"
    record("Usage ledger on the streaming path", command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without", action="append", default=None)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, tuple(arguments.without or LEDGER_COMMITS)))
