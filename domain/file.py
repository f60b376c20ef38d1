"""An uploaded file: who owns it, what it is, and what was learnt from it (a parsed drawing).

One stream per file, its id the file's id. The bytes live in a blob store, not in events;
the events carry what identifies them (size and SHA-256).
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar

from domain.aggregate import Aggregate
from domain.events import stored_as
from domain.text import storable

# The spec's limit: at most 10 MB per file (taken as MiB, the larger reading).
MAX_BYTES = 10 * 1024 * 1024
# Most file systems' limit on a name, in characters; longer names only come from scripts.
MAX_NAME = 255
MAX_DESCRIPTION = 1000

# Names are shown to people: control characters and the bidirectional overrides that
# make "gpj.exe" look like "exe.jpg" are dropped, everything else (any script) is kept.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def display_name(original_name: str) -> str:
    """The name to keep and show: the last path segment, without control characters (nor
    lone surrogates, which no event can hold)."""
    base = re.split(r"[\\/]", original_name)[-1]
    kept = (
        c for c in base if unicodedata.category(c) not in ("Cc", "Cs") and c not in _BIDI_CONTROLS
    )
    return "".join(kept).strip()


@stored_as("FileUploaded")
@dataclass(frozen=True, slots=True, kw_only=True)
class FileUploaded:
    file_id: str
    owner_id: str
    original_name: str
    extension: str
    """Lower case, without the dot; the stored name is `<file_id>.<extension>`."""
    file_type: str
    """image, document or cad."""
    content_type: str
    size: int
    sha256: str
    description: str


@stored_as("CadParsed")
@dataclass(frozen=True, slots=True, kw_only=True)
class CadParsed:
    """A summary only; the full result is kept beside the log, keyed by the file id."""

    file_id: str
    entity_count: int
    layer_count: int
    truncated: bool


@stored_as("CadParseFailed")
@dataclass(frozen=True, slots=True, kw_only=True)
class CadParseFailed:
    """The drawing cannot be read; recorded so that the same bytes are not parsed again."""

    file_id: str
    details: str


@stored_as("FileDeleted")
@dataclass(frozen=True, slots=True, kw_only=True)
class FileDeleted:
    file_id: str
    deleted_by: str


class FileAlreadyDeleted(Exception):
    pass


@dataclass(slots=True, kw_only=True)
class File(Aggregate):
    starts_with: ClassVar[type[Any]] = FileUploaded

    owner_id: str
    original_name: str
    extension: str
    file_type: str
    content_type: str
    size: int
    sha256: str
    description: str
    uploaded_at: str
    drawing: CadParsed | None = None
    drawing_failure: str | None = None
    deleted: bool = False

    @property
    def stored_name(self) -> str:
        return f"{self.id}.{self.extension}"

    @classmethod
    def upload(
        cls,
        *,
        file_id: str,
        owner_id: str,
        original_name: str,
        extension: str,
        file_type: str,
        content_type: str,
        size: int,
        sha256: str,
        description: str,
    ) -> "File":
        """A new file (its bytes stored already), its upload pending."""
        if not 0 < size <= MAX_BYTES:
            raise ValueError(f"a file has 1 to {MAX_BYTES} bytes, not {size}")
        uploaded = FileUploaded(
            file_id=file_id,
            owner_id=owner_id,
            original_name=display_name(original_name),
            extension=extension,
            file_type=file_type,
            content_type=content_type,
            size=size,
            sha256=sha256,
            description=description.strip(),
        )
        return cls.begin(uploaded)

    @classmethod
    def started(cls, first: FileUploaded, timestamp: str) -> "File":
        return cls.from_first(first, id=first.file_id, uploaded_at=timestamp)

    def apply(self, event: object, timestamp: str) -> None:
        match event:
            case CadParsed():
                self.drawing = event
            case CadParseFailed():
                self.drawing_failure = event.details
            case FileDeleted():
                self.deleted = True

    def visible_to(self, user_id: str, role: str) -> bool:
        return not self.deleted and (self.owner_id == user_id or role == "admin")

    def delete(self, deleted_by: str) -> FileDeleted:
        if self.deleted:
            raise FileAlreadyDeleted(self.id)
        return self.trigger(FileDeleted(file_id=self.id, deleted_by=deleted_by))

    def record_drawing(self, entity_count: int, layer_count: int, truncated: bool) -> CadParsed:
        parsed = CadParsed(
            file_id=self.id,
            entity_count=entity_count,
            layer_count=layer_count,
            truncated=truncated,
        )
        return self.trigger(parsed)

    def record_unreadable_drawing(self, details: str) -> CadParseFailed:
        # The parser's message, which may quote the drawing: kept as events can hold it.
        failed = CadParseFailed(file_id=self.id, details=storable(details, MAX_DESCRIPTION))
        return self.trigger(failed)
