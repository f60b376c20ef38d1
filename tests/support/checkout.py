"""A copy of the checkout as a fresh clone has it, for installs that must not see anything else."""

import shutil
import subprocess
from pathlib import Path

from tests.support.server import ROOT


def copy_of_checkout(into: Path, folder: str = ".") -> Path:
    """The files git would commit under `folder` (tracked, and new ones not ignored), copied
    to `into` at their paths: no venv, node_modules or build left in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the work tree is not there
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into
