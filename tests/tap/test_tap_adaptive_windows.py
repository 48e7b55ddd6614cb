"""A survey too big for one Qualtrics export is exported as consecutive shorter windows.

Qualtrics fails an export over 1.8 GB with status ``failed``; the sandbox does the same past its
``export_max_bytes`` limit (set per survey here). The tap cuts the failed window in halves (and those in
halves again) down to one minute, exports them one after another, and must deliver exactly the truth,
sorted, with the bookmark at the run's window end. A first sync of a survey with more responses than
``max_responses_per_export`` is cut up front, without a failed export.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import requests
from support.real_keys import load
from support.tap import sandbox, selected_catalog, stamp_mutations_after, token_config
from support.taprun import TapRun

from tap_qualtrics.model.coerce import exported_response_count, response_counts
from tap_qualtrics.model.timestamps import normalize_timestamp

EXPORT_START = "POST /surveys/{surveyId}/export-responses"
SURVEY_DETAILS = "GET /surveys/{surveyId}"


RESPONSES_ONLY = selected_catalog({"responses"})


def test_the_first_sync_reads_the_export_size_from_all_three_counts() -> None:
    """The up-front cut sizes a survey's export from its ``responseCounts``: auditable + generated - deleted
    is the rows of an unfiltered export in every real recording (tests/real/fixtures/qr_response_counts,
    docs/qualtrics-api.md §25). ``auditable`` alone misses the test and preview responses, which the export
    holds too, and keeps counting deleted ones."""
    narrowing = {"limit", "startDate", "endDate", "questionIds", "exportResponsesInProgress"}
    checked = 0
    for entry in load("qr_response_counts", "counts.json"):
        export = entry["export"]
        if export is None or narrowing & set(export["request_body"]):
            continue
        counts = response_counts({"responseCounts": entry["responseCounts"]})
        assert exported_response_count(counts) == export["rows"], entry
        checked += 1
    assert checked == 9
    assert exported_response_count([None, 3, None]) == 3
    assert exported_response_count([0, 0, 2]) == 0


def _export_bytes(handle: Any, survey_id: str) -> int:
    """The size of the survey's whole ndjson export, as the sandbox's cap measures it (uncompressed)."""
    api = handle.base_url.rstrip("/") + "/API/v3"
    headers = {"X-API-TOKEN": handle.api_token}
    base = f"{api}/surveys/{survey_id}/export-responses"
    body = {"format": "ndjson", "sortByLastModifiedDate": True}
    progress_id = requests.post(base, json=body, headers=headers, timeout=10).json()["result"][
        "progressId"
    ]
    while True:
        result = requests.get(f"{base}/{progress_id}", headers=headers, timeout=10).json()["result"]
        if result["status"] == "complete":
            break
    data = requests.get(f"{base}/{result['fileId']}/file", headers=headers, timeout=10).content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(member.file_size for member in archive.infolist())


def _truth_keys(truth: dict[str, Any]) -> set[tuple[str, str]]:
    return {(sid, rid) for sid, survey in truth["surveys"].items() for rid in survey["responses"]}


def _biggest_survey(truth: dict[str, Any]) -> str:
    return max(truth["surveys"], key=lambda sid: len(truth["surveys"][sid]["responses"]))


def _emitted(run: TapRun) -> list[tuple[str, str]]:
    return [(r["survey_id"], r["response_id"]) for r in run.records("responses")]


def _assert_sorted_per_survey(run: TapRun) -> None:
    dates: dict[str, list[str]] = {}
    for record in run.records("responses"):
        dates.setdefault(record["survey_id"], []).append(record["last_modified_date"])
    for survey_id, values in dates.items():
        assert values == sorted(values), f"{survey_id} was not emitted in last-modified order"


@pytest.mark.parametrize("concurrent", [1, 4])
def test_an_export_over_the_cap_is_cut_until_every_piece_fits(
    run_tap: Callable[..., TapRun], concurrent: int
) -> None:
    with sandbox(seed=41, surveys=3, responses=30) as handle:
        truth = handle.truth()
        big = _biggest_survey(truth)
        handle.set_limits({"export_max_bytes_by_survey": {big: _export_bytes(handle, big) // 3}})
        handle.reset_stats()
        run = run_tap(
            token_config(handle, max_concurrent_exports=concurrent), catalog=RESPONSES_ONLY
        )
        starts = handle.stats()["requests"][EXPORT_START]

    assert run.returncode == 0, run.stderr[-3000:]
    emitted = _emitted(run)
    assert len(emitted) == len(set(emitted)), "a response was emitted twice"
    assert set(emitted) == _truth_keys(truth)
    _assert_sorted_per_survey(run)
    bookmarks = run.response_bookmarks()
    assert set(bookmarks) == set(truth["surveys"])
    assert len(set(bookmarks.values())) == 1  # the cut survey ends at the same run-wide window end
    # one export per other survey; the big one failed whole, then went out as at least three pieces
    assert starts >= len(truth["surveys"]) - 1 + 1 + 3
    assert "cannot be done in one piece (Qualtrics reported the export as failed)" in run.stderr
    assert "| ERROR" not in run.stderr


def test_the_bookmark_follows_each_completed_piece(run_tap: Callable[..., TapRun]) -> None:
    """A piece that fails after earlier pieces completed leaves the bookmark at the end of the last completed
    one, which is where the failing piece starts: the next run resumes there, not from the beginning."""
    with sandbox(seed=42, surveys=1, responses=40) as handle:
        truth = handle.truth()
        (survey_id,) = truth["surveys"]
        handle.set_limits(
            {"export_max_bytes_by_survey": {survey_id: 1}}
        )  # only empty pieces succeed
        run = run_tap(token_config(handle, max_concurrent_exports=1), catalog=RESPONSES_ONLY)

    assert run.returncode != 0
    assert _emitted(run) == []
    failing = re.search(
        r"failed for responses modified from (\S+) to \S+, a window too short", run.stderr
    )
    assert failing is not None, run.stderr[-3000:]
    bookmark = run.response_bookmarks()[survey_id]
    assert bookmark == normalize_timestamp(failing.group(1))  # the cut where the empty pieces ended
    assert bookmark <= normalize_timestamp(min(truth["surveys"][survey_id]["responses"].values()))
    values = [
        p["replication_key_value"]
        for state in run.states
        for p in state["bookmarks"].get("responses", {}).get("partitions", [])
        if p.get("replication_key_value")
    ]
    assert values == sorted(values)


def test_a_first_sync_with_many_responses_is_cut_up_front(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=43, surveys=2, responses=25) as handle:
        truth = handle.truth()
        counts = {sid: len(s["responses"]) for sid, s in truth["surveys"].items()}
        config = token_config(handle, max_concurrent_exports=2, max_responses_per_export=10)
        first = run_tap(config, catalog=RESPONSES_ONLY)
        first_stats = handle.stats()["requests"]
        handle.reset_stats()
        stamp_mutations_after(handle, next(iter(first.response_bookmarks().values())))
        handle.mutate({"survey_id": _biggest_survey(truth), "add": 3, "edit": 2})
        second = run_tap(config, catalog=RESPONSES_ONLY, state=first.final_state)
        second_stats = handle.stats()["requests"]
        truth_after = handle.truth()

    assert first.returncode == 0, first.stderr[-3000:]
    assert set(_emitted(first)) == _truth_keys(truth)
    _assert_sorted_per_survey(first)
    assert first_stats[SURVEY_DETAILS] == len(
        counts
    )  # one response count per survey, first sync only
    # ceil(count / 10) windows for each survey over 10 responses, at least; none failed first
    assert first_stats[EXPORT_START] >= sum(max(1, -(-c // 10)) for c in counts.values())
    assert "more than max_responses_per_export (10)" in first.stderr
    assert "Qualtrics reported the export as failed" not in first.stderr

    assert second.returncode == 0, second.stderr[-3000:]
    assert SURVEY_DETAILS not in second_stats  # incremental: nothing to check, one export each
    assert second_stats[EXPORT_START] == len(counts)
    changed = {
        (sid, rid)
        for sid, survey in truth_after["surveys"].items()
        for rid, modified in survey["responses"].items()
        if truth["surveys"][sid]["responses"].get(rid) != modified
    }
    assert changed and changed <= set(_emitted(second))
    assert set(_emitted(second)) <= _truth_keys(truth_after)


def test_a_survey_that_fails_even_in_one_minute_windows_fails_alone(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=44, surveys=3, responses=12) as handle:
        truth = handle.truth()
        big = _biggest_survey(truth)
        handle.set_limits({"export_max_bytes_by_survey": {big: 1}})  # not even one response fits
        config = token_config(handle)
        failed = run_tap(config, catalog=RESPONSES_ONLY)
        starts = handle.stats()["requests"][EXPORT_START]
        handle.set_limits({"export_max_bytes_by_survey": {}})
        retried = run_tap(config, catalog=RESPONSES_ONLY, state=failed.final_state)

    assert failed.returncode != 0
    summary = failed.error_lines()[-1]
    assert big in summary and "keep their bookmarks" in summary
    assert "a window too short to cut further" in failed.stderr
    assert "Traceback" not in failed.stderr
    others = _truth_keys(truth) - {(big, rid) for rid in truth["surveys"][big]["responses"]}
    assert set(_emitted(failed)) == others
    # bounded: halving a window of a few years down to one minute takes about 25 cuts
    assert starts < len(truth["surveys"]) + 2 * 30
    # the big survey's bookmark moved at most over empty pieces: every one of its responses comes next run
    bookmark = failed.response_bookmarks().get(big)
    earliest = min(truth["surveys"][big]["responses"].values())
    assert bookmark is None or bookmark <= earliest
    assert retried.returncode == 0, retried.stderr[-3000:]
    assert {(sid, rid) for sid, rid in _emitted(retried) if sid == big} == {
        (big, rid) for rid in truth["surveys"][big]["responses"]
    }
