"""File use cases in memory: uploads stored whole or not at all, drawings parsed once."""

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from eventsourcing.popo import POPOApplicationRecorder

from api.files import RangeNotSatisfiable, content_disposition, requested_range
from application.delete_file import DeleteFile, delete_file
from application.errors import NotFound, ValidationFailed
from application.file_queries import file_by_stored_name, file_content, file_info
from application.files import Files, FileTooLarge, ParsedDrawing, UnsupportedFormat
from application.parse_drawing import (
    ParseUploadedDrawing,
    parse_sent_drawing,
    parse_uploaded_drawing,
)
from application.ports import AccessClaims, PendingEvent
from application.preview_drawing import PreviewDrawing, preview_drawing
from application.upload_file import UploadFile, upload_file
from domain.events import name_of
from domain.file import MAX_BYTES, File, display_name
from infrastructure.blob_store import DirectoryBlobStore, InMemoryBlobStore, fixed_size
from infrastructure.cad.reader import DxfReader
from infrastructure.drawing_results import InMemoryDrawingResults
from infrastructure.event_store import RecorderEventStore
from infrastructure.files.inspector import ContentChecks
from infrastructure.settings import SettingsError, read_settings
from tests.unit.fakes import FixedClock, in_memory_store
from tests.unit.test_cad import simple_drawing, to_bytes
from tests.unit.test_file_content import dwg_bytes, pdf_bytes, png_bytes

OWNER = AccessClaims("11111111-1111-4111-8111-111111111111", "user", "j1", "f1", 0)
STRANGER = AccessClaims("22222222-2222-4222-8222-222222222222", "user", "j2", "f2", 0)
ADMIN = AccessClaims("33333333-3333-4333-8333-333333333333", "admin", "j3", "f3", 0)


class CountingReader(DxfReader):
    def __init__(self) -> None:
        super().__init__()
        self.parses = 0

    def parse(self, data: bytes) -> ParsedDrawing:
        self.parses += 1
        return super().parse(data)


class FailingAppends(RecorderEventStore):
    """An event store whose appends fail, as when the database drops mid-upload."""

    def __init__(self) -> None:
        super().__init__(POPOApplicationRecorder(), FixedClock())

    def append(self, events: Sequence[PendingEvent]) -> list[int]:
        raise ConnectionError("database went away")


@pytest.fixture
def files() -> Files:
    return Files(
        store=in_memory_store(),
        blobs=InMemoryBlobStore(),
        inspector=ContentChecks(),
        drawings=CountingReader(),
        drawing_results=InMemoryDrawingResults(),
    )


def upload(
    files: Files,
    name: str,
    data: bytes,
    declared_type: str | None = None,
    caller: AccessClaims = OWNER,
) -> File:
    command = UploadFile(caller.user_id, name, declared_type, "a description", io.BytesIO(data))
    return upload_file(files, command)


def event_names(files: Files) -> list[str]:
    return [name_of(r.event) for r in files.store.read_all(0, 1000)]


def test_an_upload_keeps_the_bytes_and_records_their_size_and_hash(files):
    data = png_bytes()
    file = upload(files, "photo.PNG", data, "image")

    assert (file.file_type, file.extension, file.content_type) == ("image", "png", "image/png")
    assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert file.stored_name == f"{file.id}.png" and file.original_name == "photo.PNG"
    assert b"".join(file_content(files, file, 0, file.size)) == data
    assert event_names(files) == ["FileUploaded"]


@pytest.mark.parametrize(
    ("name", "data", "inferred"),
    [("plan.dxf", to_bytes(simple_drawing()), "cad"), ("spec.pdf", pdf_bytes(), "document")],
)
def test_the_type_is_inferred_from_the_extension_when_left_out(files, name, data, inferred):
    assert upload(files, name, data).file_type == inferred


def test_a_text_larger_than_one_chunk_is_checked_and_stored_whole(files):
    # Multi-byte characters straddle every chunk boundary of the upload's reads.
    data = "设计说明。".encode() * 200_000
    file = upload(files, "notes.md", data)
    assert file.size == len(data)
    assert b"".join(file_content(files, file, 0, file.size)) == data


TEXT_HEAD_OK_TAIL_BAD = b"fine ascii\n" * 2000 + b"\xff\xfe broken"


@pytest.mark.parametrize(
    ("name", "data", "declared_type", "error", "says"),
    [
        ("tool.exe", b"MZ\x90\x00", None, ValidationFailed, ".exe"),
        ("photo.png", pdf_bytes(), None, ValidationFailed, "not a PNG image"),
        ("photo.png", png_bytes(), "document", ValidationFailed, "does not match"),
        ("photo.png", png_bytes(), "video", ValidationFailed, "Unknown file type"),
        ("notes.txt", TEXT_HEAD_OK_TAIL_BAD, None, ValidationFailed, "not valid UTF-8"),
        ("notes.txt", "ends mid-character 设".encode()[:-1], None, ValidationFailed, "ends inside"),
        ("empty.pdf", b"", None, ValidationFailed, "empty"),
        ("big.txt", b"a" * (MAX_BYTES + 1), None, FileTooLarge, str(MAX_BYTES)),
        ("/\u202e", png_bytes(), None, ValidationFailed, "name"),
    ],
    ids=[
        "bad-extension",
        "content-mismatch",
        "wrong-declared-type",
        "unknown-type",
        "invalid-utf8-past-the-head",
        "truncated-utf8",
        "empty",
        "too-large",
        "no-name-left",
    ],
)
def test_a_refused_upload_leaves_nothing_behind(files, name, data, declared_type, error, says):
    with pytest.raises(error) as refused:
        upload(files, name, data, declared_type)
    assert says in refused.value.details
    assert files.blobs.blobs == {}
    assert event_names(files) == []


def test_an_upload_whose_event_fails_leaves_no_bytes(files):
    failing = Files(
        FailingAppends(), files.blobs, files.inspector, files.drawings, files.drawing_results
    )
    with pytest.raises(ConnectionError):
        upload(failing, "photo.png", png_bytes())
    assert files.blobs.blobs == {}


def test_a_file_exactly_at_the_limit_is_accepted(files):
    assert upload(files, "big.txt", b"a" * MAX_BYTES).size == MAX_BYTES


def test_names_keep_any_script_but_lose_paths_and_control_characters():
    assert display_name("C:\\Users\\李\\设计 图纸.dxf") == "设计 图纸.dxf"
    assert display_name("../../etc/passwd.txt") == "passwd.txt"
    assert display_name("evil\r\nX-Header: 1.txt") == "evilX-Header: 1.txt"
    assert display_name("photo\u202egnp.exe") == "photognp.exe"
    assert display_name("Ünïcødé 🎉.md") == "Ünïcødé 🎉.md"


def test_only_the_owner_and_admins_see_a_file(files):
    file = upload(files, "photo.png", png_bytes())
    assert file_info(files, file.id, OWNER).id == file.id
    assert file_info(files, file.id, ADMIN).id == file.id
    for attempt in (
        lambda: file_info(files, file.id, STRANGER),
        lambda: file_by_stored_name(files, file.stored_name, STRANGER),
        lambda: delete_file(files, DeleteFile(file.id, STRANGER)),
        lambda: parse_uploaded_drawing(files, ParseUploadedDrawing(file.id, STRANGER)),
        lambda: preview_drawing(files, PreviewDrawing(file.id, STRANGER)),
    ):
        with pytest.raises(NotFound):
            attempt()


@pytest.mark.parametrize("file_id", ["not-a-uuid", OWNER.user_id, ""])
def test_ids_that_are_not_files_are_not_found(files, file_id):
    with pytest.raises(NotFound):
        file_info(files, file_id, ADMIN)


def test_a_download_name_must_carry_the_stored_extension(files):
    file = upload(files, "photo.png", png_bytes())
    assert file_by_stored_name(files, f"{file.id}.png", OWNER).id == file.id
    for wrong in (f"{file.id}.jpg", file.id, f"{file.id}.png.txt"):
        with pytest.raises(NotFound):
            file_by_stored_name(files, wrong, OWNER)


def test_deleting_removes_bytes_and_result_and_hides_the_file(files):
    file = upload(files, "plan.dxf", to_bytes(simple_drawing()))
    parse_uploaded_drawing(files, ParseUploadedDrawing(file.id, OWNER))

    delete_file(files, DeleteFile(file.id, OWNER))

    assert event_names(files) == ["FileUploaded", "CadParsed", "FileDeleted"]
    assert files.blobs.blobs == {} and files.drawing_results.results == {}
    with pytest.raises(NotFound):
        file_info(files, file.id, OWNER)
    with pytest.raises(NotFound):
        delete_file(files, DeleteFile(file.id, OWNER))


def test_an_admin_may_delete_anyones_file(files):
    file = upload(files, "photo.png", png_bytes())
    delete_file(files, DeleteFile(file.id, ADMIN))
    deleted = files.store.read(file.id)[-1].event
    assert deleted.deleted_by == ADMIN.user_id


def test_an_uploaded_drawing_is_parsed_once(files):
    file = upload(files, "plan.dxf", to_bytes(simple_drawing()))
    command = ParseUploadedDrawing(file.id, OWNER)

    first = parse_uploaded_drawing(files, command)
    second = parse_uploaded_drawing(files, command)

    assert first == second
    assert files.drawings.parses == 1
    assert [e["type"] for e in json.loads(first)["entities"]] == ["LINE", "CIRCLE"]
    parsed = files.store.read(file.id)[-1].event
    assert (parsed.entity_count, parsed.truncated) == (2, False)
    assert event_names(files) == ["FileUploaded", "CadParsed"]


def test_an_unreadable_drawing_is_recorded_and_not_parsed_again(files):
    # The head looks like DXF, so the upload is accepted; the rest is not a drawing.
    file = upload(files, "plan.dxf", b"0\nSECTION\n2\nHEADER\n0\nENDSEC\n")
    command = ParseUploadedDrawing(file.id, OWNER)

    for _ in range(2):
        with pytest.raises(ValidationFailed) as refused:
            parse_uploaded_drawing(files, command)
        assert "ENTITIES" in refused.value.details

    assert files.drawings.parses == 1
    assert event_names(files) == ["FileUploaded", "CadParseFailed"]


@pytest.mark.parametrize(("name", "data"), [("plan.dwg", dwg_bytes()), ("photo.png", png_bytes())])
def test_only_dxf_files_are_parsed_or_previewed(files, name, data):
    file = upload(files, name, data)
    with pytest.raises(UnsupportedFormat) as refused:
        parse_uploaded_drawing(files, ParseUploadedDrawing(file.id, OWNER))
    assert "DXF" in refused.value.details
    with pytest.raises(UnsupportedFormat):
        preview_drawing(files, PreviewDrawing(file.id, OWNER))
    assert files.drawings.parses == 0


def test_a_sent_dwg_is_unsupported_and_garbage_invalid(files):
    with pytest.raises(UnsupportedFormat) as unsupported:
        parse_sent_drawing(files, io.BytesIO(dwg_bytes()))
    assert "DXF" in unsupported.value.details
    with pytest.raises(ValidationFailed):
        parse_sent_drawing(files, io.BytesIO(b"not a drawing at all"))
    with pytest.raises(FileTooLarge):
        parse_sent_drawing(files, io.BytesIO(b"0" * (MAX_BYTES + 1)))
    assert event_names(files) == []


def test_a_preview_draws_the_uploaded_drawing(files):
    file = upload(files, "plan.dxf", to_bytes(simple_drawing()))
    svg = preview_drawing(files, PreviewDrawing(file.id, OWNER))
    assert svg.startswith("<svg") and svg.count("<path") == 2


def test_the_directory_store_keeps_whole_blobs_and_reads_ranges(tmp_path: Path):
    store = DirectoryBlobStore(tmp_path)
    data = bytes(range(256)) * 5000
    store.put("ab12", [data[:1000], data[1000:]])
    assert b"".join(store.read("ab12", 0, len(data))) == data
    assert b"".join(store.read("ab12", 300_000, 300_010)) == data[300_000:300_010]
    store.delete("ab12")
    assert list(tmp_path.rglob("*")) == [tmp_path / "ab"]


def test_the_directory_store_keeps_nothing_of_a_refused_blob(tmp_path: Path):
    def refused_midway():
        yield b"first part"
        raise ValidationFailed("File refused")

    with pytest.raises(ValidationFailed):
        DirectoryBlobStore(tmp_path).put("cd34", refused_midway())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_chunks_are_recut_to_a_fixed_size():
    assert list(fixed_size([b"ab", b"cdefg", b"", b"h"], 3)) == [b"abc", b"def", b"gh"]
    assert list(fixed_size([], 3)) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=90-", (90, 100)),
        ("bytes=-5", (95, 100)),
        ("bytes=-500", (0, 100)),
        ("bytes=95-1000", (95, 100)),
        ("bytes=5-2", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
        ("bytes=" + "9" * 5000 + "-", None),
    ],
)
def test_byte_ranges_are_read_as_rfc_9110_says(header, expected):
    assert requested_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-200", "bytes=-0"])
def test_ranges_past_the_end_are_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, 100)


def test_the_download_name_is_given_in_ascii_and_exactly(files):
    file = upload(files, '设计 "v2".png', png_bytes())
    assert content_disposition(file) == (
        "inline; filename=\"__ _v2_.png\"; filename*=UTF-8''%E8%AE%BE%E8%AE%A1%20%22v2%22.png"
    )


def test_file_storage_is_postgres_or_a_directory():
    assert read_settings({}).file_storage == "postgres"
    chosen = read_settings({"LLMCHAT_FILE_STORAGE": "directory", "LLMCHAT_FILE_DIR": "/srv/f"})
    assert (chosen.file_storage, chosen.file_dir) == ("directory", "/srv/f")
    with pytest.raises(SettingsError, match="LLMCHAT_FILE_STORAGE"):
        read_settings({"LLMCHAT_FILE_STORAGE": "s3"})
