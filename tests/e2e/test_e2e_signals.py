"""A tap stopped by SIGTERM makes `meltano run tap-qualtrics target-postgres` fail (before, the tap exited 0 and
Meltano reported the partial run as completed), and what was loaded is consistent with the saved state."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from support.e2e import MeltanoProject, local_postgres, meltano_setup

from qualtrics_sandbox.server import running_sandbox

PROGRESS = "GET /surveys/{surveyId}/export-responses/{exportProgressId}"
GRACE_SECONDS = 60


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _tap_pids(meltano_pid: int) -> list[int]:
    """This run's processes of the tap's executable (found through /proc): never another session's tap."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"/bin/tap-qualtrics") for part in command):
            ancestor = _parent(int(entry.name))
            while ancestor not in {None, 0, 1, meltano_pid}:
                ancestor = _parent(ancestor)
            if ancestor == meltano_pid:
                pids.append(int(entry.name))
    return pids


def test_meltano_run_fails_when_the_tap_is_stopped(
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    fresh_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("meltano-signal")
    with running_sandbox(seed=19, surveys=3, responses=4, users=2, export_polls=10**9) as sandbox:
        project = MeltanoProject.for_sandbox(
            sandbox,
            workdir,
            TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=fresh_schema,
            TAP_QUALTRICS_EXPORT_TIMEOUT_SECONDS="3600",
        )
        # As meltano_setup.run_meltano runs it: no install meanwhile, and a .meltano/run/ of its own.
        with (
            meltano_setup.command_env(project.env) as command,
            (workdir / "meltano.log").open("w") as log,
        ):
            run = subprocess.Popen(
                [
                    str(meltano_setup.MELTANO),
                    *meltano_setup._ISOLATED,
                    "run",
                    "tap-qualtrics",
                    "target-postgres",
                ],
                cwd=meltano_setup.ROOT,
                env=command,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + GRACE_SECONDS
                while sandbox.stats()["requests"].get(PROGRESS, 0) < 3 or not _tap_pids(run.pid):
                    assert run.poll() is None, (workdir / "meltano.log").read_text()[-3000:]
                    assert time.monotonic() < deadline, "the tap never got to its exports"
                    time.sleep(0.05)
                for pid in _tap_pids(run.pid):
                    os.kill(pid, signal.SIGTERM)
                returncode = run.wait(timeout=GRACE_SECONDS)
            finally:
                if run.poll() is None:
                    run.kill()
                    run.wait()
    output = (workdir / "meltano.log").read_text()
    assert returncode != 0, output[-3000:]
    assert "Stopped by SIGTERM before the sync finished" in output
