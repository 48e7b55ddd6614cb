"""Fixtures for the reliability suites (helpers live in reliability_testing.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "tap"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
