"""Run ``tap-qualtrics`` as a subprocess on a sandbox: wall time, peak RSS, and the records it wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
TIME = shutil.which("time") or "/usr/bin/time"  # GNU time (apt-get install time)


@dataclass
class TapResult:
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    stdout_path: Path
    stderr_tail: str

    def record_ids(self, stream: str, key: str) -> list[Any]:
        """The ``key`` of every RECORD of ``stream``, in output order."""
        prefix = b'{"type":"RECORD","stream":' + json.dumps(stream).encode() + b","
        ids = []
        with self.stdout_path.open("rb") as lines:
            for line in lines:
                if line.startswith(prefix) or (
                    b'"RECORD"' in line[:40] and stream.encode() in line[:80]
                ):
                    message = orjson.loads(line)
                    if message.get("type") == "RECORD" and message.get("stream") == stream:
                        ids.append(message["record"][key])
        return ids

    def count_lines(self, stream: str) -> int:
        marker = b'"stream":' + json.dumps(stream).encode() + b","
        with self.stdout_path.open("rb") as lines:
            return sum(
                1 for line in lines if marker in line[:80] and line.startswith(b'{"type":"RECORD"')
            )


def selected_catalog(config: dict[str, Any], streams: Iterable[str]) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected (and available streams reported)."""
    from tap_qualtrics.tap import TapQualtrics

    wanted = set(streams)
    catalog = TapQualtrics(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def available_streams(config: dict[str, Any]) -> set[str]:
    from tap_qualtrics.tap import TapQualtrics

    return {
        e["tap_stream_id"]
        for e in TapQualtrics(config=config, validate_config=False).catalog_dict["streams"]
    }


def run_tap(
    config: dict[str, Any], catalog: dict[str, Any], workdir: Path, label: str
) -> TapResult:
    """Run the tap once; stdout goes to a file in ``workdir`` (so it can be checked afterwards)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{label}-config.json"
    catalog_path = workdir / f"{label}-catalog.json"
    config_path.write_text(json.dumps(config))
    catalog_path.write_text(json.dumps(catalog))
    stdout_path = workdir / f"{label}-out.jsonl"
    stderr_path = workdir / f"{label}-err.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    rss_path = workdir / f"{label}-maxrss.txt"
    # GNU time reports the tap's own peak (a forked child's getrusage would count the parent's pages too).
    command = [TIME, "-f", "%M %U %S", "-o", str(rss_path), sys.executable, "-m", "tap_qualtrics"]
    command += ["--config", str(config_path), "--catalog", str(catalog_path)]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        started = time.perf_counter()
        returncode = subprocess.run(
            command, stdout=out, stderr=err, cwd=workdir, env=env, check=False
        ).returncode
        wall = time.perf_counter() - started
    stderr_tail = stderr_path.read_text(errors="replace")[-2000:]
    peak_kb, user, system = rss_path.read_text().split()[-3:]
    return TapResult(
        returncode, wall, int(peak_kb) / 1024, float(user) + float(system), stdout_path, stderr_tail
    )
