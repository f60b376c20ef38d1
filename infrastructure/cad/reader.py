"""The DrawingReader port: every parse and preview read in a bounded child process.

This process never imports ezdxf: the children do (`children`, `child`), so what a drawing
costs is bounded by the operating system and given back when the child exits. Their
answers are turned into the API's errors here, their text made plain once more: it came
from another process, and it may end up in an event.
"""

from application.errors import ValidationFailed
from application.files import DrawingTooComplex, ParsedDrawing, UnsupportedFormat
from infrastructure.cad.children import ChildLimits, ReaderChildren, TooComplex
from infrastructure.cad.exchange import Answered, Operation, plain_text


class DxfReader:
    def __init__(self, limits: ChildLimits | None = None) -> None:
        self.children = ReaderChildren(limits)

    def parse(self, data: bytes) -> ParsedDrawing:
        answer, payload = self._read("parse", data)
        return ParsedDrawing(
            json=payload,
            entity_count=answer.entity_count,
            layer_count=answer.layer_count,
            truncated=answer.truncated,
        )

    def render_svg(self, data: bytes) -> str:
        _, payload = self._read("svg", data)
        return payload.decode("utf-8", "replace")

    def close(self) -> None:
        self.children.close()

    def _read(self, operation: Operation, data: bytes) -> Answered:
        try:
            answer, payload = self.children.read(operation, data)
        except TooComplex as refused:
            raise DrawingTooComplex(plain_text(refused.details)) from None
        details = plain_text(answer.details)
        if answer.outcome == "unsupported":
            raise UnsupportedFormat("DWG is not supported", details)
        if answer.outcome == "invalid":
            raise ValidationFailed("Invalid DXF drawing", details)
        if answer.outcome == "too_complex":
            raise DrawingTooComplex(details)
        return answer, payload
