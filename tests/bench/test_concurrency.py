"""Concurrent exports: same records in the same order as one-at-a-time, within the configured rate budget."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from support.tap import sandbox, token_config
from support.taprun import TAP_COMMAND, run_tap_process, tap_process_env, write_inputs

EXPORT_START = "POST /surveys/{surveyId}/export-responses"


def _responses_only(config: dict) -> dict:
    from tap_qualtrics.tap import TapQualtrics

    catalog = TapQualtrics(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == "responses"
    return catalog


def test_concurrent_exports_keep_order_ids_and_bookmarks(tmp_path: Path) -> None:
    with sandbox(seed=31, surveys=9, responses=15, export_polls=2) as handle:
        truth = {sid: set(s["responses"]) for sid, s in handle.truth()["surveys"].items()}
        listed = list(handle.truth()["surveys"])
        config = token_config(handle)
        catalog = _responses_only(config)
        runs = {}
        for concurrency in (1, 4):
            workdir = tmp_path / f"c{concurrency}"
            workdir.mkdir()
            runs[concurrency] = run_tap_process(
                {**config, "max_concurrent_exports": concurrency}, workdir, catalog=catalog
            )
        starts = handle.stats()["requests"][EXPORT_START]

    for run in runs.values():
        assert run.returncode == 0, run.stderr[-2000:]
    keys = {
        c: [(r["survey_id"], r["response_id"]) for r in run.records("responses")]
        for c, run in runs.items()
    }
    assert keys[4] == keys[1]
    assert len(keys[4]) == len(set(keys[4])) == sum(len(ids) for ids in truth.values())
    assert {sid: {rid for s, rid in keys[4] if s == sid} for sid in truth} == truth
    surveys_in_output = list(dict.fromkeys(sid for sid, _ in keys[4]))
    assert surveys_in_output == [
        sid for sid in listed if truth[sid]
    ]  # all of A before B, listing order
    for (
        run
    ) in runs.values():  # every survey completed its window: its bookmark is the run's window end
        bookmarks = run.response_bookmarks()
        assert set(bookmarks) == set(truth)
        assert len(set(bookmarks.values())) == 1 and None not in bookmarks.values()
    assert starts == 2 * len(truth)  # one export per survey per run, none repeated by the pipeline


def test_rate_budget_holds_requests_back_at_the_configured_limit(tmp_path: Path) -> None:
    """With room for 3 export starts per minute, the 4th waits: the sandbox never sees more than 3."""
    limit = 3
    with sandbox(
        seed=32,
        surveys=6,
        responses=4,
        rate_limits=True,
        rate_limit_overrides={"export_start": limit},
    ) as handle:
        config = {
            **token_config(handle),
            "max_concurrent_exports": 6,
            "rate_limits_per_minute": {"export_start": limit},
        }
        inputs = write_inputs(tmp_path, config, catalog=_responses_only(config))
        process = subprocess.Popen(
            [*TAP_COMMAND, *inputs],
            cwd=tmp_path,
            env=tap_process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            waited = _wait_for_line(
                process, "Qualtrics rate budget (brand, export_start)", timeout=60
            )
            stats = _stats_once(handle, lambda st: st["requests"].get(EXPORT_START, 0) >= limit)
        finally:
            process.kill()
            process.wait()
            process.stderr.close()

    assert waited, "the tap never waited for the export_start budget"
    assert stats["requests"][EXPORT_START] == limit
    assert stats["max_per_minute"][EXPORT_START] == limit
    assert stats["rate_limits"]["rejected"] in (0, {}) or not any(
        stats["rate_limits"]["rejected"].values()
    )


def _stats_once(handle, done, timeout: float = 20.0) -> dict:
    """The sandbox's stats once ``done(stats)`` holds (requests already sent may still be arriving)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = handle.stats()
        if done(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


def _wait_for_line(process: subprocess.Popen, text: str, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    for line in process.stderr:  # blocks on the tap's own output, never on a timer
        if text in line:
            return True
        if time.monotonic() > deadline:
            return False
    return False
