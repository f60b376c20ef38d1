"""ParseDrawing: a DXF as entities, layers and bounds, sent with the request or uploaded.

An uploaded drawing is parsed once: the result is kept (and CadParsed recorded on the
file's stream), and later requests get the kept result. An unreadable upload is recorded
too (CadParseFailed), so the same bytes are not parsed again either.
"""

from dataclasses import dataclass
from typing import IO

from application.errors import StreamConflict, ValidationFailed
from application.files import (
    Files,
    FileTooLarge,
    UnsupportedFormat,
    load_file,
    visible_file,
    whole_content,
)
from application.ports import AccessClaims, PendingEvent
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
    file = visible_file(files.store, command.file_id, command.caller)
    require_dxf(file)
    if file.drawing_failure is not None:
        raise ValidationFailed("Invalid DXF drawing", file.drawing_failure)
    if file.drawing is not None:
        kept = files.drawing_results.load(file.id)
        if kept is not None:
            return kept
    try:
        parsed = files.drawings.parse(whole_content(files, file))
    except ValidationFailed as refused:
        record(files, file, file.record_unreadable_drawing(refused.details))
        raise
    # The result first, then the event that says it exists (as with an upload's bytes).
    files.drawing_results.save(file.id, parsed.json)
    if file.drawing is None:
        summary = file.record_drawing(parsed.entity_count, parsed.layer_count, parsed.truncated)
        record(files, file, summary)
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


def record(files: Files, file: File, event: object) -> None:
    try:
        files.store.append([PendingEvent(file.id, file.version + 1, event)])
    except StreamConflict:
        # A concurrent parse recorded the same outcome, or the file was deleted meanwhile;
        # then the kept result must not outlive it.
        latest = load_file(files.store, file.id)
        if latest is None or latest.deleted:
            files.drawing_results.delete(file.id)
