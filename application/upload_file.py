"""UploadFile: check a file against its name and type, store its bytes, record FileUploaded.

The content is read once, in chunks, from wherever the caller spooled it: the checks, the
hash and the blob store all see the same chunks, and none of them holds the whole file.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from application.accounts import new_id
from application.errors import ValidationFailed
from application.files import FileFormat, Files, FileTooLarge, load_file
from domain.file import MAX_BYTES, MAX_DESCRIPTION, MAX_NAME, File, display_name

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class UploadFile:
    owner_id: str
    original_name: str
    declared_type: str | None
    """None when the client left the type out: it is then inferred from the extension."""
    description: str
    content: IO[bytes]


def validate(command: UploadFile) -> None:
    name = display_name(command.original_name)
    if not name:
        raise ValidationFailed("File name required", "file: the part must carry a filename")
    if len(name) > MAX_NAME:
        raise ValidationFailed("File name too long", f"file: at most {MAX_NAME} characters")
    if len(command.description) > MAX_DESCRIPTION:
        raise ValidationFailed(
            "Description too long", f"description: at most {MAX_DESCRIPTION} characters"
        )


class CheckedContent:
    """The content as chunks, hashed, counted and checked while the blob store reads them.

    Raising from inside the iteration is what makes the blob store keep nothing.
    """

    def __init__(self, files: Files, head: bytes, rest: IO[bytes], fmt: FileFormat) -> None:
        self.head = head
        self.rest = rest
        self.text = files.inspector.text_check() if fmt.is_text else None
        self.digest = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = self.head
        while chunk:
            self.size += len(chunk)
            if self.size > MAX_BYTES:
                raise FileTooLarge(
                    "File too large", f"file: at most {MAX_BYTES} bytes ({MAX_BYTES // 2**20} MB)"
                )
            self.digest.update(chunk)
            if self.text is not None:
                self.text.feed(chunk)
            yield chunk
            chunk = self.rest.read(CHUNK_BYTES)
        if self.text is not None:
            self.text.finish()


def upload_file(files: Files, command: UploadFile) -> File:
    validate(command)
    name = display_name(command.original_name)
    head = command.content.read(files.inspector.head_size)
    fmt = files.inspector.identify(name, head, command.declared_type)
    file_id = new_id()
    content = CheckedContent(files, head, command.content, fmt)
    files.blobs.put(file_id, content)
    file = File.upload(
        file_id=file_id,
        owner_id=command.owner_id,
        original_name=name,
        extension=fmt.extension,
        file_type=fmt.file_type,
        content_type=fmt.content_type,
        size=content.size,
        sha256=content.digest.hexdigest(),
        description=command.description,
    )
    # Bytes first, then the event: an event never points at missing bytes. If the event
    # cannot be appended, the bytes go too, so a failed upload leaves nothing behind.
    try:
        files.repository.save(file)
    except BaseException:
        files.blobs.delete(file_id)
        raise
    stored = load_file(files.store, file_id)  # with its upload's stored time
    assert stored is not None
    return stored
