"""Fixtures for the tap's tests (helpers live in support.tap and support.taprun)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.taprun import TapRun, run_tap_process


@pytest.fixture
def run_tap(tmp_path: Path) -> Callable[..., TapRun]:
    """Run the tap as a subprocess with its CWD in an empty directory, and check it stays empty."""
    counter = iter(range(1000))

    def run(config: dict[str, Any], **kwargs: Any) -> TapRun:
        workdir = tmp_path / f"cwd{next(counter)}"
        workdir.mkdir()
        result = run_tap_process(config, workdir, **kwargs)
        assert list(workdir.iterdir()) == [], "the tap wrote into its working directory"
        return result

    return run
