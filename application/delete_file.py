"""DeleteFile: record FileDeleted, then remove the bytes and any parse result."""

import logging
from dataclasses import dataclass

from application.errors import Conflict, StreamConflict
from application.files import Files, visible_file
from application.ports import AccessClaims, PendingEvent

log = logging.getLogger(__name__)

# A conflict means a parse recorded its result meanwhile; a few tries always suffice.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class DeleteFile:
    file_id: str
    caller: AccessClaims


def delete_file(files: Files, command: DeleteFile) -> None:
    for _ in range(ATTEMPTS):
        # A file deleted by a concurrent request is not found on the next try.
        file = visible_file(files.store, command.file_id, command.caller)
        deleted = file.delete(deleted_by=command.caller.user_id)
        try:
            files.store.append([PendingEvent(file.id, file.version + 1, deleted)])
        except StreamConflict:
            continue
        break
    else:
        raise Conflict("File is being changed", "try the deletion again")
    # The event is the deletion: from here on every route answers 404. The bytes go after
    # it, so a failure here leaves unreachable bytes behind, never a file without bytes.
    try:
        files.blobs.delete(file.id)
        files.drawing_results.delete(file.id)
    except Exception:
        log.exception("file %s deleted, but its bytes could not be removed", file.id)
