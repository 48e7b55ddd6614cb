"""The account-scale benchmark on a small account at a high time compression: every run reports its time,
requests per survey, export starts and their share of the limit, and writes exactly the right responses."""

from __future__ import annotations

from pathlib import Path

from bench.account_scale import ADDED_PER_SURVEY, EDITED_PER_SURVEY, MUTATED_SURVEYS, account_scale
from bench.cli import _table


def test_three_runs_report_time_requests_and_utilisation_and_write_exact_ids(
    tmp_path: Path,
) -> None:
    found = account_scale(tmp_path, surveys=30, scale=20, large_responses=200)
    shape = found["account"]
    assert shape["surveys"] == 30
    assert shape["inactive"] > 0
    assert shape["large_surveys"] >= 1
    assert found["scale"] == 20
    runs = found["runs"]
    assert list(runs) == ["first_sync", "steady_state", "after_changes"]
    for run in runs.values():
        assert run["exact_ids"], run
        assert run["duplicates"] == run["missing"] == run["unknown"] == 0
        assert abs(run["unscaled_seconds"] - run["wall_seconds"] * 20) < 0.2
        assert run["requests"] > 0
        assert run["requests_per_survey"] == round(run["requests"] / 30, 2)
        assert abs(sum(run["requests_per_survey_by_endpoint"].values()) * 30 - run["requests"]) < 1
        assert run["export_starts"] == run["bucket_requests"]["export_start"]
        minutes = run["unscaled_seconds"] / 60
        assert abs(run["export_start_utilisation"] - run["export_starts"] / (minutes * 100)) < 0.01
        assert set(run["max_per_minute_of_limit"]) == {
            "brand",
            "export_start",
            "export_progress",
            "export_file",
        }
        assert run["max_per_minute"]["brand"] >= 1
        assert run["max_per_minute_of_limit"]["brand"] <= 1
        assert run["throttled_429"] == 0  # the tap's own budget keeps it inside the limits
    assert 0 < runs["first_sync"]["records"] == runs["first_sync"]["expected"] <= shape["responses"]
    assert runs["steady_state"]["expected"] == 0
    changed = (
        MUTATED_SURVEYS + 1
    ) // 2 * ADDED_PER_SURVEY + MUTATED_SURVEYS // 2 * EDITED_PER_SURVEY
    assert runs["after_changes"]["expected"] == changed
    assert runs["after_changes"]["records"] >= changed
    text = _table({"started": "now", "load": "-", "account_scale": found})
    assert "export-start utilisation" in text
    assert "after_changes" in text
