"""/api/upload (upload, details, delete) and /uploads/<id>.<ext> (the bytes, with ranges)."""

import re
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import FormMultiDict
from litestar.datastructures import UploadFile as FormFile
from litestar.params import FromPath
from litestar.response import Stream

from api.dependencies import CallerDep, FilesDep, WrittenId
from api.envelope import error_response, success
from api.request_body import refuse_unstorable_fields
from application.delete_file import DeleteFile, delete_file
from application.errors import ValidationFailed
from application.file_queries import file_by_stored_name, file_content, file_info
from application.upload_file import UploadFile, upload_file
from domain.file import MAX_BYTES, File

# The route's own body limit: the file plus room for the other fields and the multipart
# framing. A body past it is refused while streaming; a file past MAX_BYTES inside it is
# refused by the use case, both with 413.
UPLOAD_BODY_LIMIT = MAX_BYTES + 64 * 1024


class FileView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: str
    filename: str
    """Our stored name, `<id>.<extension>`; the name the client sent is `original_name`."""
    original_name: str
    size: int
    type: str
    url: str
    uploaded_at: str
    description: str
    content_type: str
    sha256: str


def file_view(file: File) -> FileView:
    return FileView(
        id=file.id,
        filename=file.stored_name,
        original_name=file.original_name,
        size=file.size,
        type=file.file_type,
        url=f"/uploads/{file.stored_name}",
        uploaded_at=file.uploaded_at,
        description=file.description,
        content_type=file.content_type,
        sha256=file.sha256,
    )


def the_file(form: FormMultiDict) -> FormFile:
    sent = form.getall("file", [])
    if len(sent) != 1 or not isinstance(sent[0], FormFile):
        raise ValidationFailed(
            "File required", "file: send exactly one file as multipart/form-data"
        )
    return sent[0]


def text_field(form: FormMultiDict, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise ValidationFailed("Invalid form field", f"{name}: must be text, not a file")
    refuse_unstorable_fields([(name, value)])
    return value.strip()


async def close_files(form: FormMultiDict) -> None:
    for _, value in form.multi_items():
        if isinstance(value, FormFile):
            await value.close()


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The multipart form; files are spooled to disk past 1 MB by Litestar's parser, and
    the body is refused with 413 as soon as it passes the route's limit."""
    try:
        return await request.form()
    except (UnicodeDecodeError, LookupError):
        # Litestar decodes each text part in the charset the part names (UTF-8 if none)
        # and lets the error out as a 500; the field is the client's, so is the error.
        raise ValidationFailed(
            "Invalid form field",
            "a text field is not text in its charset (UTF-8, unless its part names another)",
        ) from None


class UploadController(Controller):
    path = "/api/upload"

    # The form is read inside the handler, after the caller is known: a `data` parameter
    # would make Litestar read (and spool) the whole body before checking the token.
    @post("/", status_code=200, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload(
        self, request: Request[Any, Any, Any], files: FilesDep, principal: CallerDep
    ) -> dict[str, Any]:
        form = await read_form(request)
        try:
            sent = the_file(form)
            command = UploadFile(
                owner_id=principal.user_id,
                original_name=sent.filename,
                declared_type=text_field(form, "type").lower() or None,
                description=text_field(form, "description"),
                content=sent.file,
            )
            file = await to_thread.run_sync(upload_file, files, command)
        finally:
            await close_files(form)
        return success(file_view(file), "File uploaded")

    @get("/{file_id:str}")
    async def info(
        self, file_id: FromPath[str], files: FilesDep, principal: CallerDep
    ) -> dict[str, Any]:
        file = await to_thread.run_sync(file_info, files, file_id, principal)
        return success(file_view(file))

    @delete("/{file_id:str}", status_code=200)
    async def remove(
        self, file_id: WrittenId, files: FilesDep, principal: CallerDep
    ) -> dict[str, Any]:
        await to_thread.run_sync(delete_file, files, DeleteFile(file_id, principal))
        return success(None, "File deleted")


class RangeNotSatisfiable(Exception):
    pass


# At most 18 digits: a position past any file, and far below int()'s 4300-digit limit.
_BYTE_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, stop) of a one-range `Range` header, or None to send the whole file.

    As RFC 9110 allows, what is not one well-formed byte range (several ranges, other
    units, a last byte before the first) is ignored and answered with the whole file.
    """
    match = _BYTE_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, size if not last else min(int(last) + 1, size)


# An entity-tag in a list (RFC 9110 8.8.3): optionally weak, its opaque part quoted; a comma
# inside the quotes is part of the tag.
_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def none_match(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names the current representation, so a GET answers 304:
    `*`, or any listed tag equal to ours under weak comparison (RFC 9110 13.1.2)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    ours = _ENTITY_TAG.fullmatch(etag)
    return ours is not None and ours.group(1) in _ENTITY_TAG.findall(header)


def content_disposition(file: File) -> str:
    """The original name for any client: an ASCII fallback, and the exact name per RFC 5987."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file.original_name
    )
    exact = urllib.parse.quote(file.original_name, safe="")
    # Images may be shown in place; everything else is saved, never opened by the browser.
    kind = "inline" if file.file_type == "image" else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def in_worker_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Each chunk is a blocking read (a query or a file read), so each runs in a thread.
    while (chunk := await to_thread.run_sync(next_chunk, chunks)) is not None:
        yield chunk


class DownloadController(Controller):
    path = "/uploads"

    @get("/{stored_name:str}")
    async def download(
        self,
        stored_name: FromPath[str],
        request: Request[Any, Any, Any],
        files: FilesDep,
        principal: CallerDep,
    ) -> Response[Any]:
        file = await to_thread.run_sync(file_by_stored_name, files, stored_name, principal)
        etag = f'"{file.sha256}"'
        # What every answer about this file carries, the 304 and the 416 included.
        validators = {"ETag": etag, "Cache-Control": "private, no-cache", "Accept-Ranges": "bytes"}
        # Before the range, as RFC 9110 13.2.2 orders them: a current copy needs no part.
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(None, status_code=304, headers=validators)
        # If-Range: the client holds a part of some version; send a part only of that one.
        if_range = request.headers.get("if-range")
        header = request.headers.get("range") if if_range in (None, etag) else None
        try:
            part = requested_range(header, file.size)
        except RangeNotSatisfiable:
            # An error envelope (JSON), so none of the file's own headers.
            refusal = {**validators, "Content-Range": f"bytes */{file.size}"}
            return error_response(
                416, "Range not satisfiable", f"the file has {file.size} bytes", refusal
            )
        headers = {
            **validators,
            # As a header, not media_type: Litestar would add a second charset to text types.
            "Content-Type": file.content_type,
            "Content-Disposition": content_disposition(file),
            "X-Content-Type-Options": "nosniff",
            # Nothing uploaded may run as a page of this origin, even if opened directly.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        start, stop = part or (0, file.size)
        if part is not None:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{file.size}"
        headers["Content-Length"] = str(stop - start)
        chunks = file_content(files, file, start, stop)
        return Stream(
            in_worker_thread(chunks),
            status_code=206 if part is not None else 200,
            headers=headers,
        )
