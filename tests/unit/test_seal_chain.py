"""The seal chain's formula and the check of one link, in memory; signing of checkpoints."""

import base64
import hashlib
import json
from datetime import UTC, datetime

import msgspec
from Crypto.Signature import eddsa

from infrastructure.signing import key_id, new_signing_key, public_key_of, sign, signature_holds
from projections.checkpoints import new_checkpoint, signature_problem
from projections.seal_chain import GENESIS, RawEvent, Seal, check_link, seal_of, sealed
from tests.unit.fakes import FixedClock

EVENT = RawEvent(1, "6f1c5b0e-9d43-4a8e-a3a3-5c1d8f0b7e21", 1, "UserRegistered", "ab" * 32)


def test_a_seal_is_the_sha256_of_the_compact_json_of_what_it_covers():
    covered = [1, EVENT.stream_id, 1, "UserRegistered", "ab" * 32, GENESIS]
    expected = hashlib.sha256(json.dumps(covered, separators=(",", ":")).encode()).hexdigest()
    assert seal_of(EVENT, GENESIS) == expected


def test_each_seal_follows_the_one_before():
    second = RawEvent(2, EVENT.stream_id, 2, "UserSignedIn", "cd" * 32)
    first_seal, second_seal = sealed([EVENT, second], GENESIS)
    assert first_seal.previous == GENESIS
    assert second_seal.previous == first_seal.seal == seal_of(EVENT, GENESIS)
    assert second_seal.seal == seal_of(second, first_seal.seal)


def problem(event: RawEvent | None, seal: Seal | None, previous: str) -> str:
    broken = check_link(event, seal, previous)
    assert broken is not None
    return broken.problem


def test_a_link_names_what_changed():
    [seal] = sealed([EVENT], GENESIS)
    assert check_link(EVENT, seal, GENESIS) is None
    altered = RawEvent(1, EVENT.stream_id, 1, "UserRegistered", "ef" * 32)
    assert "stored state" in problem(altered, seal, GENESIS)
    moved = RawEvent(1, EVENT.stream_id, 2, "UserRegistered", EVENT.state_hash)
    assert "altered or moved" in problem(moved, seal, GENESIS)
    assert "deleted" in problem(None, seal, GENESIS)
    assert "inserted" in problem(EVENT, None, GENESIS)
    assert "does not follow" in problem(EVENT, seal, "11" * 32)
    # Retention's recorded rewrite of the state is not a forgery.
    assert check_link(altered, seal, GENESIS, rewritten="ef" * 32) is None


def test_a_checkpoint_holds_under_its_own_key_only():
    private, public = new_signing_key()
    _, other = new_signing_key()
    clock = FixedClock()
    clock.moment = datetime(2026, 1, 2, tzinfo=UTC)
    checkpoint = new_checkpoint(7, "aa" * 32, private, clock)
    assert checkpoint.key_id == key_id(public) and checkpoint.time == "2026-01-02T00:00:00.000Z"
    assert signature_problem(checkpoint, public) is None
    assert "another key" in (signature_problem(checkpoint, other) or "")
    forged = msgspec.structs.replace(checkpoint, position=8)
    assert "does not hold" in (signature_problem(forged, public) or "")


def test_signatures_are_those_pycryptodome_made_and_it_checks_them():
    """Checkpoints signed before the move to `cryptography` still verify, and the other way."""
    private, public = new_signing_key()
    theirs = eddsa.import_private_key(base64.b64decode(private))
    assert base64.b64encode(theirs.public_key().export_key(format="raw")).decode() == public
    message = b"checkpoint 7 " + bytes(range(32))
    their_signature = base64.b64encode(eddsa.new(theirs, "rfc8032").sign(message)).decode()
    assert sign(private, message) == their_signature
    assert signature_holds(public, message, their_signature)
    assert not signature_holds(public, message + b"!", their_signature)
    eddsa.new(eddsa.import_public_key(base64.b64decode(public)), "rfc8032").verify(
        message, base64.b64decode(sign(private, message))
    )
    assert public_key_of(private) == public
