"""Meltano commands of the demo and the tests may run at once (one test worker per core): installs exclude
them, and each has its own ``.meltano/run/``, where Meltano writes the extractor's catalog and state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.e2e import REPO, meltano_setup

#: Tries the project lock without waiting, from another process: prints "taken" or "busy".
TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1]) as handle:
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if sys.argv[2] == "shared" else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        print("taken")
    except BlockingIOError:
        print("busy")
"""


def _try_lock(lock: Path, kind: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(lock), kind],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_commands_share_the_lock_and_an_install_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # not the project's lock: commands of other test workers hold that one
    lock = tmp_path / "meltano.lock"
    monkeypatch.setattr(meltano_setup, "LOCK", lock)
    with meltano_setup.project_lock(shared=True):
        assert _try_lock(lock, "shared") == "taken"  # another command runs meanwhile
        assert _try_lock(lock, "exclusive") == "busy"  # an install waits
    with meltano_setup.project_lock():
        assert _try_lock(lock, "shared") == "busy"  # no command during an install


def test_each_command_has_its_own_run_directory(meltano_installed: None, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'meltano.db'}"
    with (
        meltano_setup.command_env({"MELTANO_DATABASE_URI": database}) as first,
        meltano_setup.command_env({"MELTANO_DATABASE_URI": database}) as second,
    ):
        roots = [Path(env["MELTANO_SYS_DIR_ROOT"]) for env in (first, second)]
        assert roots[0] != roots[1]
        for root in roots:
            assert not (root / "run").exists()
            assert (root / "extractors").resolve() == (REPO / ".meltano" / "extractors").resolve()
            assert root.stat().st_mode & 0o777 == 0o700  # the run's configuration holds credentials
        assert first["MELTANO_DATABASE_URI"] == second["MELTANO_DATABASE_URI"] == database
    assert not any(root.exists() for root in roots)
