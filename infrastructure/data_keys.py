"""Data keys in PostgreSQL (llmchat_data_keys): one per conversation and one per user, each
wrapped by LLMCHAT_ENCRYPTION_KEY when it is set, destroyed to erase what it encrypted.

A row is `key_id` (the conversation's session id or the user's id), `owner_id` (the user
whose erasure destroys it), `wrapped` (the key, AES-GCM under the master key, or the key
itself without one) and `destroyed_at`. Destroying a key sets `wrapped` to NULL: the
events it encrypted stay byte for byte as they were sealed and can no longer be read.

One more row, LOG_KEY_ID, holds the key that encrypts whole event payloads at rest
(infrastructure/encryption.py) when a master key is set: it is the master key the table
was created under, so events written before the table existed still open, and
`llmchat keys rotate` re-wraps it with the rest instead of rewriting the log.

Each process keeps the keys it used: to read with for KEEP_SECONDS (a key destroyed by
another process may still open events here for that long), to write with for as long as
it runs (what it writes under a key destroyed elsewhere is lost, never readable). A key
destroyed here is known as destroyed at once, for good.

A conversation's key is made where its first events are written, not asked of the table:
the chat path (the group-commit writer) saves it in the same transaction as those events
(`fresh`, then `saved` or `dropped`), so a new chat's first commit waits for no round trip
of its own and no key exists without its stream (nor a stream without its key).
"""

import os
import threading
import time
from base64 import b64decode
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore

KEY_TABLE = "llmchat_data_keys"
LOG_KEY_ID = "00000000-0000-0000-0000-000000000000"
KEEP_SECONDS = 60.0
KEPT_KEYS = 100_000
KEY_BYTES = 32

DESTROYED = b""

# A key's first row; a second of the same id (two processes making it at once) is dropped.
INSERT_KEY = (
    f"INSERT INTO {KEY_TABLE} (key_id, owner_id, wrapped) VALUES (%s, %s, %s)"
    " ON CONFLICT (key_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key made for a new stream, to be saved with the stream's first events."""

    key_id: str
    owner_id: str
    wrapped: bytes


class MasterKeyMismatch(Exception):
    """The key table's keys are wrapped under another master key than the one given."""


class GcmCipher:
    """AES-GCM in eventsourcing's AESCipher format (a 12-byte nonce, the 16-byte tag, then the
    ciphertext), on OpenSSL through `cryptography`: pycryptodome builds each message's GCM
    state in Python, which was half of a rebuild's time once every event with personal
    content is encrypted (profile in docs/benchmarks.md). What either writes, the other
    reads."""

    def __init__(self, key: bytes) -> None:
        self.aead = AESGCM(key)  # refuses a key that is not 16, 24 or 32 bytes

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, plaintext, None)  # ciphertext, then the tag
        return nonce + sealed[-16:] + sealed[:-16]

    def decrypt(self, ciphertext: bytes) -> bytes:
        nonce, tag, encrypted = ciphertext[:12], ciphertext[12:28], ciphertext[28:]
        if len(nonce) != 12 or len(tag) != 16:
            raise ValueError("Damaged cipher text: invalid nonce or tag length")
        try:
            return self.aead.decrypt(nonce, encrypted + tag, None)
        except InvalidTag:
            raise ValueError("Cipher text is damaged: MAC check failed") from None


def cipher_of(key: bytes) -> GcmCipher:
    return GcmCipher(key)


def wrap(key: bytes, master: str | None) -> bytes:
    return key if master is None else cipher_of(b64decode(master)).encrypt(key)


def unwrap(wrapped: bytes, master: str | None) -> bytes:
    if master is None:
        return wrapped
    try:
        return cipher_of(b64decode(master)).decrypt(wrapped)
    except ValueError as error:  # the GCM tag does not hold: another master key
        raise MasterKeyMismatch(str(error)) from None


class PostgresDataKeys:
    def __init__(self, datastore: PostgresDatastore, master: str | None) -> None:
        self.datastore = datastore
        self.master = master
        self.kept: dict[str, tuple[bytes, float]] = {}
        self.unsaved: dict[str, KeyRow] = {}
        self.not_fresh: set[str] = set()
        self.lock = threading.Lock()

    def fresh(self, key_id: str, owner_id: str) -> tuple[bytes, KeyRow] | None:
        """The key of a stream being started, made here; the caller saves the row with the
        stream's first events and says `saved` or `dropped`. A retry of the same first
        append is given the same key; None once such an append failed on its own (a key
        of that id may be in the table: ask it)."""
        with self.lock:
            if key_id in self.not_fresh:
                return None
            row = self.unsaved.get(key_id)
            if row is not None:
                return self.kept[key_id][0], row
            made = os.urandom(KEY_BYTES)
            row = KeyRow(key_id, owner_id, wrap(made, self.master))
            self.unsaved[key_id] = row
            self.kept[key_id] = (made, float("inf"))  # nobody else can have it yet
            return made, row

    def saved(self, rows: Sequence[KeyRow]) -> None:
        with self.lock:
            for row in rows:
                if self.unsaved.pop(row.key_id, None) is not None:
                    key = self.kept[row.key_id][0]
                    self.kept[row.key_id] = (key, time.monotonic() + KEEP_SECONDS)

    def dropped(self, rows: Sequence[KeyRow], suspect: bool = False) -> None:
        """Their append failed: the keys never existed. `suspect`: it failed on its own
        (a key of that id may be in the table), so the next try asks the table."""
        with self.lock:
            if len(self.not_fresh) > 10_000:
                self.not_fresh.clear()
            for row in rows:
                if suspect:
                    self.not_fresh.add(row.key_id)
                if self.unsaved.pop(row.key_id, None) is not None:
                    self.kept.pop(row.key_id, None)

    def key(self, key_id: str) -> bytes | None:
        """The key to read with: None if it was destroyed, or never made."""
        found = self.looked_up(key_id)
        return found or None

    def key_to_write(self, key_id: str, owner: Callable[[], str]) -> bytes | None:
        """The key to encrypt with, made now (owned by `owner()`) if there is none yet;
        None if it was destroyed: what would go under it is erased already."""
        # However long ago it was read: text written under a key destroyed meanwhile is only
        # lost, never kept, and a reply's every batch must not wait for the table.
        kept = self.kept.get(key_id)
        found = kept[0] if kept is not None else self.looked_up(key_id)
        if found is not None:
            return found or None
        made = os.urandom(KEY_BYTES)
        with self.datastore.transaction(commit=True) as cursor:
            # Two processes making the first key at once: one row wins, both use it.
            cursor.execute(INSERT_KEY, (key_id, owner(), wrap(made, self.master)))
        self.kept.pop(key_id, None)
        return self.looked_up(key_id) or None

    def looked_up(self, key_id: str) -> bytes | None:
        """The key (DESTROYED if destroyed), from what this process keeps or the table;
        None if there is no such key."""
        kept = self.kept.get(key_id)
        if kept is not None and (kept[0] == DESTROYED or kept[1] > time.monotonic()):
            return kept[0]
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                f"SELECT wrapped FROM {KEY_TABLE} WHERE key_id = %s", (key_id,)
            ).fetchone()
        if row is None:
            return None
        return self.keep(key_id, row["wrapped"], time.monotonic())

    def prefetch(self, key_ids: Iterable[str]) -> None:
        """Keys about to be read, those not kept asked in one query."""
        now = time.monotonic()
        wanted = [k for k in key_ids if (kept := self.kept.get(k)) is None or kept[1] <= now]
        if not wanted:
            return
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT key_id, wrapped FROM {KEY_TABLE} WHERE key_id = ANY(%s::uuid[])",
                (wanted,),
            ).fetchall()
        for row in rows:
            self.keep(str(row["key_id"]), row["wrapped"], now)

    def keep(self, key_id: str, wrapped: bytes | None, now: float) -> bytes:
        """A key as the table holds it (None: destroyed), kept for KEEP_SECONDS."""
        key = DESTROYED if wrapped is None else unwrap(bytes(wrapped), self.master)
        if len(self.kept) >= KEPT_KEYS:
            with self.lock:  # not the keys of appends still in flight
                self.kept = {k: self.kept[k] for k in self.unsaved if k in self.kept}
        self.kept[key_id] = (key, now + KEEP_SECONDS)
        return key

    def forget(self, key_ids: Iterable[str]) -> None:
        """Keys this process destroyed: known as destroyed at once."""
        for key_id in key_ids:
            self.kept[key_id] = (DESTROYED, 0.0)

    def owned_by(self, owner_id: str) -> list[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT key_id FROM {KEY_TABLE} WHERE owner_id = %s", (owner_id,)
            ).fetchall()
        return [str(row["key_id"]) for row in rows]

    def log_key(self) -> bytes | None:
        """The key of whole payloads (None without a master key): the row's, or the master
        key itself where no start has made the row yet (read-only commands write nothing)."""
        if self.master is None:
            return None
        return self.looked_up(LOG_KEY_ID) or b64decode(self.master)

    def make_log_key(self) -> None:
        """At start: the payload key's row, the master key itself wrapped under itself."""
        if self.master is None:
            return
        with self.datastore.transaction(commit=True) as cursor:
            master = self.master
            cursor.execute(INSERT_KEY, (LOG_KEY_ID, LOG_KEY_ID, wrap(b64decode(master), master)))


def destroy_keys(cursor: Any, key_ids: Iterable[str]) -> None:
    """In the caller's transaction: the keys are gone once it commits."""
    cursor.execute(
        f"UPDATE {KEY_TABLE} SET wrapped = NULL, destroyed_at = now()"
        " WHERE key_id = ANY(%s) AND wrapped IS NOT NULL",
        (list(key_ids),),
    )


def rotate_master(datastore: PostgresDatastore, old: str, new: str) -> int:
    """Every live key re-wrapped from `old` to `new` in one transaction (all or none), the
    events untouched; keys already under `new` are left, and a run that finds every key
    under `new` (repeated, or the keys swapped) changes nothing and says so. The payload key's
    row is made first where no start made it: it is `old` itself, which payloads at rest
    were encrypted with. Returns how many were re-wrapped; MasterKeyMismatch names a key
    neither opens."""
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(INSERT_KEY, (LOG_KEY_ID, LOG_KEY_ID, wrap(b64decode(old), old)))
        cursor.execute(
            f"SELECT key_id, wrapped FROM {KEY_TABLE} WHERE wrapped IS NOT NULL FOR UPDATE"
        )
        rows = [(str(row["key_id"]), bytes(row["wrapped"])) for row in cursor.fetchall()]
        rewrapped = []
        for key_id, wrapped in rows:
            try:
                key = unwrap(wrapped, old)
            except MasterKeyMismatch:
                try:
                    unwrap(wrapped, new)
                except MasterKeyMismatch:
                    raise MasterKeyMismatch(f"neither key opens data key {key_id}") from None
                continue
            rewrapped.append((wrap(key, new), key_id))
        if rows and not rewrapped:
            raise MasterKeyMismatch("every key is under the new key already")
        cursor.executemany(f"UPDATE {KEY_TABLE} SET wrapped = %s WHERE key_id = %s", rewrapped)
    return len(rewrapped)
