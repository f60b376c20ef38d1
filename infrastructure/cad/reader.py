"""The DrawingReader port over `parse_dxf` and `render_svg`, their errors made the API's.

ezdxf is imported with the first drawing, not at start: it is over a third of an idle API
process's memory, and most processes never read a drawing.
"""

from typing import TYPE_CHECKING, Any, Literal

import msgspec

from application.errors import ValidationFailed
from application.files import ParsedDrawing, UnsupportedFormat

if TYPE_CHECKING:
    from infrastructure.cad.load import CadLimits


def translated(operation: Literal["parse", "svg"], data: bytes, limits: "CadLimits | None") -> Any:
    from infrastructure.cad import load, parse, svg

    read = parse.parse_dxf if operation == "parse" else svg.render_svg
    try:
        return read(data, limits or load.CadLimits())
    except load.CadUnsupportedFormat as unsupported:
        raise UnsupportedFormat("DWG is not supported", unsupported.details) from unsupported
    except load.CadInvalid as invalid:
        raise ValidationFailed("Invalid DXF drawing", invalid.details) from invalid


class DxfReader:
    def __init__(self, limits: "CadLimits | None" = None) -> None:
        self.limits = limits
        self.encoder = msgspec.json.Encoder()

    def parse(self, data: bytes) -> ParsedDrawing:
        drawing = translated("parse", data, self.limits)
        return ParsedDrawing(
            json=self.encoder.encode(drawing),
            entity_count=drawing.entity_count,
            layer_count=len(drawing.layers),
            truncated=drawing.truncated,
        )

    def render_svg(self, data: bytes) -> str:
        svg: str = translated("svg", data, self.limits)
        return svg
