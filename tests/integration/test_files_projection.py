"""The files read model on real PostgreSQL: built from the log, and the same when rebuilt."""

import uuid
from typing import Any

import pytest

from application.ports import PendingEvent
from domain.file import CadParsed, FileDeleted, FileUploaded
from infrastructure.blob_store import PostgresBlobStore
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from projections.files import FilesProjection
from projections.runner import POSITIONS, ProjectionRunner
from tests.unit.fakes import FixedClock


@pytest.fixture(scope="module")
def datastore(make_database):
    store = open_datastore(make_database("files_projection"), pool_size=2)
    yield store
    store.close()


@pytest.fixture(scope="module")
def store(datastore):
    recorder = create_schema(datastore, [*POSITIONS, *FilesProjection.schema])
    return RecorderEventStore(recorder, FixedClock())


def uploaded(file_id: str, owner_id: str, size: int) -> FileUploaded:
    return FileUploaded(
        file_id=file_id,
        owner_id=owner_id,
        original_name="平面图.dxf",
        extension="dxf",
        file_type="cad",
        content_type="image/vnd.dxf",
        size=size,
        sha256="0" * 64,
        description="",
    )


def rows(datastore) -> list[dict[str, Any]]:
    with datastore.get_connection() as conn:
        found: list[dict[str, Any]] = conn.execute(
            "SELECT file_id::text, stored_name, original_name, size, cad_entity_count,"
            " deleted_at IS NOT NULL AS deleted FROM llmchat_files ORDER BY size"
        ).fetchall()
    return found


def test_the_files_table_follows_the_log_and_rebuilds_the_same(datastore, store):
    owner, kept, deleted = (str(uuid.uuid4()) for _ in range(3))
    store.append([PendingEvent(kept, 1, uploaded(kept, owner, 10))])
    store.append([PendingEvent(deleted, 1, uploaded(deleted, owner, 20))])
    parsed = CadParsed(file_id=kept, entity_count=7, layer_count=1, truncated=False)
    store.append([PendingEvent(kept, 2, parsed)])
    store.append([PendingEvent(deleted, 2, FileDeleted(file_id=deleted, deleted_by=owner))])
    runner = ProjectionRunner(datastore, store, "unused", "unused")
    projection = FilesProjection()

    runner.catch_up(projection)
    built = rows(datastore)

    assert built == [
        {
            "file_id": kept,
            "stored_name": f"{kept}.dxf",
            "original_name": "平面图.dxf",
            "size": 10,
            "cad_entity_count": 7,
            "deleted": False,
        },
        {
            "file_id": deleted,
            "stored_name": f"{deleted}.dxf",
            "original_name": "平面图.dxf",
            "size": 20,
            "cad_entity_count": None,
            "deleted": True,
        },
    ]
    with datastore.get_connection() as conn:
        conn.execute("TRUNCATE llmchat_files")
        conn.execute("UPDATE llmchat_projection_positions SET position = 0 WHERE name = 'files'")
    runner.catch_up(projection)
    assert rows(datastore) == built


def test_postgres_blobs_are_whole_or_absent(datastore, store):  # store: the tables
    blobs = PostgresBlobStore(datastore)
    data = bytes(range(256)) * 3000  # three chunks, the last one short
    blob_id = str(uuid.uuid4())
    blobs.put(blob_id, [data[:100], data[100:]])
    assert b"".join(blobs.read(blob_id, 0, len(data))) == data
    assert b"".join(blobs.read(blob_id, 262_140, 262_150)) == data[262_140:262_150]

    def refused_midway():
        yield data
        raise ValueError("refused")

    refused_id = str(uuid.uuid4())
    with pytest.raises(ValueError):
        blobs.put(refused_id, refused_midway())
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM llmchat_blob_chunks WHERE blob_id = %s", (refused_id,)
        ).fetchone()
    assert row["n"] == 0
