"""Legacy name of :mod:`support.tap` and :mod:`support.taprun`, kept for modules not yet moved to them
(tests/bench/test_lean_path.py). New tests import from ``support`` directly."""

from __future__ import annotations

from support.tap import (
    FAST_SETTINGS,
    REPO,
    oauth_config,
    sandbox,
    selected_catalog,
    stamp_mutations_after,
    token_config,
)
from support.taprun import TapRun, run_tap_process

__all__ = [
    "FAST_SETTINGS",
    "REPO",
    "TapRun",
    "oauth_config",
    "run_tap_process",
    "sandbox",
    "selected_catalog",
    "stamp_mutations_after",
    "token_config",
]
