"""The throughput and answers scenarios compare, on the same survey and in the same run, the tap with the tap
of another checkout (``--baseline-repo``); ``--peers`` needs the QualtricsAPI library and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.cli
from bench.cli import _table, answers, throughput
from bench.taprun import REPO


def test_the_baseline_checkout_syncs_the_same_survey_in_the_same_run(tmp_path: Path) -> None:
    found = throughput(300, 5, tmp_path, "tiny", baseline=REPO)
    assert found["exact_ids"]
    before = found["baseline"]
    assert before["repo"] == str(REPO)
    assert before["responses"] == found["responses"] == found["floor_responses"]
    assert before["seconds"] > 0
    # from the unrounded times: the rounded ones give it to within a few hundredths
    assert before["tap_over_this"] == pytest.approx(
        found["tap_seconds"] / before["seconds"], abs=0.05
    )
    assert "baseline tap: seconds / floor ratio" in _table(
        {"started": "", "load": "", "throughput": found}
    )


def test_the_answers_scenario_times_the_baseline_on_the_same_rows(tmp_path: Path) -> None:
    found = answers(60, 5, tmp_path, baseline=REPO)
    assert found is not None
    assert found["exact_ids"]
    assert found["answer_rows"] > found["responses"] > 0
    assert found["baseline"]["rows_per_second"] > 0


def test_peers_without_the_library_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.cli, "qualtricsapi_installed", lambda: False)
    with pytest.raises(SystemExit, match=r"--peers needs the QualtricsAPI library: pip install"):
        bench.cli.main(["--only", "throughput", "--peers"])
