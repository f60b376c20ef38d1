"""ParseDrawing: a DXF as entities, layers and bounds, sent with the request or uploaded.

An uploaded drawing is parsed once: the result is kept (and CadParsed recorded on the
file's stream), and later requests get the kept result. An unreadable upload is recorded
too (CadParseFailed), so the same bytes are not parsed again either. A large drawing is
parsed by a background job (`parse_or_queue`); the request then waits for the kept result.
"""

from contextlib import suppress
from dataclasses import dataclass
from typing import IO

from application.errors import StreamConflict, ValidationFailed
from application.files import (
    DrawingTooComplex,
    Files,
    FileTooLarge,
    UnsupportedFormat,
    load_file,
    visible_file,
    whole_content,
)
from application.jobs import Jobs
from application.ports import AccessClaims
from domain.file import MAX_BYTES, File


@dataclass(frozen=True, slots=True)
class ParseUploadedDrawing:
    file_id: str
    caller: AccessClaims


def parse_sent_drawing(files: Files, content: IO[bytes]) -> bytes:
    """Parse a drawing sent with the request; nothing is recorded. Returns the result JSON."""
    data = content.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FileTooLarge("File too large", f"file: at most {MAX_BYTES} bytes")
    return files.drawings.parse(data).json


def parse_uploaded_drawing(files: Files, command: ParseUploadedDrawing) -> bytes:
    """The parse result JSON of an uploaded DXF the caller may see."""
    return parse_once(files, visible_file(files.store, command.file_id, command.caller))


def parse_or_queue(
    files: Files, jobs: Jobs, command: ParseUploadedDrawing, queue_above_bytes: int
) -> bytes | None:
    """The result, parsed here unless the drawing is larger than `queue_above_bytes`: then
    a job parses it and None says so (ask `queued_drawing` for the result)."""
    file = visible_file(files.store, command.file_id, command.caller)
    if file.size <= queue_above_bytes:
        return parse_once(files, file)
    kept = kept_drawing(files, file)
    if kept is not None:
        return kept
    # Asked again while a job runs, this sends another message: harmless, since the job
    # is idempotent, and it stands in for a message that was lost.
    jobs.parse_drawing(file.id)
    return None


def queued_drawing(files: Files, command: ParseUploadedDrawing) -> bytes | None:
    """The kept result once a job has parsed the drawing, None before."""
    return kept_drawing(files, visible_file(files.store, command.file_id, command.caller))


def parse_drawing_job(files: Files, file_id: str) -> None:
    """The background job: parse an uploaded drawing unless that was done already. A file
    that is gone, not a DXF or unreadable (recorded as such) leaves nothing to retry."""
    file = load_file(files.store, file_id)
    if file is None or file.deleted:
        return
    with suppress(ValidationFailed, UnsupportedFormat):
        parse_once(files, file)


def kept_drawing(files: Files, file: File) -> bytes | None:
    """The kept result of an earlier parse; ValidationFailed if it found the file unreadable."""
    require_dxf(file)
    if file.drawing_failure is not None:
        if DrawingTooComplex.describes(file.drawing_failure):
            raise DrawingTooComplex(file.drawing_failure.removeprefix(DrawingTooComplex.PREFIX))
        raise ValidationFailed("Invalid DXF drawing", file.drawing_failure)
    if file.drawing is None:
        return None
    return files.drawing_results.load(file.id)


def parse_once(files: Files, file: File) -> bytes:
    kept = kept_drawing(files, file)
    if kept is not None:
        return kept
    try:
        parsed = files.drawings.parse(whole_content(files, file))
    except ValidationFailed as refused:
        file.record_unreadable_drawing(refused.details)
        record(files, file)
        raise
    # The result first, then the event that says it exists (as with an upload's bytes).
    files.drawing_results.save(file.id, parsed.json)
    if file.drawing is None:
        file.record_drawing(parsed.entity_count, parsed.layer_count, parsed.truncated)
        record(files, file)
    return parsed.json


def require_dxf(file: File) -> None:
    if file.extension == "dwg":
        raise UnsupportedFormat(
            "DWG is not supported", "DWG files cannot be read; export the drawing as DXF"
        )
    if file.extension != "dxf":
        raise UnsupportedFormat(
            "Not a DXF drawing", f"the file is a .{file.extension} {file.file_type}, not a DXF"
        )


def record(files: Files, file: File) -> None:
    """Save what was learnt of the drawing; not re-run on a conflict, which only another
    parse (the same outcome) or a deletion can cause."""
    try:
        files.repository.save(file)
    except StreamConflict:
        # A concurrent parse recorded the same outcome, or the file was deleted meanwhile;
        # then the kept result must not outlive it.
        latest = load_file(files.store, file.id)
        if latest is None or latest.deleted:
            files.drawing_results.delete(file.id)
