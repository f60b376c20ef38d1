"""A DXF upload into a `CadDrawing`: entities, layers and bounds of its model space.

Hostile or damaged input raises only `CadInvalid` (send 400) or `CadUnsupportedFormat`
(send 415); limits on work are in `CadLimits`, and hitting one sets `truncated`. Memory and
time are bounded by the process this runs in (`infrastructure.cad.child`).
"""

from ezdxf.document import Drawing

from infrastructure.cad.bounds import measure
from infrastructure.cad.entities import to_struct
from infrastructure.cad.load import (
    DEFAULT_LIMITS,
    CadInvalid,
    CadLimits,
    CadUnsupportedFormat,
    read_with,
)
from infrastructure.cad.model import CadDrawing, CadEntity, Layer
from infrastructure.cad.walk import Budget

__all__ = ["CadDrawing", "CadInvalid", "CadLimits", "CadUnsupportedFormat", "parse_dxf"]

_DEFAULT_COLOR = 7


def parse_dxf(data: bytes, limits: CadLimits = DEFAULT_LIMITS) -> CadDrawing:
    """The model space of the DXF `data` (ASCII or binary) with its layers and bounds.

    Raises CadUnsupportedFormat for DWG and CadInvalid for anything else unreadable,
    including a file without an ENTITIES section or EOF marker; never another exception
    but MemoryError (a drawing too complex for the memory given, see `infrastructure.cad.child`).
    """
    return read_with(data, limits, _describe)


def _describe(doc: Drawing, limits: CadLimits) -> CadDrawing:
    budget = Budget(limits)
    modelspace = doc.modelspace()
    chosen = budget.first_entities(modelspace)
    entities: list[CadEntity] = []
    for entity in chosen:
        if not budget.time_left():
            break
        entities.append(to_struct(entity))
    bounds = measure(chosen[: len(entities)], budget)
    return CadDrawing(
        entities=entities,
        layers=_layers(doc, entities),
        bounds=bounds,
        truncated=budget.cut_short,
        entity_count=len(modelspace),
    )


def _layers(doc: Drawing, entities: list[CadEntity]) -> list[Layer]:
    """The layer table, plus layers that entities name but the table lacks.

    CAD programs show entities on an undefined layer as if the layer had the defaults
    (colour 7, on); ezdxf's audit does not add such layers, so they are added here.
    """
    layers = [
        Layer(
            name=str(layer.dxf.name),
            color=abs(int(layer.dxf.color)),
            visible=layer.is_on() and not layer.is_frozen(),
        )
        for layer in doc.layers
    ]
    known = {layer.name.lower() for layer in layers}  # DXF layer names are case-blind
    for entity in entities:
        if entity.layer.lower() not in known:
            known.add(entity.layer.lower())
            layers.append(Layer(name=entity.layer, color=_DEFAULT_COLOR, visible=True))
    return layers
