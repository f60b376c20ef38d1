"""The heartbeat's sweep after a database outage: others get time to beat again first."""

from infrastructure.instances import DEAD_AFTER_SECONDS, Vigil
from tests.unit.fakes import in_memory_store


class Signs:
    def __init__(self) -> None:
        self.reachable = True
        self.sweeps = 0

    def beat(self) -> None:
        if not self.reachable:
            raise ConnectionError("database unavailable")

    def abandoned(self) -> list[str]:
        self.sweeps += 1
        return []


def test_after_its_own_beat_failed_it_sweeps_only_once_others_could_beat_again():
    signs = Signs()
    vigil = Vigil(in_memory_store(), signs)
    vigil.step(0.0)
    assert signs.sweeps == 1, "a healthy instance sweeps at every beat"
    signs.reachable = False
    vigil.step(1.0)
    vigil.step(2.0)
    signs.reachable = True
    for moment in (3.0, 4.0, 3.0 + DEAD_AFTER_SECONDS - 0.5):
        vigil.step(moment)
    assert signs.sweeps == 1, "the others were silent for as long: they are not dead"
    vigil.step(3.0 + DEAD_AFTER_SECONDS)
    assert signs.sweeps == 2
