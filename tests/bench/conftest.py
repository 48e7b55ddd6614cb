"""Fixtures for the throughput/concurrency tests: the tap's test helpers and the repo root on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parents[1], HERE.parent / "tap"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
