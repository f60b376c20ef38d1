"""`client.files`: upload (a path, bytes or a file object), info, delete, download."""

from __future__ import annotations

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import FileInfo
from llmchat.sync_transport import SyncTransport
from llmchat.uploads import FileInput, file_part

ByteRange = tuple[int, int | None]
"""First and last byte (inclusive; None for the end of the file)."""


def stored_name(file: FileInfo | str) -> str | None:
    """`<id>.<ext>` of a file, if known without asking the server."""
    if isinstance(file, FileInfo):
        return file.filename
    return file if "." in file else None


class Files:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def upload(
        self,
        file: FileInput,
        *,
        type: str | None = None,
        description: str | None = None,
        filename: str | None = None,
    ) -> FileInfo:
        """Upload a file; `type` is image, document or cad (checked against the content)."""
        with file_part(file, filename) as part:
            return self._transport.call(routes.upload_file(part, type, description))

    def get(self, file_id: str) -> FileInfo:
        return self._transport.call(routes.file_info(file_id))

    def delete(self, file_id: str) -> None:
        self._transport.call(routes.delete_file(file_id))

    def download(self, file: FileInfo | str, *, byte_range: ByteRange | None = None) -> bytes:
        """The bytes of a file (a `FileInfo`, its id, or its `<id>.<ext>` name)."""
        name = stored_name(file) or self.get(str(file)).filename
        return self._transport.call(routes.download_file(name, byte_range))


class AsyncFiles:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def upload(
        self,
        file: FileInput,
        *,
        type: str | None = None,
        description: str | None = None,
        filename: str | None = None,
    ) -> FileInfo:
        """Upload a file; `type` is image, document or cad (checked against the content)."""
        with file_part(file, filename) as part:
            return await self._transport.call(routes.upload_file(part, type, description))

    async def get(self, file_id: str) -> FileInfo:
        return await self._transport.call(routes.file_info(file_id))

    async def delete(self, file_id: str) -> None:
        await self._transport.call(routes.delete_file(file_id))

    async def download(self, file: FileInfo | str, *, byte_range: ByteRange | None = None) -> bytes:
        """The bytes of a file (a `FileInfo`, its id, or its `<id>.<ext>` name)."""
        name = stored_name(file) or (await self.get(str(file))).filename
        return await self._transport.call(routes.download_file(name, byte_range))
