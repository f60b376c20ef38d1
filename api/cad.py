"""/api/cad: parse a DXF (sent, or uploaded before) and preview an uploaded one as SVG."""

import time
from typing import Any

import anyio
import msgspec
from anyio import CapacityLimiter, to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from api.dependencies import CallerDep, FilesDep, JobsDep, SettingsDep
from api.envelope import success
from api.files import UPLOAD_BODY_LIMIT, close_files, read_form, the_file
from api.request_body import decoded_json
from application.errors import ValidationFailed
from application.files import Files, UnsupportedFormat
from application.jobs import Jobs
from application.parse_drawing import (
    ParseUploadedDrawing,
    parse_or_queue,
    parse_sent_drawing,
    queued_drawing,
)
from application.preview_drawing import PreviewDrawing, preview_drawing
from infrastructure.settings import Settings

# Each drawing is read in a child process that may take LLMCHAT_CAD_MEMORY_MB and a core
# for LLMCHAT_CAD_SECONDS; a few at a time keep the host answering everything else.
DRAWING_WORKERS = CapacityLimiter(2)
# How often a request waiting for a drawing's job looks for the result.
JOB_POLL_SECONDS = 0.2


class ParseRequest(msgspec.Struct, rename="camel"):
    file_id: str


async def parse_uploaded(
    files: Files, jobs: Jobs, settings: Settings, command: ParseUploadedDrawing
) -> bytes | None:
    """The result; a large drawing goes to a job, waited for at most the configured time
    (None if it is not done by then: the caller asks again)."""
    result = await to_thread.run_sync(
        parse_or_queue,
        files,
        jobs,
        command,
        settings.cad_job_bytes,
        limiter=DRAWING_WORKERS,
    )
    deadline = time.monotonic() + settings.cad_job_wait_seconds
    while result is None and time.monotonic() < deadline:
        await anyio.sleep(JOB_POLL_SECONDS)
        result = await to_thread.run_sync(queued_drawing, files, command)
    return result


async def parse_request(request: Request[Any, Any, Any]) -> ParseRequest:
    try:
        return msgspec.convert(decoded_json(await request.body()), ParseRequest)
    except msgspec.ValidationError as error:
        raise ValidationFailed("Request validation failed", str(error)) from None


class CadController(Controller):
    path = "/api/cad"

    @post("/parse", status_code=200, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def parse(
        self,
        request: Request[Any, Any, Any],
        files: FilesDep,
        jobs: JobsDep,
        settings: SettingsDep,
        principal: CallerDep,
    ) -> Response[dict[str, Any]]:
        media_type, _ = request.content_type
        result: bytes | None
        if media_type == "multipart/form-data":
            form = await read_form(request)
            try:
                content = the_file(form).file
                result = await to_thread.run_sync(
                    parse_sent_drawing, files, content, limiter=DRAWING_WORKERS
                )
            finally:
                await close_files(form)
        elif media_type == "application/json":
            body = await parse_request(request)
            result = await parse_uploaded(
                files, jobs, settings, ParseUploadedDrawing(body.file_id, principal)
            )
            if result is None:
                processing = {"status": "processing", "fileId": body.file_id}
                message = "Drawing is being parsed; ask again for the result"
                return Response(success(processing, message), status_code=202)
        else:
            raise UnsupportedFormat(
                "Unsupported request type",
                "send the DXF as multipart/form-data (field file), or JSON {fileId}",
            )
        return Response(success(msgspec.Raw(result), "Drawing parsed"))

    @get("/{file_id:str}/preview.svg")
    async def preview(
        self, file_id: FromPath[str], files: FilesDep, principal: CallerDep
    ) -> Response[str]:
        command = PreviewDrawing(file_id, principal)
        svg = await to_thread.run_sync(preview_drawing, files, command, limiter=DRAWING_WORKERS)
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={
                "X-Content-Type-Options": "nosniff",
                # The picture is ours, but it is still SVG on this origin: no scripts, ever.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "Cache-Control": "private, no-cache",
            },
        )
