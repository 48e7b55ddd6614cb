"""Meltano commands of a sharded run, safe to run in parallel in one Meltano project.

Meltano 4.4.1 writes an extractor's catalog and state for ``meltano run`` and ``meltano invoke`` to fixed
paths, ``.meltano/run/<extractor>/tap.properties.json`` and ``state.json``, and deletes them when the run
ends (meltano/meltano#8763). Two runs of one extractor in one project at the same time read each other's
files, or find them gone: a shard could start from another shard's state. So every command here runs with
its own system directory (``MELTANO_SYS_DIR_ROOT``): a temporary directory that links to everything in the
project's ``.meltano/`` (the installed plugins) except ``run/``. The system database stays the project's:
when neither the environment nor ``meltano.yml`` sets ``database_uri``, Meltano's default
(``.meltano/meltano.db``) is given explicitly. On Kubernetes, where each step runs in its own pod, the
private directory changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

#: Log lines kept for a failure's description.
TAIL_LINES = 40
#: Seconds an interrupted Meltano command gets to stop its plugins before it is killed.
STOP_SECONDS = 20
#: SQLite files beside the system database: SQLite finds them beside the real file, never through a link.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class MeltanoProject:
    """A Meltano project and how to run its commands: the executable, the environment, the plugins."""

    project_dir: Path
    executable: str = "meltano"
    environment: str | None = None
    env_file: str | None = None
    extractor: str = "tap-qualtrics"
    loader: str = "target-postgres"
    #: variables added to every command's environment
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def environment_name(self) -> str | None:
        """The Meltano environment the runs use: as given, else ``MELTANO_ENVIRONMENT``, else
        ``meltano.yml``'s ``default_environment``."""
        if self.environment:
            return self.environment
        return os.environ.get("MELTANO_ENVIRONMENT") or self._project_file().get(
            "default_environment"
        )

    def state_id(self, suffix: str) -> str:
        """The state ID ``meltano run --state-id-suffix <suffix>`` saves under."""
        return f"{self.environment_name}:{self.extractor}-to-{self.loader}:{suffix}"

    def command(self, *args: str) -> list[str]:
        """``meltano [--env-file F] [--environment E] <args>``."""
        options = ["--env-file", self.env_file] if self.env_file else []
        if self.environment_name:
            options += ["--environment", self.environment_name]
        return [self.executable, *options, *args]

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        log: Path | None = None,
        echo: TextIO | None = None,
    ) -> MeltanoResult:
        """One Meltano command in its own system directory. Its log (stderr) goes line by line to ``log`` and
        ``echo``; stdin and stdout pass through temporary files, so no pipe can fill up and block either side.
        Never raises for a non-zero exit code."""
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        with (
            self.private_system_dir() as system_env,
            tempfile.TemporaryFile("w+") as stdin_file,
            tempfile.TemporaryFile("w+") as stdout_file,
            log.open("w") if log is not None else nullcontext() as log_file,
        ):
            stdin_file.write(stdin)
            stdin_file.seek(0)
            with subprocess.Popen(  # noqa: S603 - the configured meltano executable
                self.command(*args),
                cwd=self.project_dir,
                env={**self._base_env(), **system_env, **dict(self.env), **dict(env or {})},
                stdin=stdin_file,
                stdout=stdout_file,
                stderr=subprocess.PIPE,
                text=True,
            ) as process:
                try:
                    for line in process.stderr or ():
                        tail.append(line.rstrip("\n"))
                        for sink in (log_file, echo):
                            if sink is not None:
                                sink.write(line)
                                sink.flush()
                    returncode = process.wait()
                finally:
                    stop_meltano(process)
            stdout_file.seek(0)
            return MeltanoResult(returncode, stdout_file.read(), list(tail))

    @contextmanager
    def private_system_dir(self) -> Iterator[dict[str, str]]:
        """A temporary ``.meltano`` that links to the project's, but for ``run/``; yields the environment
        variables that point Meltano at it."""
        shared = self._system_dir()
        private = Path(tempfile.mkdtemp(prefix="meltano-shard-"))
        try:
            if shared.is_dir():
                for entry in shared.iterdir():
                    if entry.name != "run" and not entry.name.endswith(_SQLITE_SIDE_FILES):
                        (private / entry.name).symlink_to(entry)
            env = {"MELTANO_SYS_DIR_ROOT": str(private)}
            if self._default_database():
                env["MELTANO_DATABASE_URI"] = f"sqlite:///{shared / 'meltano.db'}"
            yield env
        finally:
            shutil.rmtree(private, ignore_errors=True)

    def _system_dir(self) -> Path:
        configured = self.env.get("MELTANO_SYS_DIR_ROOT") or os.environ.get("MELTANO_SYS_DIR_ROOT")
        return Path(configured) if configured else self.project_dir / ".meltano"

    def _default_database(self) -> bool:
        """Whether Meltano would use its default SQLite database inside the system directory."""
        given = "MELTANO_DATABASE_URI" in self.env or "MELTANO_DATABASE_URI" in os.environ
        return not given and "database_uri" not in self._project_file()

    def _project_file(self) -> dict[str, Any]:
        loaded = yaml.safe_load((self.project_dir / "meltano.yml").read_text())
        return loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _base_env() -> dict[str, str]:
        """This process's environment, without what would point Meltano at another venv."""
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
        env.setdefault("NO_COLOR", "1")
        return env


def stop_meltano(process: subprocess.Popen[str]) -> None:
    """A Meltano command still running after an interruption: ask it to stop, so it stops its plugins before
    what they use goes away, and kill it after ``STOP_SECONDS``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class MeltanoResult:
    """How a Meltano command ended: exit code, standard output, the last lines of its log."""

    returncode: int
    stdout: str
    log_tail: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0
