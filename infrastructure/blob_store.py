"""Where uploaded bytes live: PostgreSQL (the default), a directory, or memory (tests).

PostgreSQL is the default so that every API instance sees every file with no shared disk;
files of at most 10 MB sit well in it. A blob is kept as fixed-size chunk rows, so a range
request reads only the chunks it needs and no query moves more than one chunk.
"""

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from eventsourcing.postgres import PostgresDatastore

CHUNK_BYTES = 256 * 1024


class BlobMissing(Exception):
    """The bytes of a recorded file are gone: storage was changed behind the event log."""


def fixed_size(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The same bytes re-cut into pieces of `size` (the last one may be shorter)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def check_range(start: int, stop: int) -> None:
    if not 0 <= start <= stop:
        raise ValueError(f"not a byte range: [{start}, {stop})")


class PostgresBlobStore:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def put(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        # One transaction: an error from `chunks` (a refused or oversized upload) rolls
        # every row back, and the commit is what makes the upload durable.
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
            for seq, chunk in enumerate(fixed_size(chunks, CHUNK_BYTES)):
                cursor.execute(
                    "INSERT INTO llmchat_blob_chunks (blob_id, seq, data) VALUES (%s, %s, %s)",
                    (blob_id, seq, chunk),
                )

    def read(self, blob_id: str, start: int, stop: int) -> Iterator[bytes]:
        check_range(start, stop)
        position = start
        while position < stop:
            seq, offset = divmod(position, CHUNK_BYTES)
            length = min(CHUNK_BYTES - offset, stop - position)
            # A connection per chunk: a slow client must not hold one for its whole download.
            with self.datastore.get_connection() as conn:
                row = conn.execute(
                    "SELECT substring(data FROM %s FOR %s) AS part FROM llmchat_blob_chunks"
                    " WHERE blob_id = %s AND seq = %s",
                    (offset + 1, length, blob_id, seq),
                ).fetchone()
            if row is None or len(row["part"]) != length:
                raise BlobMissing(f"blob {blob_id} has no bytes at {position}")
            yield bytes(row["part"])
            position += length

    def delete(self, blob_id: str) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("DELETE FROM llmchat_blob_chunks WHERE blob_id = %s", (blob_id,))


class DirectoryBlobStore:
    """One file per blob under `root`, which every instance must share (e.g. a network mount)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, blob_id: str) -> Path:
        # Fan out by the id's first two characters: directories of millions of entries are slow.
        return self.root / blob_id[:2] / blob_id

    def put(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        target = self.path_of(blob_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and renamed once synced: a crash or a refused upload
        # never leaves a partial file under the real name.
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        sync_directory(target.parent)

    def read(self, blob_id: str, start: int, stop: int) -> Iterator[bytes]:
        check_range(start, stop)
        try:
            source = self.path_of(blob_id).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"blob {blob_id} is missing") from None
        with source:
            source.seek(start)
            left = stop - start
            while left > 0:
                chunk = source.read(min(CHUNK_BYTES, left))
                if not chunk:
                    raise BlobMissing(f"blob {blob_id} ends before byte {stop}")
                left -= len(chunk)
                yield chunk

    def delete(self, blob_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_of(blob_id).unlink()


def sync_directory(directory: Path) -> None:
    """Make a rename durable: the new directory entry survives a power loss."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class InMemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def put(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        data = b"".join(chunks)
        with self.lock:
            self.blobs[blob_id] = data

    def read(self, blob_id: str, start: int, stop: int) -> Iterator[bytes]:
        check_range(start, stop)
        data = self.blobs.get(blob_id)
        if data is None or len(data) < stop:
            raise BlobMissing(blob_id)
        yield data[start:stop]

    def delete(self, blob_id: str) -> None:
        with self.lock:
            self.blobs.pop(blob_id, None)
