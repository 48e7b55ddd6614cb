"""The throughput scenario's comparisons on the same survey, in the same run: the tap of another checkout
(``--baseline-repo``: before/after a change) and the QualtricsAPI library (``--peers``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench.sandbox_export import prepare_export
from bench.taprun import REPO, TIME, TapResult, run_tap

PEERS_INSTALL = "pip install -e '.[peers]'"
CSV_EXPORT = "qualtricsapi-export.zip"  # the CSV export QualtricsAPI read, kept for the CSV floor


def baseline_tap(
    repo: Path, config: dict[str, Any], catalog: dict[str, Any], workdir: Path
) -> TapResult:
    """The tap of the checkout at ``repo`` (its ``tap_qualtrics`` first on the path), same config."""
    return run_tap(
        config, catalog, workdir, "baseline", extra_env={"PYTHONPATH": str(repo.resolve())}
    )


def qualtricsapi_installed() -> bool:
    return importlib.util.find_spec("QualtricsAPI") is not None


def qualtricsapi(handle: Any, survey_id: str, workdir: Path) -> dict[str, Any]:
    """QualtricsAPI's ``get_survey_responses`` (CSV export into pandas) as a process of its own: wall time,
    peak RSS and the data frame's size. Its CSV export is made once beforehand, as the tap's ndjson export
    is, so both times leave out the sandbox's export generation; a copy is left in ``workdir / CSV_EXPORT``."""
    file_url = prepare_export(handle, survey_id, {"format": "csv"})
    with requests.get(file_url, headers={"X-API-TOKEN": handle.api_token}, timeout=600) as r:
        r.raise_for_status()
        export_bytes = len(r.content)
        (workdir / CSV_EXPORT).write_bytes(r.content)
    rss_path = workdir / "qualtricsapi-maxrss.txt"
    command = [TIME, "-f", "%M %U %S", "-o", str(rss_path), sys.executable, "-m"]
    command += ["bench.qualtricsapi_client", handle.base_url, handle.api_token, survey_id]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"QualtricsAPI failed:\n{done.stderr[-2000:]}")
    frame = json.loads(done.stdout.strip().splitlines()[-1])
    peak_kb, user, system = rss_path.read_text().split()[-3:]
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(float(user) + float(system), 2),
        "peak_rss_mb": round(int(peak_kb) / 1024, 1),
        "export_mb": round(export_bytes / 1e6, 1),
        "rows": frame["rows"],
        "columns": frame["columns"],
    }
