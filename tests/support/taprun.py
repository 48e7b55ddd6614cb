"""The tap run by a test: in this process, or as a real ``tap-qualtrics`` process; one result type.

:func:`run_tap_in_process` is fast and lets a test read the run's failure ledger and the tap object;
:func:`run_tap_process` is the real command line (exit code, CWD, signals of a process). Both return a
:class:`TapRun`.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from support.paths import REPO

#: Settings that keep test runs fast: no waits between polls or retries, no safety lag.
FAST_SETTINGS: dict[str, Any] = {
    "export_poll_interval_seconds": 0,
    "retry_delay": 0,
    "export_safety_lag_seconds": 0,
    "request_timeout": 30,
}


@dataclass
class TapRun:
    """What one run of the tap put out.

    ``stdout`` is the Singer output and ``messages`` its parsed messages. ``stderr`` is the process's
    standard error, or for an in-process run the log lines captured from the root logger followed by
    anything written to ``sys.stderr`` (``log_messages``: those log records' bare messages). ``returncode`` is the exit code of a process (None in-process).
    In-process runs also keep the exception the run ended with (``error``), the tap, its failure ledger
    (``failures``), that ledger's ``failure_summary`` ("" without failures) and ``failed_surveys``.
    """

    messages: list[dict[str, Any]]
    stdout: str
    stderr: str
    returncode: int | None = None
    error: BaseException | None = None
    failures: Any = None
    failure_summary: str = ""
    failed_surveys: list[str] = field(default_factory=list)
    tap: Any = field(default=None, repr=False)
    log_messages: list[str] = field(default_factory=list, repr=False)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def records_by_stream(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for m in self.messages:
            if m["type"] == "RECORD":
                out.setdefault(m["stream"], []).append(m["record"])
        return out

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def bookmarks(self, stream: str, key: str) -> dict[str, str | None]:
        """``context[key] -> replication key value`` of the partitions of ``stream`` in the final state."""
        partitions = self.final_state["bookmarks"].get(stream, {}).get("partitions", [])
        return {p["context"][key]: p.get("replication_key_value") for p in partitions}

    def response_bookmarks(self) -> dict[str, str | None]:
        return self.bookmarks("responses", "survey_id")

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]

    @property
    def error_text(self) -> str:
        """The traceback of the exception an in-process run ended with ("" if none)."""
        return "".join(traceback.format_exception(self.error)) if self.error is not None else ""

    @property
    def ok(self) -> bool:
        """An in-process run that raised nothing and recorded no failure."""
        return self.error is None and not self.failure_summary

    def all_text(self) -> str:
        """Everything the run put out, for scans (secrets)."""
        return f"{self.stdout}\n{self.stderr}\n{self.error_text}\n{self.failure_summary}"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.messages: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.messages.append(record.getMessage())


def _loads(line: str) -> Any:
    """One Singer message (orjson: several times faster; json for what it refuses, e.g. huge integers)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def run_tap_in_process(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    log_level: int | None = None,
    raise_errors: bool = True,
    prepare: Callable[[Any], None] | None = None,
) -> TapRun:
    """One ``TapQualtrics(...).sync_all()`` in this process, stdout, stderr and logs captured.

    Config, state and catalog are copied first (the run never changes the caller's). ``catalog`` None
    is the tap's default catalog. ``log_level`` sets the root logger's level for the run (None: leave
    it). With ``raise_errors`` an exception of the run propagates; without, it is kept in ``error``.
    ``prepare(tap)`` runs between building the tap and its sync (e.g. to observe its rate budget).
    """
    from tap_qualtrics.tap import TapQualtrics

    out, err, collect = io.StringIO(), io.StringIO(), _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collect)
    if log_level is not None:
        root.setLevel(log_level)
    error: BaseException | None = None
    tap = None
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                tap = TapQualtrics(
                    config=copy.deepcopy(config),
                    state=copy.deepcopy(state) if state else None,
                    catalog=orjson.loads(orjson.dumps(catalog)) if catalog is not None else None,
                )
                if prepare is not None:
                    prepare(tap)
                tap.sync_all()
            except Exception as raised:
                if raise_errors:
                    raise
                error = raised
            finally:
                if tap is not None:  # what the process would write at exit
                    tap.message_writer.flush()
            failures = tap.run.failures if tap is not None else None
            summary = failures.summary() if failures else ""
            failed = [f.survey_id for f in failures.surveys] if failures else []
    finally:
        root.removeHandler(collect)
        root.setLevel(old_level)
    stdout = out.getvalue()
    messages = [_loads(line) for line in stdout.splitlines() if line.startswith("{")]
    stderr = "\n".join(collect.lines) + err.getvalue()
    return TapRun(
        messages, stdout, stderr, None, error, failures, summary, failed, tap, collect.messages
    )


#: The tap's command line (its inputs follow; see :func:`write_inputs`).
TAP_COMMAND = (sys.executable, "-m", "tap_qualtrics")


def tap_process_env(**extra: str) -> dict[str, str]:
    """The environment of a tap process: this one, the repository importable, no log level override,
    plus ``extra``. Tests that must stream or signal the process start it themselves with this and
    :data:`TAP_COMMAND`; every other process run is :func:`run_tap_process`."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("TAP_QUALTRICS_LOGLEVEL", None)
    env.update(extra)
    return env


def write_inputs(
    inputs: Path,
    config: dict[str, Any] | None,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> list[str]:
    """Write the documents to ``inputs``; returns their ``--config``/``--state``/``--catalog`` arguments."""
    inputs.mkdir(exist_ok=True)
    arguments: list[str] = []
    for name, document in (("config", config), ("state", state), ("catalog", catalog)):
        if document is not None:
            path = inputs / f"{name}.json"
            path.write_text(json.dumps(document))
            arguments += [f"--{name}", str(path)]
    return arguments


def run_tap_process(
    config: dict[str, Any],
    workdir: Path,
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 120,
    wrapper: tuple[str, ...] = (),
) -> TapRun:
    """Run ``python -m tap_qualtrics`` in ``workdir`` (which must stay empty: nothing goes to the CWD)."""
    inputs = workdir.parent / f"{workdir.name}-inputs"
    command = [*wrapper, *TAP_COMMAND, *write_inputs(inputs, config, state, catalog)]
    command += list(args)
    completed = subprocess.run(
        command,
        cwd=workdir,
        env=tap_process_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    return TapRun(messages, completed.stdout, completed.stderr, completed.returncode)
