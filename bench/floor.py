"""The floor: what reading an export costs at the least (unzip + parse + re-serialize each response)."""

from __future__ import annotations

import io
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
