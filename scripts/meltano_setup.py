"""Install Meltano and this project's plugins once, inside the project, and run Meltano commands.

Meltano lives in its own venv (``.meltano-venv/``): it pins ``sqlalchemy<2.1`` and ``click<8.6``, which the
tap's ``.venv`` does not have to agree with. ``meltano install`` puts every plugin of ``meltano.yml`` into
``.meltano/``. A stamp file records what was installed, so later calls return at once; a lock keeps two
processes (``make demo`` and a test run, say) from installing at the same time or running Meltano while the
other installs. Commands run in parallel (each with its own ``.meltano/run/``, as the shards' commands do).
Used by ``scripts/demo.py`` and ``tests/e2e``; ``python scripts/meltano_setup.py`` installs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml

from tap_qualtrics_orchestration.meltano import MeltanoProject, stop_meltano

ROOT = Path(__file__).resolve().parent.parent
MELTANO_REQUIREMENT = "meltano==4.4.1"
MELTANO_VENV = ROOT / ".meltano-venv"
MELTANO = MELTANO_VENV / "bin" / "meltano"
STAMP = ROOT / ".meltano" / ".installed.json"
LOCK = ROOT / ".meltano-venv.lock"
#: Options of every Meltano command run from here: plain log lines, and the project's .env (a user's real
#: credentials) ignored: the caller passes every setting it wants in the environment.
_ISOLATED = ["--log-format=uncolored", "--env-file", os.devnull]


class SetupError(RuntimeError):
    """Meltano or a plugin could not be installed; the message says which step failed."""


@contextmanager
def project_lock(*, shared: bool = False) -> Iterator[None]:
    """A lock over the Meltano venv and .meltano/: exclusive to install, shared to run commands."""
    LOCK.touch(exist_ok=True)
    with LOCK.open("r") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def command_env(env: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The environment for one Meltano command (:func:`meltano_env`) that may run beside others: held under
    the shared lock (no install meanwhile) and with a private ``.meltano/run/``, where Meltano writes the
    extractor's catalog and state at fixed paths and deletes them when the command ends."""
    full = meltano_env(env)
    with project_lock(shared=True), MeltanoProject(ROOT, env=full).private_system_dir() as private:
        yield {**full, **private}


def fingerprint() -> str:
    """What an install depends on: Meltano's version, each plugin's pip_url, and the tap's own dependencies."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugins = sorted(
        (kind, plugin["name"], plugin.get("pip_url", ""))
        for kind, entries in (project.get("plugins") or {}).items()
        for plugin in entries
    )
    material = json.dumps(
        {
            "meltano": MELTANO_REQUIREMENT,
            "python": sys.version_info[:2],
            "plugins": plugins,
            "pyproject": hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def ensure_installed(log: Callable[[str], None] = print) -> Path:
    """Make sure Meltano and every plugin are installed; return the ``meltano`` executable.

    ``.meltano/`` is kept private to its owner (0700): Meltano writes each run's plugin configuration, with
    the credentials, to ``.meltano/run/`` and leaves it there when a run is killed. Checking takes the shared
    lock, so it does not wait for commands running meanwhile; only an install takes the exclusive one."""
    wanted = fingerprint()
    with project_lock(shared=True):
        if _installed(wanted):
            _keep_private(ROOT / ".meltano")
            return MELTANO
    with project_lock():
        _keep_private(ROOT / ".meltano")
        if _installed(wanted):
            return MELTANO
        started = time.monotonic()
        if not MELTANO.exists() or _installed_meltano() != MELTANO_REQUIREMENT:
            log(
                f"Installing {MELTANO_REQUIREMENT} into {MELTANO_VENV.relative_to(ROOT)}/ (once) ..."
            )
            _check_call(
                [sys.executable, "-m", "venv", "--clear", str(MELTANO_VENV)],
                "create the Meltano venv",
            )
            _check_call(
                [
                    str(MELTANO_VENV / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    MELTANO_REQUIREMENT,
                ],
                f"pip install {MELTANO_REQUIREMENT}",
            )
        log("Installing the plugins of meltano.yml into .meltano/ (once) ...")
        STAMP.unlink(missing_ok=True)
        _check_call([str(MELTANO), "install"], "meltano install", env=meltano_env())
        STAMP.write_text(json.dumps({"fingerprint": wanted}))
        _keep_private(ROOT / ".meltano")
        log(f"  installed in {time.monotonic() - started:.0f} s")
        return MELTANO


def _keep_private(directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    directory.chmod(0o700)


def _installed(wanted: str) -> bool:
    """Whether Meltano and the plugins are installed as the :func:`fingerprint` ``wanted`` says."""
    if not (STAMP.exists() and MELTANO.exists()):
        return False
    try:
        return bool(json.loads(STAMP.read_text()).get("fingerprint") == wanted)
    except ValueError:
        return False


def meltano_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a Meltano process: ours, minus settings of another venv or a stray plugin config."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONHOME"}
        and not key.startswith(("TAP_QUALTRICS_", "TARGET_POSTGRES_", "TARGET_DUCKDB_", "MELTANO_"))
    }
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_meltano(
    args: list[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run one Meltano command in the project (see :func:`command_env`); output captured, never raises."""
    with command_env(env) as command:
        return subprocess.run(
            [str(MELTANO), *_ISOLATED, *args],
            cwd=ROOT,
            env=command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def stream_meltano(
    args: list[str], env: Mapping[str, str], on_log_line: Callable[[str], None], log_file: Path
) -> int:
    """Run one Meltano command, handing each log line to ``on_log_line`` as it comes; returns the exit code."""
    with command_env(env) as command, log_file.open("a") as log:
        process = subprocess.Popen(
            [str(MELTANO), *_ISOLATED, *args],
            cwd=ROOT,
            env=command,
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if process.stderr is None:  # Popen(stderr=PIPE) always opens it
                raise RuntimeError("Meltano's stderr pipe is missing")
            for line in process.stderr:
                log.write(line)
                on_log_line(line.rstrip("\n"))
            return process.wait()
        finally:
            # Interrupted (Ctrl-C reaches Meltano too, SIGTERM only us): let Meltano stop its plugins before
            # the caller tears down what they use (the sandbox, the database).
            stop_meltano(process)


def _installed_meltano() -> str | None:
    try:
        out = subprocess.run(
            [str(MELTANO), "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return "meltano==" + out.strip().rsplit(" ", 1)[-1]


def _check_call(command: list[str], what: str, env: Mapping[str, str] | None = None) -> None:
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-5000:])
        raise SetupError(f"Could not {what} (exit {completed.returncode}); its output is above.")


if __name__ == "__main__":
    print(
        f"Meltano and the plugins of meltano.yml are installed: {ensure_installed().relative_to(ROOT)}"
    )
