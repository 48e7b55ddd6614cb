"""Where the repository and the folders tests read from are."""

from __future__ import annotations

from pathlib import Path

#: The repository root (the folder holding pyproject.toml).
REPO = Path(__file__).resolve().parents[2]
#: The test suites' root.
TESTS = REPO / "tests"
