"""The extents of a drawing, measured from its geometry.

The header's $EXTMIN/$EXTMAX are not used: writers often leave them stale or unset.
"""

import math

from ezdxf import bbox
from ezdxf.entities.dxfgfx import DXFGraphic

from infrastructure.cad.load import CadInvalid
from infrastructure.cad.model import Bounds
from infrastructure.cad.walk import Budget, flatten

NO_GEOMETRY = Bounds(min_x=0.0, min_y=0.0, max_x=0.0, max_y=0.0)


def measure(entities: list[DXFGraphic], budget: Budget) -> Bounds:
    """Bounds of `entities` and of the blocks they insert, all layers included.

    `NO_GEOMETRY` when nothing has extent (no entities, or only infinite lines).
    """
    box = bbox.extents(flatten(entities, budget))
    if not box.has_data:
        return NO_GEOMETRY
    corners = (box.extmin.x, box.extmin.y, box.extmax.x, box.extmax.y)
    if not all(math.isfinite(value) for value in corners):
        raise CadInvalid("the drawing's extents are not finite numbers")
    min_x, min_y, max_x, max_y = corners
    return Bounds(min_x=min_x, min_y=min_y, max_x=max_x, max_y=max_y)
