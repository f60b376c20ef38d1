"""Hypothesis over every write route: whatever is sent, no 5xx, and after every request a
chat made next still shows up in its owner's sessions within seconds (issue 13, item 1)."""

import pytest

from tests.e2e.hostile.attack import attack
from tests.e2e.hostile.routes import WRITE_ROUTES
from tests.e2e.hostile.world import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("route", list(WRITE_ROUTES))
def test_no_input_gets_a_5xx_or_stops_the_projections(route: str, world: World) -> None:
    build, examples = WRITE_ROUTES[route]
    attack(route, build, examples, world)
