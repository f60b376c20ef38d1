"""The DrawingReader port over `parse_dxf` and `render_svg`, their errors made the API's."""

from collections.abc import Callable
from typing import TypeVar

import msgspec

from application.errors import ValidationFailed
from application.files import ParsedDrawing, UnsupportedFormat
from infrastructure.cad.load import CadInvalid, CadLimits, CadUnsupportedFormat
from infrastructure.cad.parse import parse_dxf
from infrastructure.cad.svg import render_svg

T = TypeVar("T")


def translated(read: Callable[[bytes, CadLimits], T], data: bytes, limits: CadLimits) -> T:
    try:
        return read(data, limits)
    except CadUnsupportedFormat as unsupported:
        raise UnsupportedFormat("DWG is not supported", unsupported.details) from unsupported
    except CadInvalid as invalid:
        raise ValidationFailed("Invalid DXF drawing", invalid.details) from invalid


class DxfReader:
    def __init__(self, limits: CadLimits | None = None) -> None:
        self.limits = limits or CadLimits()
        self.encoder = msgspec.json.Encoder()

    def parse(self, data: bytes) -> ParsedDrawing:
        drawing = translated(parse_dxf, data, self.limits)
        return ParsedDrawing(
            json=self.encoder.encode(drawing),
            entity_count=drawing.entity_count,
            layer_count=len(drawing.layers),
            truncated=drawing.truncated,
        )

    def render_svg(self, data: bytes) -> str:
        return translated(render_svg, data, self.limits)
