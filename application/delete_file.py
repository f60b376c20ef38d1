"""DeleteFile: record FileDeleted, then remove the bytes and any parse result."""

import logging
from dataclasses import dataclass

from application.errors import Conflict
from application.files import Files, visible_file
from application.ports import AccessClaims
from application.retry import rerun_on_conflict_or
from domain.file import File

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeleteFile:
    file_id: str
    caller: AccessClaims


def delete_file(files: Files, command: DeleteFile) -> None:
    file = record_deletion(files, command)
    # The event is the deletion: from here on every route answers 404. The bytes go after
    # it, so a failure here leaves unreachable bytes behind, never a file without bytes.
    try:
        files.remove_contents(file.id)
    except Exception:
        log.exception("file %s deleted, but its bytes could not be removed", file.id)


def being_changed(*_: object) -> Conflict:
    return Conflict("File is being changed", "try the deletion again")


# A conflict means a parse recorded its result meanwhile; a few runs always suffice, and
# a file deleted by a concurrent request is not found on the next.
@rerun_on_conflict_or(being_changed)
def record_deletion(files: Files, command: DeleteFile) -> File:
    file = visible_file(files.store, command.file_id, command.caller)
    file.delete(deleted_by=command.caller.user_id)
    files.repository.save(file)
    return file
