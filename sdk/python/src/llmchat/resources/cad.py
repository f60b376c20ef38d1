"""`client.cad`: parse a DXF (sent, or uploaded before) and preview an uploaded one as SVG."""

from __future__ import annotations

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import CadDrawing
from llmchat.sync_transport import SyncTransport
from llmchat.uploads import FileInput, file_part


def one_source(file: FileInput | None, file_id: str | None) -> None:
    if (file is None) == (file_id is None):
        raise ValueError("pass either a file (path, bytes or file object) or file_id=")


class Cad:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def parse(
        self,
        file: FileInput | None = None,
        *,
        file_id: str | None = None,
        filename: str | None = None,
    ) -> CadDrawing:
        """Entities, layers and bounds of a DXF: one sent now, or an uploaded one by id."""
        one_source(file, file_id)
        if file_id is not None:
            return self._transport.call(routes.parse_uploaded_drawing(file_id))
        assert file is not None  # one_source checked it
        with file_part(file, filename) as part:
            return self._transport.call(routes.parse_sent_drawing(part))

    def preview(self, file_id: str) -> str:
        """An uploaded DXF drawn as SVG."""
        return self._transport.call(routes.drawing_preview(file_id))


class AsyncCad:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def parse(
        self,
        file: FileInput | None = None,
        *,
        file_id: str | None = None,
        filename: str | None = None,
    ) -> CadDrawing:
        """Entities, layers and bounds of a DXF: one sent now, or an uploaded one by id."""
        one_source(file, file_id)
        if file_id is not None:
            return await self._transport.call(routes.parse_uploaded_drawing(file_id))
        assert file is not None  # one_source checked it
        with file_part(file, filename) as part:
            return await self._transport.call(routes.parse_sent_drawing(part))

    async def preview(self, file_id: str) -> str:
        """An uploaded DXF drawn as SVG."""
        return await self._transport.call(routes.drawing_preview(file_id))
