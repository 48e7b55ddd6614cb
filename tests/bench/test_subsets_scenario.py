"""The subsets benchmark on a small wide survey: the subset exports every response with fewer bytes and rows."""

from __future__ import annotations

from pathlib import Path

from bench.subsets import subsets


def test_a_subset_exports_every_response_in_fewer_bytes_and_rows(tmp_path: Path) -> None:
    found = subsets(40, 30, 5, tmp_path, seed=5, no_cap=1 << 40)
    whole, part = found["whole"], found["subset"]
    assert found["subset_questions"] == 5
    assert part["responses"] == whole["responses"] > 0
    assert 0 < part["export_bytes"] < whole["export_bytes"] / 2
    assert 0 < part["answer_rows"] < whole["answer_rows"] / 2
