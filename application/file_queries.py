"""File queries: a file's details, and its bytes by the stored name the download URL carries.

They read the file's own stream, not a read model, so an upload is visible (and a deletion
is effective) on every instance the moment it is acknowledged.
"""

from collections.abc import Iterator

from application.errors import NotFound
from application.files import Files, visible_file
from application.ports import AccessClaims
from domain.file import File


def file_info(files: Files, file_id: str, caller: AccessClaims) -> File:
    return visible_file(files.store, file_id, caller)


def file_by_stored_name(files: Files, stored_name: str, caller: AccessClaims) -> File:
    """The file named `<id>.<extension>`; a right id with another extension is not found."""
    file_id, _, extension = stored_name.partition(".")
    file = visible_file(files.store, file_id, caller)
    if extension != file.extension:
        raise NotFound("File not found")
    return file


def file_content(files: Files, file: File, start: int, stop: int) -> Iterator[bytes]:
    """The bytes [start, stop) of a file the caller was allowed to see, in chunks."""
    return files.blobs.read(file.id, start, stop)
