"""The usage ledger's cost on the streaming path: the same streamed chats through this
checkout and through this checkout without the ledger, side by side.

Run: .venv/bin/python -m bench.ledger [--rounds 3] [--without COMMIT ...] [--budgets]
The tree without the ledger is this checkout's HEAD with the ledger's commits (the
`--without` ones) reverted, in a temporary folder. With `--budgets`, both stacks are this
checkout, one of them with budgets on the bench user and on its role (never reached, so
every chat reserves on two budgets and settles on both): what the budget gate adds. Both run as deployed for load
(`serve --no-workers` and one `worker`), and their rounds alternate so the shared
machine's noise hits both alike (and which goes first alternates too).
"""

import argparse
import asyncio
import base64
import json
import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.harness import ROOT, Stack, median, percentile, stack
from bench.report import record
from bench.streaming import Run, load, ms
from tests.support.server import run_cli

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


def with_budgets(stack_: Stack) -> None:
    """Budgets far above what the bench spends, on its user and on the `user` role."""
    email, password = f"bench-admin-{uuid.uuid4().hex[:6]}@example.com", "bench-password"
    with httpx.Client(base_url=stack_.server.base_url, timeout=30) as http:
        http.post("/api/auth/register", json={"email": email, "password": password, "name": "A"})
        promoted = run_cli(["admin", "promote", email], stack_.server.env)
        assert promoted.returncode == 0, promoted.stderr
        token = http.post("/api/auth/login", json={"email": email, "password": password})
        admin = {"Authorization": f"Bearer {token.json()['data']['token']}"}
        claims = stack_.token.split(".")[1]
        user_id = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
        limits = {"period": "month", "tokens": 10**12, "cost": 10**5}
        for path in (f"user/{user_id}", "role/user"):
            answer = http.put(f"/api/admin/budgets/{path}", headers=admin, json=limits)
            assert answer.status_code == 200, answer.text


async def side_by_side(
    roots: dict[str, Path],
    rounds: int,
    adds: str,
    prepare: Callable[[Stack], None] | None = None,
) -> list[str]:
    """The same streamed chats through two trees, rounds alternating (`prepare` readies the
    second tree's stack): the table's lines, then the time to first chunk the second adds
    to the first's (`adds` names what it adds)."""
    rows = []
    (before, first_root), (after, second_root) = roots.items()
    with (
        stack(worker=True, root=first_root) as first_stack,
        stack(worker=True, root=second_root) as second_stack,
    ):
        if prepare is not None:
            prepare(second_stack)
        stacks = {before: first_stack, after: second_stack}
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
        added = percentile(by[(concurrency, after)], 50) - percentile(by[(concurrency, before)], 50)
        lines.append(
            f"Time to first chunk {adds}, concurrency {concurrency}, p50:"
            f" **{added * 1000:.2f} ms**."
        )
    return lines


def noise_note() -> list[str]:
    load_average = os.getloadavg()[0]
    return [
        "",
        f"Load average at the end of the run: {load_average:.1f} on {os.cpu_count()} cores"
        " (other work shares the machine): read differences smaller than the spread between"
        " rounds as none.",
    ]


async def main(rounds: int, commits: tuple[str, ...], budgets: bool) -> None:
    before, after = (
        ("without budgets", "with budgets") if budgets else ("without ledger", "with ledger")
    )
    with tempfile.TemporaryDirectory() as tmp:
        first_root = ROOT if budgets else tree_without(commits, Path(tmp))
        lines = await side_by_side(
            {before: first_root, after: ROOT},
            rounds,
            "budgets add" if budgets else "the ledger adds",
            with_budgets if budgets else None,
        )
    table = "\n".join(lines + noise_note())
    print(table)
    command = f"python -m bench.ledger --rounds {rounds}" + (" --budgets" if budgets else "")
    title = "Budgets on the streaming path" if budgets else "Usage ledger on the streaming path"
    record(title, command, table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without", action="append", default=None)
    parser.add_argument("--budgets", action="store_true")
    arguments = parser.parse_args()
    without = tuple(arguments.without or LEDGER_COMMITS)
    asyncio.run(main(arguments.rounds, without, arguments.budgets))
