"""Walking model space within `CadLimits`, with block references expanded to their content.

Blocks can nest, refer to themselves, or insert each other thousands of times: the walk
follows INSERT nesting only to `max_block_depth` and stops after `max_expanded_entities`
or `max_seconds`, marking the budget as cut short so the caller can report truncation.
"""

import time
from collections.abc import Iterable, Iterator

from ezdxf.entities.dxfgfx import DXFGraphic
from ezdxf.entities.insert import Insert as InsertEntity
from ezdxf.protocols import SupportsVirtualEntities, virtual_entities

from infrastructure.cad.load import CadLimits


class Budget:
    """The work left for one parse or rendering of one file."""

    def __init__(self, limits: CadLimits) -> None:
        self.limits = limits
        self._deadline = time.monotonic() + limits.max_seconds
        self._expansions_left = limits.max_expanded_entities
        self.cut_short = False

    def time_left(self) -> bool:
        if time.monotonic() <= self._deadline:
            return True
        self.cut_short = True
        return False

    def count_expanded(self, entities: Iterable[DXFGraphic]) -> Iterator[DXFGraphic]:
        """Pass on block content while the allowance of expanded entities lasts."""
        for entity in entities:
            self._expansions_left -= 1
            if self._expansions_left < 0:
                self.cut_short = True
                return
            yield entity

    def first_entities(self, entities: Iterable[DXFGraphic]) -> list[DXFGraphic]:
        """The entities to convert: at most `max_entities` (time is checked while converting)."""
        chosen: list[DXFGraphic] = []
        for entity in entities:
            if len(chosen) >= self.limits.max_entities:
                self.cut_short = True
                break
            chosen.append(entity)
        return chosen


def flatten(entities: Iterable[DXFGraphic], budget: Budget) -> Iterator[DXFGraphic]:
    """Yield `entities` with every block reference replaced by its transformed content."""
    yield from _flatten(entities, budget, budget.limits.max_block_depth)


def _flatten(
    entities: Iterable[DXFGraphic], budget: Budget, depth_left: int
) -> Iterator[DXFGraphic]:
    for entity in entities:
        if not budget.time_left():
            return
        if not _is_composite(type(entity)):
            yield entity
        elif depth_left <= 0:
            budget.cut_short = True
        else:
            content = budget.count_expanded(_content_of(entity))
            yield from _flatten(content, budget, depth_left - 1)


_COMPOSITE_TYPES: dict[type, bool] = {}


def _is_composite(entity_type: type) -> bool:
    # Cached per class: isinstance against a runtime protocol is slow, and this runs for
    # every entity of every expanded block.
    known = _COMPOSITE_TYPES.get(entity_type)
    if known is None:
        known = issubclass(entity_type, InsertEntity) or hasattr(
            entity_type, "__virtual_entities__"
        )
        _COMPOSITE_TYPES[entity_type] = known
    return known


def _content_of(entity: DXFGraphic) -> Iterator[DXFGraphic]:
    if isinstance(entity, InsertEntity):
        if entity.mcount > 1:
            # MINSERT: one virtual single INSERT per grid cell, expanded at the next level.
            yield from entity.multi_insert()
        else:
            yield from entity.attribs
            yield from entity.virtual_entities()
    elif isinstance(entity, SupportsVirtualEntities):
        # DIMENSION, LEADER, MLINE, proxies: their geometry is made of simpler entities.
        yield from virtual_entities(entity)
