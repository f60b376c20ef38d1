"""One ezdxf entity into its struct from `model`.

2D entities (CIRCLE, ARC, LWPOLYLINE, 2D POLYLINE, TEXT, INSERT) store points in their own
object coordinate system; they are turned into world coordinates so that, for example, an
arc mirrored in AutoCAD (extrusion pointing down) is placed where it is seen.
"""

import math
from collections.abc import Callable, Iterable
from typing import Any, Final

from ezdxf.entities.arc import Arc
from ezdxf.entities.circle import Circle
from ezdxf.entities.dxfgfx import DXFGraphic
from ezdxf.entities.ellipse import Ellipse
from ezdxf.entities.insert import Insert
from ezdxf.entities.line import Line
from ezdxf.entities.lwpolyline import LWPolyline
from ezdxf.entities.mtext import MText
from ezdxf.entities.point import Point
from ezdxf.entities.polyline import Polyline
from ezdxf.entities.spline import Spline
from ezdxf.entities.text import Text
from ezdxf.math import Vec3

from infrastructure.cad import model
from infrastructure.cad.load import CadInvalid

_UP: Final = Vec3(0, 0, 1)


def to_struct(entity: DXFGraphic) -> model.CadEntity:
    dxftype = entity.dxftype()
    layer = str(entity.dxf.get("layer", "0"))
    convert = _CONVERTERS.get(dxftype)
    if convert is None:
        return model.CadEntity(type=dxftype, layer=layer)
    return convert(entity, layer)


def _number(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise CadInvalid(f"the drawing contains a non-finite number: {value}")
    return number


def _point(vector: Any) -> model.Point:
    v = Vec3(vector)
    return model.Point(x=_number(v.x), y=_number(v.y))


def _points(vectors: Iterable[Any]) -> list[model.Point]:
    return [_point(v) for v in vectors]


def _in_wcs(entity: DXFGraphic, point: Any) -> model.Point:
    return _point(entity.ocs().to_wcs(Vec3(point)))


def _line(entity: Line, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="LINE",
        layer=layer,
        start_point=_point(entity.dxf.start),
        end_point=_point(entity.dxf.end),
    )


def _circle(entity: Circle, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="CIRCLE",
        layer=layer,
        center=_in_wcs(entity, entity.dxf.center),
        radius=_number(entity.dxf.radius),
    )


def _arc(entity: Arc, layer: str) -> model.CadEntity:
    start, end = _number(entity.dxf.start_angle), _number(entity.dxf.end_angle)
    extrusion = Vec3(entity.dxf.extrusion)
    if not extrusion.isclose(_UP) and extrusion.z < 0:
        # Seen from above, a downward-facing OCS mirrors x: angle a becomes 180 - a and
        # the counter-clockwise sweep reverses, so start and end swap.
        start, end = (180.0 - end) % 360.0, (180.0 - start) % 360.0
    return model.CadEntity(
        type="ARC",
        layer=layer,
        center=_in_wcs(entity, entity.dxf.center),
        radius=_number(entity.dxf.radius),
        start_angle=start,
        end_angle=end,
    )


def _lwpolyline(entity: LWPolyline, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="LWPOLYLINE",
        layer=layer,
        points=_points(entity.vertices_in_wcs()),
        closed=bool(entity.closed),
    )


def _polyline(entity: Polyline, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="POLYLINE",
        layer=layer,
        points=_points(entity.points_in_wcs()),
        closed=bool(entity.is_closed),
    )


def _point_entity(entity: Point, layer: str) -> model.CadEntity:
    return model.CadEntity(type="POINT", layer=layer, location=_point(entity.dxf.location))


def _ellipse(entity: Ellipse, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="ELLIPSE",
        layer=layer,
        center=_point(entity.dxf.center),
        major_axis=_point(entity.dxf.major_axis),
        ratio=_number(entity.dxf.ratio),
        start_param=_number(entity.dxf.start_param),
        end_param=_number(entity.dxf.end_param),
    )


def _spline(entity: Spline, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="SPLINE",
        layer=layer,
        control_points=_points(entity.control_points),
        fit_points=_points(entity.fit_points),
        degree=int(entity.dxf.degree),
        closed=bool(entity.closed),
    )


def _text(entity: Text, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="TEXT",
        layer=layer,
        text=entity.plain_text(),
        insert=_in_wcs(entity, entity.dxf.insert),
        height=_number(entity.dxf.height),
        rotation=_number(entity.dxf.rotation),
    )


def _mtext(entity: MText, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="MTEXT",
        layer=layer,
        text=str(entity.plain_text()),
        insert=_point(entity.dxf.insert),
        height=_number(entity.dxf.char_height),
        rotation=_number(entity.get_rotation()),
    )


def _insert(entity: Insert, layer: str) -> model.CadEntity:
    return model.CadEntity(
        type="INSERT",
        layer=layer,
        name=str(entity.dxf.name),
        insert=_in_wcs(entity, entity.dxf.insert),
        xscale=_number(entity.dxf.xscale),
        yscale=_number(entity.dxf.yscale),
        rotation=_number(entity.dxf.rotation),
    )


# Keyed by DXF type, not by class: ATTDEF subclasses TEXT in ezdxf but is not a TEXT.
_CONVERTERS: Final[dict[str, Callable[[Any, str], model.CadEntity]]] = {
    "LINE": _line,
    "CIRCLE": _circle,
    "ARC": _arc,
    "LWPOLYLINE": _lwpolyline,
    "POLYLINE": _polyline,
    "POINT": _point_entity,
    "ELLIPSE": _ellipse,
    "SPLINE": _spline,
    "TEXT": _text,
    "MTEXT": _mtext,
    "INSERT": _insert,
}
