from llmchat.models.base import Model


class Point(Model):
    x: float
    y: float


class CadEntity(Model):
    """A model space entity: `type` (the DXF type) and `layer`, other fields per type."""

    type: str
    layer: str
    start_point: Point | None = None
    end_point: Point | None = None
    center: Point | None = None
    radius: float | None = None
    start_angle: float | None = None
    end_angle: float | None = None
    points: list[Point] | None = None
    closed: bool | None = None
    location: Point | None = None
    major_axis: Point | None = None
    ratio: float | None = None
    start_param: float | None = None
    end_param: float | None = None
    control_points: list[Point] | None = None
    fit_points: list[Point] | None = None
    degree: int | None = None
    text: str | None = None
    insert: Point | None = None
    height: float | None = None
    rotation: float | None = None
    name: str | None = None
    xscale: float | None = None
    yscale: float | None = None


class CadLayer(Model):
    name: str
    color: int
    visible: bool


class Bounds(Model):
    min_x: float
    min_y: float
    max_x: float
    max_y: float


class CadDrawing(Model):
    entities: list[CadEntity]
    layers: list[CadLayer]
    bounds: Bounds
    truncated: bool = False
    entity_count: int = 0
