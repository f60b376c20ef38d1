"""What the file use cases share: their ports and errors, and loading a file its caller may see."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from application.errors import ApplicationError, NotFound, ValidationFailed
from application.ports import AccessClaims, EventStore
from application.repository import Repository
from domain.file import File


class FileTooLarge(ApplicationError):
    pass


class UnsupportedFormat(ApplicationError):
    """The content is a format this operation cannot handle (a DWG where DXF is needed)."""


class DrawingTooComplex(ValidationFailed):
    """Reading the drawing would take more memory or time than one drawing may (422); a
    validation failure like any unreadable drawing, recorded as such."""

    PREFIX = "drawing too complex: "

    def __init__(self, reason: str) -> None:
        super().__init__(self.PREFIX + reason)

    @classmethod
    def describes(cls, details: str) -> bool:
        return details.startswith(cls.PREFIX)


@dataclass(frozen=True, slots=True)
class FileFormat:
    file_type: str
    """image, document or cad."""
    extension: str
    content_type: str
    is_text: bool
    """The whole content, not only its head, must be checked as UTF-8."""


class TextCheck(Protocol):
    """Checks a text stream chunk by chunk; both methods raise ValidationFailed."""

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


class ContentInspector(Protocol):
    head_size: int
    """How many leading bytes `identify` needs."""

    def identify(self, original_name: str, head: bytes, declared_type: str | None) -> FileFormat:
        """Raise ValidationFailed unless the name's extension is allowed and the head matches
        it (and the declared type, when given)."""
        ...

    def text_check(self) -> TextCheck: ...


class BlobStore(Protocol):
    """The bytes of uploaded files, seen alike by every API instance."""

    def put(self, blob_id: str, chunks: Iterable[bytes]) -> None:
        """Store all of `chunks` durably, or nothing: if iterating them raises, the error
        propagates and no trace of the blob is left."""
        ...

    def read(self, blob_id: str, start: int, stop: int) -> Iterator[bytes]:
        """The bytes in [start, stop), in chunks; no connection is held between chunks."""
        ...

    def delete(self, blob_id: str) -> None:
        """Remove the blob; nothing happens if there is none."""
        ...


@dataclass(frozen=True, slots=True)
class ParsedDrawing:
    json: bytes
    """The whole drawing in the API's shape (entities, layers, bounds, ...), as JSON."""
    entity_count: int
    layer_count: int
    truncated: bool


class DrawingReader(Protocol):
    """Reads DXF. Both methods raise ValidationFailed for unreadable bytes (DrawingTooComplex
    for bytes over the reader's limits) and UnsupportedFormat for DWG; both block for up to
    the reader's time limit, so call them from a worker thread."""

    def parse(self, data: bytes) -> ParsedDrawing: ...

    def render_svg(self, data: bytes) -> str: ...


class DrawingResults(Protocol):
    """Parse results of uploaded drawings, kept so a drawing is parsed only once."""

    def save(self, file_id: str, result: bytes) -> None: ...

    def load(self, file_id: str) -> bytes | None: ...

    def delete(self, file_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Files:
    store: EventStore
    blobs: BlobStore
    inspector: ContentInspector
    drawings: DrawingReader
    drawing_results: DrawingResults

    @property
    def repository(self) -> Repository:
        return Repository(self.store)

    def remove_contents(self, file_id: str) -> None:
        """A deleted file's bytes and parse result (after its FileDeleted is stored)."""
        self.blobs.delete(file_id)
        self.drawing_results.delete(file_id)


def load_file(store: EventStore, file_id: str) -> File | None:
    # Any stream id can be sent here; only a file's stream starts with FileUploaded.
    return Repository(store).get(File, file_id)


def visible_file(store: EventStore, file_id: str, caller: AccessClaims) -> File:
    """The file, if it exists and the caller may see it; the same 404 otherwise, so that
    nobody learns which ids belong to other people."""
    file = load_file(store, file_id)
    if file is None or not file.visible_to(caller.user_id, caller.role):
        raise NotFound("File not found")
    return file


def whole_content(files: Files, file: File) -> bytes:
    return b"".join(files.blobs.read(file.id, 0, file.size))
