"""AttachFiles: what a chat turn's files tell the provider.

Text documents are given as their text, drawings as a summary of their parse, images as
image parts of the turn when the provider takes them; other files (PDF, Word, and images for
providers that take text only) as a line naming them.
"""

import base64
import json
from collections import Counter
from dataclasses import dataclass

from application.chat import Attached, Caller
from application.errors import NotFound, ValidationFailed
from application.files import Files, load_file, whole_content
from application.parse_drawing import ParseUploadedDrawing, parse_uploaded_drawing
from application.ports import AccessClaims
from application.provider import ImagePart
from domain.file import File

MAX_FILES = 10
# Enough of a document to ask about it, without one upload filling the model's context.
MAX_CHARACTERS = 20_000
# Image formats every image-taking provider reads; the largest Anthropic accepts per image.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileAttachments:
    files: Files

    def attach(self, file_ids: list[str], caller: Caller, with_images: bool) -> Attached:
        """The files as context text and images; NotFound for any the caller may not see."""
        if len(file_ids) > MAX_FILES:
            raise ValidationFailed(f"fileIds: at most {MAX_FILES} files per message")
        files = [self.visible(file_id, caller) for file_id in file_ids]
        images = [file for file in files if with_images and sendable_image(file)]
        described = [self.describe_one(file, caller) for file in files if file not in images]
        return Attached(
            text="\n\n".join(described),
            images=tuple(self.image_part(file) for file in images),
        )

    def image_part(self, file: File) -> ImagePart:
        data = base64.b64encode(whole_content(self.files, file)).decode("ascii")
        return ImagePart(media_type=file.content_type, data_base64=data)

    def visible(self, file_id: str, caller: Caller) -> File:
        file = load_file(self.files.store, file_id)
        if file is None or not file.visible_to(caller.user_id, caller.role):
            raise NotFound("File not found", f"fileIds: no file {file_id!r}")
        return file

    def describe_one(self, file: File, caller: Caller) -> str:
        heading = f"[Attached file: {file.original_name}]"
        if file.extension in ("txt", "md"):
            text = whole_content(self.files, file).decode("utf-8")
            cut = " (truncated)" if len(text) > MAX_CHARACTERS else ""
            return f"{heading}{cut}\n{text[:MAX_CHARACTERS]}"
        if file.extension == "dxf":
            return f"{heading}\n{self.drawing_summary(file, caller)}"
        return f"{heading} ({file.file_type}, {file.size} bytes; its content is not given as text)"

    def drawing_summary(self, file: File, caller: Caller) -> str:
        claims = AccessClaims(caller.user_id, caller.role, "", "", 0)
        drawing = json.loads(
            parse_uploaded_drawing(self.files, ParseUploadedDrawing(file.id, claims))
        )
        kinds = Counter(entity["type"] for entity in drawing["entities"])
        layers = ", ".join(layer["name"] for layer in drawing["layers"])
        bounds = drawing["bounds"]
        return (
            f"DXF drawing with {sum(kinds.values())} entities "
            f"({', '.join(f'{n} {kind}' for kind, n in kinds.most_common())}); "
            f"layers: {layers}; bounds x {bounds['minX']}..{bounds['maxX']}, "
            f"y {bounds['minY']}..{bounds['maxY']}"
        )


def sendable_image(file: File) -> bool:
    return file.content_type in IMAGE_TYPES and file.size <= MAX_IMAGE_BYTES
