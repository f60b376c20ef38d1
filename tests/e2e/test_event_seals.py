"""The sealed log (issue 17, part 1): `llmchat audit verify` names every altered, deleted,
inserted or swapped event by position; signed checkpoints catch a truncated log whose chain
was rewritten to match, and refuse a checkpoint signed by another key."""

import itertools
import json
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from projections.seal_check import check_event_chain
from tests.e2e.admin_fixtures import eventually, projections_current, server_env
from tests.support.builders import register, signed_in
from tests.support.seals import reseal_from
from tests.support.server import ServerProcess, run_cli

GAP = 3  # positions left free in the middle of the log, as rolled-back appends leave them


def new_key(env=None) -> tuple[str, str]:
    made = run_cli(["keys", "new-signing-key"], env or {})
    assert made.returncode == 0, made.stderr
    private, public = made.stdout.splitlines()
    return private, public


def sql(env, statement, *params):
    with psycopg.connect(env["LLMCHAT_DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def sealed_to_head(env) -> bool:
    [(done,)] = sql(
        env,
        "SELECT (SELECT max(position) FROM llmchat_event_seals)"
        " = (SELECT max(notification_id) FROM llmchat_events)",
    )
    return bool(done)


def checkpoint(env, folder: Path, name: str) -> Path:
    made = run_cli(["audit", "checkpoint"], env)
    assert made.returncode == 0, made.stderr
    path = folder / name
    path.write_text(made.stdout)
    return path


@pytest.fixture(scope="module")
def log(fake_provider, make_database, redis_namespace, tmp_path_factory):
    """A log written by a server with its workers (the sealer among them), with a gap in
    its positions and a checkpoint taken half-way and one at the end."""
    folder = tmp_path_factory.mktemp("seals")
    env = server_env(fake_provider, make_database, redis_namespace, folder, "seals")
    private, public = new_key()
    env |= {
        "LLMCHAT_SIGNING_KEY": private,
        "LLMCHAT_CHECKPOINT_DIR": str(folder / "written"),
        "LLMCHAT_CHECKPOINT_MINUTES": "0.01",
    }
    server = ServerProcess(env, args=())
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for _ in range(2):
                signed_in(client)
            assert eventually(lambda: sealed_to_head(env))
            early = checkpoint(env, folder, "early.json")
            sql(
                env,
                "SELECT nextval('llmchat_events_notification_id_seq')"
                f" FROM generate_series(1, {GAP})",
            )
            for _ in range(2):
                register(client)
                signed_in(client)
        assert eventually(lambda: sealed_to_head(env))
        assert eventually(lambda: projections_current(env["LLMCHAT_DATABASE_URL"]))
        late = checkpoint(env, folder, "late.json")
        time.sleep(1)  # a checkpoint written by the worker after the last append
    finally:
        server.stop()
    return {"env": env, "public": public, "early": early, "late": late, "log": server.log()}


def verify(env, *more: str):
    return run_cli(["audit", "verify", *more], env)


def positions(env) -> list[int]:
    return [p for (p,) in sql(env, "SELECT notification_id FROM llmchat_events ORDER BY 1")]


def the_gap(env) -> int:
    held = positions(env)
    return next(p + 1 for p, q in itertools.pairwise(held) if q > p + 1)


def test_an_untouched_log_verifies_to_its_head(log):
    env = log["env"]
    checked = verify(env)
    assert checked.returncode == 0, checked.stderr
    head = positions(env)[-1]
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("audit chain intact: ")
    assert lines[1].startswith(f"event chain intact: {len(positions(env))} events sealed, seal ")
    assert lines[1].endswith(f"verified to position {head} (the log's head)")


def flip_a_byte(env, position: int) -> None:
    """The year's first digit, 2 <-> 3: the state still decodes, as a forgery would."""
    sql(
        env,
        "UPDATE llmchat_events SET state = set_byte(state, 14, get_byte(state, 14) # 1)"
        " WHERE notification_id = %s",
        position,
    )


def test_one_byte_of_any_event_is_named_by_position(log):
    env = log["env"]
    with psycopg.connect(env["LLMCHAT_DATABASE_URL"], autocommit=True) as conn:
        for position in positions(env):
            flip_a_byte(env, position)
            try:
                checked = check_event_chain(conn)
            finally:
                flip_a_byte(env, position)
            assert [b.position for b in checked.breaks] == [position]
            assert "stored state is not what was sealed" in checked.breaks[0].problem
    middle = positions(env)[len(positions(env)) // 2]
    flip_a_byte(env, middle)
    try:
        checked = verify(env)
    finally:
        flip_a_byte(env, middle)
    assert checked.returncode == 1
    assert f"event chain broken at position {middle} (stream " in checked.stderr
    assert "stored state is not what was sealed (altered)" in checked.stderr
    assert verify(env).returncode == 0


def test_a_deleted_event_is_named(log):
    env = log["env"]
    victim = positions(env)[3]
    [row] = sql(env, "SELECT * FROM llmchat_events WHERE notification_id = %s", victim)
    sql(env, "DELETE FROM llmchat_events WHERE notification_id = %s", victim)
    try:
        checked = verify(env)
    finally:
        sql(env, "INSERT INTO llmchat_events VALUES (%s, %s, %s, %s, %s)", *row)
    assert checked.returncode == 1
    assert f"event chain broken at position {victim}: a sealed event is missing" in checked.stderr
    assert verify(env).returncode == 0


def test_an_inserted_event_is_named(log):
    env = log["env"]
    gap = the_gap(env)
    [(_stream, version, topic, state)] = sql(
        env,
        "SELECT originator_id, originator_version, topic, state FROM llmchat_events"
        " WHERE notification_id = %s",
        positions(env)[1],
    )
    sql(
        env,
        "INSERT INTO llmchat_events (originator_id, originator_version, topic, state,"
        " notification_id) VALUES (gen_random_uuid(), %s, %s, %s, %s)",
        version,
        topic,
        state,
        gap,
    )
    try:
        checked = verify(env)
    finally:
        sql(env, "DELETE FROM llmchat_events WHERE notification_id = %s", gap)
    assert checked.returncode == 1
    assert f"event chain broken at position {gap} (stream " in checked.stderr
    assert "an event the chain does not hold (inserted)" in checked.stderr
    assert verify(env).returncode == 0


def swap(env, a: int, b: int) -> None:
    sql(env, "UPDATE llmchat_events SET notification_id = -1 WHERE notification_id = %s", a)
    sql(env, "UPDATE llmchat_events SET notification_id = %s WHERE notification_id = %s", a, b)
    sql(env, "UPDATE llmchat_events SET notification_id = %s WHERE notification_id = -1", b)


def test_two_swapped_events_are_both_named(log):
    env = log["env"]
    a, b = positions(env)[4], positions(env)[6]
    swap(env, a, b)
    try:
        checked = verify(env)
    finally:
        swap(env, a, b)
    assert checked.returncode == 1
    broken = [line for line in checked.stderr.splitlines() if "event chain broken" in line]
    assert [line.split(" (")[0] for line in broken] == [
        f"event chain broken at position {a}",
        f"event chain broken at position {b}",
    ]
    assert all("not what was sealed (altered or moved)" in line for line in broken)
    assert verify(env).returncode == 0


def rewrite_chain(env, altered: int, keep_upto: int) -> None:
    """As a forger would: alter an event, cut the log off after `keep_upto`, and seal the
    rest again so the chain matches."""
    flip_a_byte(env, altered)
    sql(env, "DELETE FROM llmchat_events WHERE notification_id > %s", keep_upto)
    reseal_from(env["LLMCHAT_DATABASE_URL"], altered)


def test_a_truncated_log_with_its_chain_rewritten_is_caught_by_earlier_checkpoints(log):
    env = log["env"]
    early = json.loads(log["early"].read_text())
    late = json.loads(log["late"].read_text())
    kept = next(p for p in positions(env) if early["position"] < p < late["position"])
    for table in ("llmchat_events", "llmchat_event_seals"):
        sql(env, f"CREATE TABLE saved_{table} AS SELECT * FROM {table}")
    try:
        before = verify(env, "--checkpoint", str(log["early"]), str(log["late"]))
        assert before.returncode == 0, before.stderr
        assert before.stdout.count("history up to it is unchanged") == 2
        rewrite_chain(env, altered=positions(env)[2], keep_upto=kept)
        alone = verify(env)
        assert alone.returncode == 0, alone.stderr  # the chain alone cannot tell
        checked = verify(env, "--checkpoint", str(log["early"]), str(log["late"]))
    finally:
        for table in ("llmchat_events", "llmchat_event_seals"):
            sql(env, f"DELETE FROM {table}")
            sql(env, f"INSERT INTO {table} SELECT * FROM saved_{table}")
            sql(env, f"DROP TABLE saved_{table}")
    assert checked.returncode == 1
    assert f"history up to position {early['position']} was rewritten" in checked.stderr
    assert (
        f"the log ends at position {kept}, before position {late['position']}: truncated"
        in checked.stderr
    )
    assert verify(env, "--checkpoint", str(log["early"]), str(log["late"])).returncode == 0


def test_a_checkpoint_signed_by_another_key_is_refused(log, tmp_path):
    env = log["env"]
    other_private, other_public = new_key()
    forged = checkpoint({**env, "LLMCHAT_SIGNING_KEY": other_private}, tmp_path, "forged.json")
    refused = verify(env, "--checkpoint", str(forged))
    assert refused.returncode == 1
    assert "signed by another key" in refused.stderr and "refused" in refused.stderr
    # Held against the other key, the deployment's own checkpoint is the stranger.
    theirs = verify(env, "--checkpoint", str(log["late"]), "--public-key", other_public)
    assert theirs.returncode == 1 and "signed by another key" in theirs.stderr
    # One altered field and the signature no longer holds.
    document = json.loads(log["late"].read_text())
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps({**document, "position": document["position"] - 1}))
    bad = verify(env, "--checkpoint", str(altered), "--public-key", log["public"])
    assert bad.returncode == 1 and "signature does not hold" in bad.stderr


def test_the_worker_writes_checkpoints_to_the_directory_and_the_log(log):
    env = log["env"]
    written = sorted(Path(env["LLMCHAT_CHECKPOINT_DIR"]).glob("checkpoint-*.json"))
    assert written, "no checkpoint written"
    assert "checkpoint {" in log["log"]
    checked = verify(env, "--checkpoint", *map(str, written))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count("history up to it is unchanged") == len(written)


def test_a_log_written_before_sealing_is_sealed_from_its_first_event(
    fake_provider, make_database, redis_namespace, tmp_path
):
    env = server_env(fake_provider, make_database, redis_namespace, tmp_path, "unsealed")
    server = ServerProcess(env)  # --no-workers: nothing seals
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            signed_in(client)
    finally:
        server.stop()
    unsealed = verify(env)
    assert unsealed.returncode == 0, unsealed.stderr
    assert "event chain: nothing sealed yet (log head " in unsealed.stdout
    server = ServerProcess(env, args=())  # with its workers: the sealer starts at position 1
    server.start()
    try:
        assert eventually(lambda: sealed_to_head(env))
    finally:
        server.stop()
    [(first,)] = sql(env, "SELECT min(position) FROM llmchat_event_seals")
    assert first == positions(env)[0] == 1
    checked = verify(env)
    assert checked.returncode == 0, checked.stderr
    assert "event chain intact: " in checked.stdout
