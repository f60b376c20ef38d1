"""The composition root hands the clock it was given to what acts on the time: a test that
moves time moves the retention sweep with it (here the command; the worker's loop is given
the same `Container.clock`)."""

import argparse
import uuid

from api.bootstrap import Database, build_container
from api.cli_read_models import run_command
from api.start import start
from application.chat import Caller
from application.save_session import SavedMessage, SaveSession, save_session
from infrastructure.settings import Settings
from tests.conftest import JWT_SECRET
from tests.unit.fakes import FixedClock

DAY = 86_400
SWEEP = argparse.Namespace(command="retention", retention_command="sweep", days=1.0)


def test_the_retention_sweep_runs_on_the_clock_the_root_was_given(make_database, tmp_path, capsys):
    url = make_database(f"root_clock_{uuid.uuid4().hex[:6]}")
    clock = FixedClock()
    settings = Settings(database_url=url, jwt_secret=JWT_SECRET, data_dir=str(tmp_path))
    container = start(build_container(settings, Database(url), clock=clock))
    try:
        caller = Caller(user_id=str(uuid.uuid4()), role="user")
        saved = SaveSession(caller, str(uuid.uuid4()), "Idle", "demo", [SavedMessage("user", "hi")])
        save_session(container.chat, saved)
        assert container.clock is clock
        assert run_command(SWEEP, container) == 0
        assert capsys.readouterr().out.startswith("0 conversations expired")
        clock.advance(2 * DAY)
        assert run_command(SWEEP, container) == 0
        assert capsys.readouterr().out.startswith("1 conversations expired")
    finally:
        container.close()
