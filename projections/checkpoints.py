"""Signed checkpoints of the seal chain: the head's position and seal at a time, under Ed25519.

A chain alone cannot show that it was cut off, or rewritten whole: a checkpoint kept
elsewhere can. Its signature covers the canonical JSON of every field but `signature`
(sorted keys, no spaces, UTF-8). Verifying one proves that the log still reaches its
position and that the seal there is still the one signed, so nothing up to it changed.
"""

import logging
import time
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from application.ports import Clock
from domain.timestamps import iso_millis
from infrastructure.signing import key_id, public_key_of, sign, signature_holds
from projections.seal_check import EventChainCheck
from projections.sealer import SEALS_TABLE, row_tuple, sealed_head

log = logging.getLogger("llmchat.checkpoints")


class Checkpoint(msgspec.Struct, frozen=True, rename="camel"):
    position: int
    seal: str
    time: str
    key_id: str
    public_key: str
    signature: str = ""


def signed_bytes(checkpoint: Checkpoint) -> bytes:
    fields = msgspec.to_builtins(checkpoint)
    del fields["signature"]
    return msgspec.json.encode(fields, order="sorted")


def new_checkpoint(position: int, seal: str, private_key: str, clock: Clock) -> Checkpoint:
    public = public_key_of(private_key)
    unsigned = Checkpoint(position, seal, iso_millis(clock.now()), key_id(public), public)
    return msgspec.structs.replace(unsigned, signature=sign(private_key, signed_bytes(unsigned)))


def encoded(checkpoint: Checkpoint) -> str:
    return msgspec.json.encode(checkpoint).decode()


class UnreadableCheckpoint(ValueError):
    pass


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Checkpoint)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
        raise UnreadableCheckpoint(f"{path}: not a checkpoint ({error})") from None


def signature_problem(checkpoint: Checkpoint, public_key: str) -> str | None:
    """Why the checkpoint's signature is not one to believe, or None."""
    if checkpoint.public_key != public_key or checkpoint.key_id != key_id(public_key):
        return (
            f"signed by another key (key id {checkpoint.key_id}, not {key_id(public_key)}): refused"
        )
    if not signature_holds(public_key, signed_bytes(checkpoint), checkpoint.signature):
        return "its signature does not hold (the checkpoint was altered): refused"
    return None


def seal_at(conn: psycopg.Connection[Any], position: int) -> str | None:
    row = conn.execute(
        f"SELECT seal FROM {SEALS_TABLE} WHERE position = %s", (position,)
    ).fetchone()
    return None if row is None else str(row_tuple(row)[0])


def history_problem(
    checkpoint: Checkpoint, conn: psycopg.Connection[Any], chain: EventChainCheck
) -> str | None:
    """Why history up to the checkpoint is not proven unchanged, or None. `chain` is the
    walk of the same snapshot: its breaks are reported on their own."""
    at = checkpoint.position
    if chain.log_head < at:
        return f"the log ends at position {chain.log_head}, before position {at}: truncated"
    seal = seal_at(conn, at) if chain.sealing else None
    if seal is None and chain.position < at:
        return (
            f"the seal chain ends at position {chain.position}, before position {at}:"
            " truncated or its seals removed"
        )
    if seal is None:
        return f"no seal at position {at}: its event or seal was removed"
    if seal != checkpoint.seal:
        return (
            f"history up to position {at} was rewritten: the seal there is {seal},"
            f" the checkpoint's {checkpoint.seal}"
        )
    return None


class CheckpointWriter:
    """Writes a checkpoint of the sealed head every `minutes`, to `directory` and the log;
    the first at the first catch-up."""

    def __init__(self, private_key: str, directory: Path, minutes: float, clock: Clock) -> None:
        self.private_key = private_key
        self.directory = directory
        self.seconds = minutes * 60
        self.clock = clock
        self.next_at = 0.0

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        if time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + self.seconds
        position, seal = sealed_head(conn)
        if position == 0:
            return  # nothing sealed: nothing to vouch for
        checkpoint = new_checkpoint(position, seal, self.private_key, self.clock)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = checkpoint.time.replace("-", "").replace(":", "").replace(".", "")
            path = self.directory / f"checkpoint-{stamp}-{position}.json"
            path.write_text(encoded(checkpoint) + "\n")
        except OSError as error:
            log.error("checkpoint not written to %s: %s", self.directory, error)
        log.info("checkpoint %s", encoded(checkpoint))
