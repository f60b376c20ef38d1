"""One DXF entity as SVG elements: <path> for geometry, <text> for TEXT, ATTRIB and MTEXT.

All coordinates are flipped (SVG's y grows downwards) and recorded in the canvas extents,
from which the picture's viewBox is made.
"""

import math
import re
from collections.abc import Iterable, Iterator
from typing import Final, NamedTuple
from xml.etree import ElementTree

from ezdxf import colors, disassemble
from ezdxf.entities.dxfgfx import DXFGraphic
from ezdxf.entities.mtext import MText
from ezdxf.entities.text import Text
from ezdxf.math import BoundingBox2d, Vec2
from ezdxf.path import Curve3To, Curve4To, LineTo, Path, PathElement

from infrastructure.cad.load import CadInvalid

_BY_BLOCK, _BY_LAYER, _FOREGROUND = 0, 256, 7
_MTEXT_LINE_SPACING: Final = 5 / 3  # AutoCAD's default, in text heights
# Characters XML 1.0 forbids; DXF text may hold them, and they would break the document.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Canvas:
    """The SVG elements drawn so far and the extents they cover."""

    def __init__(self, layer_colors: dict[str, int]) -> None:
        self.layer_colors = layer_colors
        """ACI colour of each layer, keyed by lower-case name (DXF names are case-blind)."""
        self.elements: list[ElementTree.Element] = []
        self.extents = BoundingBox2d()

    def add(self, tag: str, color: str, **attributes: str) -> ElementTree.Element:
        paint = {"fill": color} if tag == "text" else {"stroke": color}
        element = ElementTree.Element(tag, {**paint, **attributes})
        self.elements.append(element)
        return element

    def flip(self, point: Vec2) -> Vec2:
        flipped = Vec2(point.x, -point.y)
        self.extents.extend((flipped,))
        return flipped


def draw(entity: DXFGraphic, canvas: Canvas) -> None:
    color = _color_of(entity, canvas.layer_colors)
    if isinstance(entity, MText):
        _draw_text(entity.plain_text(split=True), _mtext_placement(entity), color, canvas)
    elif isinstance(entity, Text):  # TEXT and the ATTRIBs of block references
        _draw_text([entity.plain_text()], _text_placement(entity), color, canvas)
    elif entity.dxftype() == "POINT":
        # A zero-length segment with round caps renders as a dot at any zoom.
        x, y = canvas.flip(Vec2(entity.dxf.location))
        canvas.add("path", color, d=f"M{number(x)} {number(y)}h0", **{"stroke-width": "4"})
    else:
        for path in _paths_of(entity):
            canvas.add("path", color, d=_path_data(path, canvas))


NEAR_ZERO = 1e-9
"""Below a nanometre in metres, a micrometre in millimetres: what a drawing means by 0."""


def number(value: float) -> str:
    if not math.isfinite(value):
        raise CadInvalid(f"the drawing contains a non-finite number: {value}")
    if abs(value) < NEAR_ZERO:
        # What should be 0 comes out of the curve fits as 0 or as -1.85e-16, by which BLAS
        # kernel ran (a child's one thread or this process's several): the same drawing
        # then drew differently.
        return "0"
    # Ten digits keep millimetres on survey coordinates in the millions.
    return f"{value:.10g}"


def _paths_of(entity: DXFGraphic) -> Iterator[Path]:
    primitive = disassemble.make_primitive(entity)
    if primitive.path is not None and len(primitive.path):
        yield primitive.path
    elif primitive.mesh is not None:
        # MESH and the like: draw each face's outline.
        vertices = primitive.mesh.vertices
        for face in primitive.mesh.faces:
            if len(face) > 1:
                yield _closed_polygon([Vec2(vertices[index]) for index in face])


def _closed_polygon(points: list[Vec2]) -> Path:
    path = Path(points[0])
    for point in [*points[1:], points[0]]:
        path.line_to(point)
    return path


def _path_data(path: Path, canvas: Canvas) -> str:
    parts = [f"M{_xy(path.start, canvas)}"]
    parts.extend(_segment_data(command, canvas) for command in path.commands())
    return "".join(parts)


def _segment_data(command: PathElement, canvas: Canvas) -> str:
    end = _xy(command.end, canvas)
    if isinstance(command, LineTo):
        return f"L{end}"
    if isinstance(command, Curve3To):
        return f"Q{_xy(command.ctrl, canvas)} {end}"
    if isinstance(command, Curve4To):
        return f"C{_xy(command.ctrl1, canvas)} {_xy(command.ctrl2, canvas)} {end}"
    return f"M{end}"  # MoveTo: a gap between sub-paths, as in a hatch with holes


def _xy(point: Vec2, canvas: Canvas) -> str:
    x, y = canvas.flip(Vec2(point))
    return f"{number(x)} {number(y)}"


class _Placement(NamedTuple):
    insert: Vec2
    height: float
    rotation: float
    """Degrees counter-clockwise."""
    baseline_drop: float = 0.0
    """How far below `insert` the first baseline lies, in text heights."""


def _mtext_placement(entity: MText) -> _Placement:
    # MTEXT hangs from its insert point by default (attachment 1-3 = top, 4-6 = middle).
    row = (int(entity.dxf.get("attachment_point", 1)) - 1) // 3
    drop = {0: 1.0, 1: 0.5}.get(row, 0.0)
    insert = Vec2(entity.dxf.insert)
    return _Placement(insert, entity.dxf.char_height, entity.get_rotation(), drop)


def _text_placement(entity: Text) -> _Placement:
    insert = Vec2(entity.ocs().to_wcs(entity.dxf.insert))
    return _Placement(insert, entity.dxf.height, entity.dxf.rotation)


def _draw_text(lines: Iterable[str], placement: _Placement, color: str, canvas: Canvas) -> None:
    insert, height, rotation, baseline_drop = placement
    x, y = canvas.flip(insert)
    # The top of the first line, so tall text is not cut off at the edge of the picture.
    canvas.flip(insert + Vec2.from_deg_angle(rotation + 90, height * (1 - baseline_drop)))
    text = canvas.add(
        "text",
        color,
        x=number(x),
        y=number(y),
        transform=f"rotate({number(-rotation)} {number(x)} {number(y)})",
        **{"font-size": number(height), "font-family": "sans-serif"},
    )
    for index, line in enumerate(lines):
        spacing = baseline_drop if index == 0 else _MTEXT_LINE_SPACING
        span = ElementTree.SubElement(text, "tspan", x=number(x), dy=number(height * spacing))
        span.text = _NOT_XML.sub("", line)


def _color_of(entity: DXFGraphic, layer_colors: dict[str, int]) -> str:
    if entity.dxf.hasattr("true_color"):
        return _hex(colors.int2rgb(entity.dxf.true_color))
    index = int(entity.dxf.get("color", _BY_LAYER))
    if index == _BY_LAYER:
        index = layer_colors.get(entity.dxf.layer.lower(), _FOREGROUND)
    if index in (_BY_BLOCK, _FOREGROUND) or not 1 <= index <= 255:
        # ACI 7 is "white on dark, black on light"; the preview is drawn on white.
        return "#000000"
    return _hex(colors.aci2rgb(index))


def _hex(rgb: tuple[int, int, int]) -> str:
    red, green, blue = rgb
    return f"#{red:02x}{green:02x}{blue:02x}"
