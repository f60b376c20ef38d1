"""The parsed drawing as the API sends it: msgspec structs that encode with camelCase keys.

Coordinates are world coordinates (WCS) in drawing units, projected onto the XY plane.
Angles of ARC, TEXT, MTEXT and INSERT are degrees; ELLIPSE parameters are radians, as in DXF.
"""

import msgspec


class Point(msgspec.Struct, frozen=True):
    x: float
    y: float


class CadEntity(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """One model space entity: `type` (the DXF type) and `layer` always, other fields per type.

    A single struct rather than one per type: the entity types without their own fields
    (HATCH, DIMENSION, a vendor's proxy entity...) keep their real DXF type in `type`, and
    msgspec (and so Litestar's OpenAPI schema) only accepts unions of structs that are told
    apart by a fixed tag per struct. Fields a type does not use are left out of the JSON.
    """

    type: str
    layer: str
    start_point: Point | None = None
    """LINE."""
    end_point: Point | None = None
    """LINE."""
    center: Point | None = None
    """CIRCLE, ARC, ELLIPSE."""
    radius: float | None = None
    """CIRCLE, ARC."""
    start_angle: float | None = None
    """ARC: the arc runs counter-clockwise, seen from above, from start to end angle."""
    end_angle: float | None = None
    """ARC."""
    points: list[Point] | None = None
    """LWPOLYLINE, POLYLINE: the vertices (bulges are not carried)."""
    closed: bool | None = None
    """LWPOLYLINE, POLYLINE, SPLINE."""
    location: Point | None = None
    """POINT."""
    major_axis: Point | None = None
    """ELLIPSE: vector from the center to the end of the major axis."""
    ratio: float | None = None
    """ELLIPSE: minor to major axis length."""
    start_param: float | None = None
    """ELLIPSE."""
    end_param: float | None = None
    """ELLIPSE."""
    control_points: list[Point] | None = None
    """SPLINE."""
    fit_points: list[Point] | None = None
    """SPLINE."""
    degree: int | None = None
    """SPLINE."""
    text: str | None = None
    """TEXT, MTEXT: plain text, formatting codes removed."""
    insert: Point | None = None
    """TEXT, MTEXT, INSERT."""
    height: float | None = None
    """TEXT, MTEXT."""
    rotation: float | None = None
    """TEXT, MTEXT, INSERT."""
    name: str | None = None
    """INSERT: the inserted block's name."""
    xscale: float | None = None
    """INSERT."""
    yscale: float | None = None
    """INSERT."""


class Layer(msgspec.Struct, frozen=True):
    name: str
    color: int
    """AutoCAD Color Index, 1-255 (DXF stores a negative value for a layer that is off)."""
    visible: bool
    """On and not frozen."""


class Bounds(msgspec.Struct, frozen=True, rename="camel"):
    """Extents of the returned entities, block content and all layers included.

    All 0 when there is no geometry to measure (no entities, or only infinite lines).
    """

    min_x: float
    min_y: float
    max_x: float
    max_y: float


class CadDrawing(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    entities: list[CadEntity]
    """Model space entities in file order, at most `CadLimits.max_entities` of them."""
    layers: list[Layer]
    bounds: Bounds
    truncated: bool
    """A limit was hit: entities or bounds describe only part of the drawing."""
    entity_count: int
    """Number of model space entities in the file, converted or not."""
