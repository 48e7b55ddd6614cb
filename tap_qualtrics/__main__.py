"""``python -m tap_qualtrics``: the same entry point as the ``tap-qualtrics`` command."""

from __future__ import annotations

from tap_qualtrics.tap import TapQualtrics

TapQualtrics.cli()
