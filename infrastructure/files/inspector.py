"""The ContentInspector port over `content.classify` and `content.Utf8Check`."""

from typing import NoReturn

from application.errors import ValidationFailed
from application.files import FileFormat
from infrastructure.files.content import HEAD_SIZE, ContentRefused, Utf8Check, classify


def refuse(refused: ContentRefused) -> NoReturn:
    raise ValidationFailed("File refused", refused.reason) from refused


class Utf8Text:
    def __init__(self) -> None:
        self.check = Utf8Check()

    def feed(self, chunk: bytes) -> None:
        try:
            self.check.feed(chunk)
        except ContentRefused as refused:
            refuse(refused)

    def finish(self) -> None:
        try:
            self.check.finish()
        except ContentRefused as refused:
            refuse(refused)


class ContentChecks:
    head_size = HEAD_SIZE

    def identify(self, original_name: str, head: bytes, declared_type: str | None) -> FileFormat:
        try:
            kind = classify(original_name, head, declared_type)
        except ContentRefused as refused:
            refuse(refused)
        return FileFormat(
            file_type=kind.type,
            extension=kind.extension,
            content_type=kind.content_type,
            is_text=kind.must_be_utf8,
        )

    def text_check(self) -> Utf8Text:
        return Utf8Text()
