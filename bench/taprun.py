"""Run ``tap-qualtrics`` as a subprocess on a sandbox: wall time, peak RSS, and the records it wrote."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from qualtrics_sandbox.server import running_sandbox
from tap_qualtrics.tap import TapQualtrics

REPO = Path(__file__).resolve().parents[1]
TIME = shutil.which("time") or "/usr/bin/time"  # GNU time (apt-get install time)


#: Record keys the benchmarks check, per stream (other streams' records are only counted).
COLLECTED_KEYS: dict[str, tuple[str, ...]] = {
    "responses": ("survey_id", "response_id"),
    "live_response_ids": ("response_id",),
}


class OutputTally:
    """Reads the tap's stdout as a Singer target would (through a pipe), counting RECORD messages per
    stream and keeping the checked keys, so the output never has to be written to disk (the floor writes to
    /dev/null; a file costs the tap about 15% more than a pipe, measured on 60k wide responses)."""

    _STREAM = re.compile(rb'^\{"type":"RECORD","stream":"([^"\\]*)"')

    def __init__(self, keys: dict[str, tuple[str, ...]]) -> None:
        self.counts: dict[str, int] = {}
        self.values: dict[tuple[str, str], list[Any]] = {
            (stream, key): [] for stream, wanted in keys.items() for key in wanted
        }
        self._patterns = {
            stream: [(key, re.compile(rb'"' + key.encode() + rb'":"([^"\\]*)"')) for key in wanted]
            for stream, wanted in keys.items()
        }
        #: the last STATE message, as written
        self.last_state = b""
        #: how many STATE messages, and their bytes in all
        self.state_messages = 0
        self.state_bytes = 0

    def read(self, lines: Iterable[bytes]) -> None:
        # Rows of a stream whose keys are not kept (answer rows) come in runs: counted by their prefix alone,
        # so reading 10 million of them does not slow the tap it measures.
        run_prefix, run_stream = b"\0", ""
        for line in lines:
            if line.startswith(run_prefix):
                self.counts[run_stream] += 1
                continue
            match = self._STREAM.match(line)
            if match is not None and match.group(1).decode() not in self._patterns:
                run_stream = match.group(1).decode()
                run_prefix = match.group(0)
            if match is None and line.startswith(b'{"type":"STATE"'):
                self.last_state = line.rstrip(b"\n")
                self.state_messages += 1
                self.state_bytes += len(line)
                continue
            if match is None:
                if b'"RECORD"' in line:  # perhaps a RECORD written with another key order: parse it
                    message = orjson.loads(line)
                    if message.get("type") == "RECORD":
                        self._add(message["stream"], line, message["record"])
                continue
            self._add(match.group(1).decode(), line, None)

    def _add(self, stream: str, line: bytes, record: dict[str, Any] | None) -> None:
        """Count one RECORD line and keep its checked keys (``record``: the line already parsed)."""
        self.counts[stream] = self.counts.get(stream, 0) + 1
        patterns = self._patterns.get(stream, ())
        if record is None:
            found = [pattern.search(line) for _, pattern in patterns]
            if all(found):  # the lean writer puts these keys first: found at once, no parse
                for (key, _), value in zip(patterns, found, strict=True):
                    self.values[(stream, key)].append(value.group(1).decode())  # type: ignore[union-attr]
                return
            record = orjson.loads(line)["record"]
        for key, _ in patterns:
            self.values[(stream, key)].append(record[key])


@dataclass
class TapResult:
    """One run of the tap: how it ended, what it cost, and what it wrote."""

    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    tally: OutputTally
    stderr_tail: str

    def record_ids(self, stream: str, key: str) -> list[Any]:
        """The ``key`` of every RECORD of ``stream``, in output order."""
        return list(self.tally.values[(stream, key)])

    def count_lines(self, stream: str) -> int:
        return self.tally.counts.get(stream, 0)

    @property
    def state(self) -> dict[str, Any]:
        """The value of the last STATE message (what the next run starts from)."""
        if not self.tally.last_state:
            return {}
        value: dict[str, Any] = orjson.loads(self.tally.last_state)["value"]
        return value


def selected_catalog(config: dict[str, Any], streams: Iterable[str]) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected (and available streams reported)."""
    wanted = set(streams)
    catalog = TapQualtrics(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def available_streams(config: dict[str, Any]) -> set[str]:
    return {
        e["tap_stream_id"]
        for e in TapQualtrics(config=config, validate_config=False).catalog_dict["streams"]
    }


def run_tap(
    config: dict[str, Any],
    catalog: dict[str, Any],
    workdir: Path,
    label: str,
    state: dict[str, Any] | None = None,
    *,
    module: str = "tap_qualtrics",
    extra_env: dict[str, str] | None = None,
) -> TapResult:
    """Run the tap once (from ``state`` if given), its stdout read through a pipe by :class:`OutputTally`
    (inputs and logs go to ``workdir``). ``module``: what ``python -m`` runs (a launcher such as
    ``bench.scaled_tap`` that then runs the tap); ``extra_env``: variables added to the tap's environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{label}-config.json"
    catalog_path = workdir / f"{label}-catalog.json"
    config_path.write_text(json.dumps(config))
    catalog_path.write_text(json.dumps(catalog))
    stderr_path = workdir / f"{label}-err.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        **(extra_env or {}),
    }
    rss_path = workdir / f"{label}-maxrss.txt"
    # GNU time reports the tap's own peak (a forked child's getrusage would count the parent's pages too).
    command = [TIME, "-f", "%M %U %S", "-o", str(rss_path), sys.executable, "-m", module]
    command += ["--config", str(config_path), "--catalog", str(catalog_path)]
    if state is not None:
        state_path = workdir / f"{label}-state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    tally = OutputTally(COLLECTED_KEYS)
    with stderr_path.open("wb") as err:
        started = time.perf_counter()
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, cwd=workdir, env=env, bufsize=1 << 20
        ) as process:
            if process.stdout is None:  # Popen(stdout=PIPE) always opens it
                raise RuntimeError("the tap's stdout pipe is missing")
            reader = threading.Thread(target=tally.read, args=(process.stdout,), daemon=True)
            reader.start()
            returncode = process.wait()
            reader.join()
        wall = time.perf_counter() - started
    stderr_tail = stderr_path.read_text(errors="replace")[-2000:]
    peak_kb, user, system = rss_path.read_text().split()[-3:]
    return TapResult(
        returncode, wall, int(peak_kb) / 1024, float(user) + float(system), tally, stderr_tail
    )


_DOWNLOADED = re.compile(rb"Downloaded the (.+?) of \S+ \((\d+) bytes\)")


def downloaded_bytes(log: Path) -> dict[str, int]:
    """Bytes the tap downloaded, by what it logged ("response export", "response-ID export", ...)."""
    sizes: dict[str, int] = {}
    for what, size in _DOWNLOADED.findall(log.read_bytes()):
        sizes[what.decode()] = sizes.get(what.decode(), 0) + int(size)
    return sizes


@contextlib.contextmanager
def one_survey(seed: int, responses: int, questions: int, no_cap: int) -> Iterator[Any]:
    """A sandbox of one survey whose exports are ready at once and never capped, and the tap's config for
    it (no safety lag, no poll wait): ``(handle, config)``."""
    with running_sandbox(
        seed=seed,
        surveys=1,
        responses=responses,
        questions=questions,
        users=2,
        export_polls=0,
        export_max_bytes=no_cap,
    ) as handle:
        yield (
            handle,
            {
                "api_token": handle.api_token,
                "base_url": handle.base_url,
                "export_safety_lag_seconds": 0,
                "export_poll_interval_seconds": 0,
            },
        )
