"""A DXF upload drawn as SVG, for previews.

ezdxf's drawing add-on (Frontend + SVGBackend) imports Pillow at module level, and Pillow is
not a dependency of this project, so the model space is drawn here from ezdxf's own path
representation of each entity (`ezdxf.disassemble`, see `svg_shapes`). Lines, arcs, curves,
polylines, hatch boundaries and block content become <path> elements, texts <text>.
Entities on layers that are off or frozen, and invisible entities, are left out.
"""

from typing import Final
from xml.etree import ElementTree

from ezdxf.document import Drawing
from ezdxf.entities.layer import Layer
from ezdxf.math import BoundingBox2d

from infrastructure.cad.load import (
    DEFAULT_LIMITS,
    CadLimits,
    read_with,
)
from infrastructure.cad.svg_shapes import Canvas, draw, number
from infrastructure.cad.walk import Budget, flatten

_SVG_NS: Final = "http://www.w3.org/2000/svg"
_MARGIN: Final = 0.02
"""Space around the drawing, as a share of its larger side."""


def render_svg(data: bytes, limits: CadLimits = DEFAULT_LIMITS) -> str:
    """The model space of the DXF `data` as an SVG document string.

    Raises only CadInvalid or CadUnsupportedFormat (or MemoryError, as `parse_dxf` does).
    When a limit cuts the drawing short, the root element carries data-truncated="true".
    """
    return read_with(data, limits, _render)


def _render(doc: Drawing, limits: CadLimits) -> str:
    budget = Budget(limits)
    chosen = budget.first_entities(doc.modelspace())
    canvas = Canvas({layer.dxf.name.lower(): abs(layer.dxf.color) for layer in doc.layers})
    hidden = {layer.dxf.name.lower() for layer in doc.layers if _is_hidden(layer)}
    for entity in flatten(chosen, budget):
        if entity.dxf.layer.lower() not in hidden and not entity.dxf.get("invisible", 0):
            draw(entity, canvas)
    root = _svg_root(canvas)
    if budget.cut_short:
        root.set("data-truncated", "true")
    ElementTree.register_namespace("", _SVG_NS)
    return ElementTree.tostring(root, encoding="unicode")


def _is_hidden(layer: Layer) -> bool:
    return not layer.is_on() or layer.is_frozen()


def _svg_root(canvas: Canvas) -> ElementTree.Element:
    root = ElementTree.Element(f"{{{_SVG_NS}}}svg", viewBox=_view_box(canvas.extents))
    group = ElementTree.SubElement(
        root,
        "g",
        {
            "fill": "none",
            "stroke-width": "1",
            "stroke-linecap": "round",
            "stroke-linejoin": "round",
        },
    )
    for element in canvas.elements:
        if element.tag == "path":
            # Drawing units vary wildly; keep lines one screen pixel wide at any scale.
            # (vector-effect is not inherited, so it cannot go on the group.)
            element.set("vector-effect", "non-scaling-stroke")
        group.append(element)
    return root


def _view_box(extents: BoundingBox2d) -> str:
    if not extents.has_data:
        return "0 0 1 1"
    size = extents.size
    margin = max(size.x, size.y, 1e-9) * _MARGIN
    left, top = extents.extmin.x - margin, extents.extmin.y - margin
    width, height = size.x + 2 * margin, size.y + 2 * margin
    return " ".join(number(value) for value in (left, top, width, height))
