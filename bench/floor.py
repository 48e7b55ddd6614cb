"""The floor: what reading an export costs at the least (unzip + parse + re-serialize each response)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from pathlib import Path

import orjson

READ_BUFFER_BYTES = 1 << 20


def measure_floor(export_zip: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds to unzip, parse and re-serialize every response of ``export_zip`` to /dev/null,
    and the number of responses."""
    count = 0
    started = time.perf_counter()
    cpu_started = time.thread_time()
    with Path(os.devnull).open("wb") as sink, zipfile.ZipFile(export_zip) as archive:
        for member in archive.infolist():
            with archive.open(member) as raw, io.BufferedReader(raw, READ_BUFFER_BYTES) as lines:
                for line in lines:
                    stripped = line.strip()
                    if not stripped or stripped == b"{}":
                        continue
                    sink.write(orjson.dumps(orjson.loads(stripped)) + b"\n")
                    count += 1
    return time.perf_counter() - started, time.thread_time() - cpu_started, count


def measure_csv_floor(export_zip: Path) -> tuple[float, float, int]:
    """The least a Singer tap could do with a values-only CSV export (what QualtricsAPI reads): unzip, split
    into cells, and write one ``values`` object per response, keyed by import ID, as a JSON line to /dev/null.
    Every value stays text: no types, labels or metadata columns. Wall and CPU seconds, responses."""
    count = 0
    started = time.perf_counter()
    cpu_started = time.thread_time()
    with Path(os.devnull).open("wb") as sink, zipfile.ZipFile(export_zip) as archive:
        for member in archive.infolist():
            with archive.open(member) as raw:
                text = io.TextIOWrapper(
                    io.BufferedReader(raw, READ_BUFFER_BYTES), encoding="utf-8-sig", newline=""
                )
                cells = csv.reader(text)
                next(cells)  # export tags
                next(cells)  # question texts
                keys = [json.loads(cell)["ImportId"] for cell in next(cells)]
                for row in cells:
                    sink.write(orjson.dumps({"values": dict(zip(keys, row, strict=True))}) + b"\n")
                    count += 1
    return time.perf_counter() - started, time.thread_time() - cpu_started, count
