"""Deleted responses are found: a survey whose deleted count changed gets one export of response IDs, its live
IDs and then a check row; an unchanged survey costs no export, a failed check is retried, and the state keeps
one number per survey."""

from __future__ import annotations

from typing import Any

from support.directory import TapRun, sandbox, sync, token_config

STREAMS = ("response_deletion_checks", "live_response_ids")
EXPORT_START = "POST /surveys/{surveyId}/export-responses"
SURVEY_DETAILS = "GET /surveys/{surveyId}"


def _state(run: TapRun) -> dict[str, Any]:
    return next(m["value"] for m in reversed(run.messages) if m["type"] == "STATE")


def _checked(run: TapRun) -> dict[str, Any]:
    return _state(run)["bookmarks"]["response_deletion_checks"]["checked_deleted_counts"]


def _config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return token_config(handle, export_safety_lag_seconds=0, **overrides)


def test_a_changed_deleted_count_checks_that_survey_only() -> None:
    with sandbox(seed=8) as handle:
        first = sync(_config(handle), streams=STREAMS)
        surveys = sorted(handle.truth()["surveys"])
        changed, other = surveys[0], surveys[1]
        deleted = handle.mutate({"survey_id": changed, "delete": 2})["deleted"]
        handle.mutate({"survey_id": other, "add": 1, "edit": 1})
        handle.reset_stats()
        second = sync(_config(handle), state=_state(first), streams=STREAMS)
        requests = dict(handle.stats()["requests"])
        truth = handle.truth()
        handle.reset_stats()
        third = sync(_config(handle), state=_state(second), streams=STREAMS)
        third_requests = dict(handle.stats()["requests"])

    assert not first.failures
    assert first.records("response_deletion_checks") == []
    assert _checked(first) == {}

    assert not second.failures
    [check] = second.records("response_deletion_checks")
    live = second.records("live_response_ids")
    assert {r["response_id"] for r in live} == set(truth["surveys"][changed]["responses"])
    assert not set(deleted) & {r["response_id"] for r in live}
    assert check == {
        "survey_id": changed,
        "checked_at": second.tap.run.started_at_text,
        "recorded_before": second.tap.run.export_window_end,
        "deleted_count": 2,
        "live_response_count": len(live),
        "filter_id": None,
    }
    assert {r["checked_at"] for r in live} == {check["checked_at"]}
    assert {r["survey_id"] for r in live} == {changed}
    assert all(r["recorded_date"] for r in live)
    # the IDs come before the check that vouches for them, and the state that covers the check after it
    kinds = [(m["type"], m.get("stream")) for m in second.messages]
    check_at = kinds.index(("RECORD", "response_deletion_checks"))
    assert max(i for i, k in enumerate(kinds) if k == ("RECORD", "live_response_ids")) < check_at
    assert ("STATE", None) in kinds[check_at:]
    assert _checked(second) == {changed: 2}
    assert requests[EXPORT_START] == 1
    assert requests[SURVEY_DETAILS] == len(surveys)

    assert third.records("response_deletion_checks") == []
    assert third.records("live_response_ids") == []
    assert EXPORT_START not in third_requests
    assert _checked(third) == {changed: 2}


def test_a_failed_check_writes_no_check_row_and_is_retried() -> None:
    with sandbox(seed=8) as handle:
        first = sync(_config(handle), streams=STREAMS)
        survey = min(handle.truth()["surveys"])
        handle.mutate({"survey_id": survey, "delete": 1})
        handle.set_faults({"export_failed": 1.0, "seed": 1})
        failed = sync(_config(handle), state=_state(first), streams=STREAMS)
        handle.set_faults({})
        retried = sync(_config(handle), state=_state(failed), streams=STREAMS)
        truth = handle.truth()

    assert failed.records("response_deletion_checks") == []
    assert "response_deletion_checks" in failed.failure_summary
    assert survey in failed.failure_summary
    assert _checked(failed) == {}
    [check] = retried.records("response_deletion_checks")
    assert check["survey_id"] == survey
    assert {r["response_id"] for r in retried.records("live_response_ids")} == set(
        truth["surveys"][survey]["responses"]
    )
    assert not retried.failures


def test_surveys_and_the_checks_share_one_details_request_per_survey() -> None:
    with sandbox(seed=8) as handle:
        first = sync(_config(handle), streams=(*STREAMS, "surveys"))
        handle.reset_stats()
        second = sync(_config(handle), state=_state(first), streams=(*STREAMS, "surveys"))
        requests = dict(handle.stats()["requests"])
        surveys = handle.truth()["surveys"]
    assert not second.failures
    assert second.records("surveys") == []  # nothing changed
    assert requests[SURVEY_DETAILS] == len(surveys)


def test_the_ids_alone_run_the_check() -> None:
    with sandbox(seed=8) as handle:
        survey = min(handle.truth()["surveys"])
        handle.mutate({"survey_id": survey, "delete": 1})
        run = sync(_config(handle), streams=("live_response_ids",))
        truth = handle.truth()
    assert run.records("response_deletion_checks") == []  # not selected: not emitted
    assert {r["response_id"] for r in run.records("live_response_ids")} == set(
        truth["surveys"][survey]["responses"]
    )
