"""The hostile requests issue 13 names: none gets a 5xx, none stops the projections."""

import pytest

from tests.e2e.hostile.vectors import VECTORS
from tests.e2e.hostile.world import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(VECTORS))
def test_a_named_vector_gets_no_5xx_and_the_projections_go_on(name: str, world: World) -> None:
    answer = world.attempt(VECTORS[name](world))
    print(f"{name}: {answer.status_code}")
