"""Run a route's hostile requests through hypothesis, checking the server after each."""

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.e2e.hostile.routes import Builder, Draw
from tests.e2e.hostile.wire import Request
from tests.e2e.hostile.world import World


def hostile_settings(examples: int) -> settings:
    """Reproducible (derandomized, no example database) and without shrinking: every case
    changes the server for good, so a smaller case tried later would not meet the same
    server. The first failing case is the one reported."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@st.composite
def hostile_requests(draw: Draw, build: Builder, world: World) -> Request:
    return build(draw, world)


def attack(route: str, build: Builder, examples: int, world: World) -> None:
    """`examples` hostile requests to one route; each must get an answer below 500, and
    the projections must advance after each (World.attempt)."""

    @hostile_settings(examples)
    @given(request=hostile_requests(build, world))
    def one(request: Request) -> None:
        world.attempt(request)

    before = world.cases
    world.statuses.clear()
    one()
    print(f"{route}: {world.cases - before} cases, statuses {dict(sorted(world.statuses.items()))}")
    assert world.cases - before >= examples // 2, "most cases never reached the server"
