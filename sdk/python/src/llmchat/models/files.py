from llmchat.models.base import Model


class FileInfo(Model):
    """An uploaded file; its bytes are at `url` (`/uploads/<id>.<ext>`, next to /api)."""

    id: str
    filename: str
    original_name: str
    size: int
    type: str
    url: str
    uploaded_at: str | None = None
    description: str | None = None
    content_type: str | None = None
    sha256: str | None = None
