"""The cost of finding deleted responses: the check's export against the full export, and the state size.

One survey is synced in full (``responses`` with the deletion streams), ``deleted`` of its responses are
deleted, and a second run checks it: the check's export of response IDs, the live IDs it found against the
sandbox's truth, and the size of the STATE after each run (it must not grow with the survey's size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.taprun import downloaded_bytes, one_survey, run_tap, selected_catalog

STREAMS = ("responses", "response_deletion_checks", "live_response_ids")


def deletions(
    responses: int, questions: int, deleted: int, workdir: Path, *, seed: int, no_cap: int
) -> dict[str, Any]:
    label = f"deletions-{responses}"
    with one_survey(seed, responses, questions, no_cap) as (handle, config):
        catalog = selected_catalog(config, STREAMS)
        first = run_tap(config, catalog, workdir, f"{label}-first")
        if first.returncode != 0:
            raise SystemExit(f"the tap failed ({label}, first run):\n{first.stderr_tail}")
        (survey_id,) = handle.truth()["surveys"]
        gone = handle.mutate({"survey_id": survey_id, "delete": deleted})["deleted"]
        second = run_tap(config, catalog, workdir, f"{label}-second", state=first.state)
        if second.returncode != 0:
            raise SystemExit(f"the tap failed ({label}, second run):\n{second.stderr_tail}")
        live_truth = set(handle.truth()["surveys"][survey_id]["responses"])
    live = second.record_ids("live_response_ids", "response_id")
    full_bytes = downloaded_bytes(workdir / f"{label}-first-err.log").get("response export", 0)
    check_bytes = downloaded_bytes(workdir / f"{label}-second-err.log").get("response-ID export", 0)
    return {
        "responses": responses,
        "questions": questions,
        "deleted": len(gone),
        "full_export_bytes": full_bytes,
        "check_export_bytes": check_bytes,
        "check_run_seconds": round(second.wall_seconds, 2),
        "first_run_seconds": round(first.wall_seconds, 2),
        "state_bytes_first": len(first.tally.last_state),
        "state_bytes_second": len(second.tally.last_state),
        "exact_live_ids": len(live) == len(set(live)) and set(live) == live_truth,
    }
