"""Hypothesis over the read routes: hostile ids, query parameters and headers get no 5xx,
and the projections go on (a refused read is recorded, so it too reaches the log)."""

import pytest

from tests.e2e.hostile.attack import attack
from tests.e2e.hostile.reads import READ_ROUTES
from tests.e2e.hostile.world import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("route", list(READ_ROUTES))
def test_no_read_gets_a_5xx_or_stops_the_projections(route: str, world: World) -> None:
    build, examples = READ_ROUTES[route]
    attack(route, build, examples, world)
