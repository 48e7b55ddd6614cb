"""The throughput and answers scenarios compare, on the same survey and in the same run, the tap with the tap
of another checkout (``--baseline-repo``); ``--peers`` needs the QualtricsAPI library and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from support.tap import sandbox

import bench.cli
from bench.cli import _table, answers, throughput
from bench.floor import measure_csv_floor, measure_floor
from bench.sandbox_export import download_export, prepare_export
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


def test_the_csv_floor_reads_every_response_of_the_csv_export(tmp_path: Path) -> None:
    with sandbox(seed=41, surveys=1, responses=30, questions=6) as handle:
        (survey_id,) = handle.truth()["surveys"]
        responses = handle.truth()["surveys"][survey_id]["responses"]
        file_url = prepare_export(handle, survey_id, {"format": "csv"})
        csv_zip = tmp_path / "export.csv.zip"
        csv_zip.write_bytes(
            requests.get(file_url, headers={"X-API-TOKEN": handle.api_token}, timeout=60).content
        )
        download_export(handle, survey_id, tmp_path / "export.zip")
    seconds, cpu_seconds, count = measure_csv_floor(csv_zip)
    assert count == len(responses) == measure_floor(tmp_path / "export.zip")[2]
    assert seconds > 0 and cpu_seconds > 0


def test_the_table_shows_the_csv_floor_against_qualtricsapi() -> None:
    big = {
        "responses": 10,
        "tap_per_second": 5,
        "floor_per_second": 6,
        "ratio": 1.1,
        "cpu_ratio": 1.0,
        "export_mb": 1.0,
        "tap_seconds": 2.0,
        "floor_seconds": 1.8,
        "peak_rss_mb": 70.0,
        "exact_ids": True,
        "qualtricsapi": {"seconds": 0.5, "ratio": 0.28, "tap_over_this": 4.0, "peak_rss_mb": 900.0},
        "csv_floor": {
            "seconds": 0.7,
            "ratio": 0.39,
            "tap_over_this": 2.86,
            "over_qualtricsapi": 1.4,
        },
    }
    table = _table({"started": "", "load": "", "throughput": big})
    assert "values-only CSV floor: seconds / floor ratio" in table
    assert "  values-only CSV floor time / QualtricsAPI time" in table
    assert table.count("peak RSS (MB)") == 1  # QualtricsAPI's: the floor is measured in process
