"""The deletions benchmark on a small survey: its check finds exactly the live responses, its export is a
fraction of the full one, and the STATE does not depend on the survey's size."""

from __future__ import annotations

from pathlib import Path

from bench.deletions import deletions


def test_the_check_is_exact_light_and_keeps_the_state_small(tmp_path: Path) -> None:
    small, large = (
        deletions(size, 5, 3, tmp_path / str(size), seed=5, no_cap=1 << 40) for size in (60, 600)
    )
    for found in (small, large):
        assert found["exact_live_ids"]
        assert found["deleted"] == 3
        assert 0 < found["check_export_bytes"] < found["full_export_bytes"] / 4
    # one survey's state is a few hundred bytes whatever its size (a counter may differ by a digit or a key)
    for key in ("state_bytes_first", "state_bytes_second"):
        assert max(small[key], large[key]) < 1024, key
        assert abs(small[key] - large[key]) < 64, key
