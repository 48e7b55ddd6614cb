"""max_run_minutes: a run stops starting exports when its time is spent, defers the rest with one line and no
failure, and the next runs start with the stalest surveys: nothing lost, nothing twice, no survey starves.

The run's clock is replaced (no waiting): each test says after how many survey starts the time is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.tap import sandbox, token_config

from tap_qualtrics.settings import SettingsError, parse_settings


def _state(run: Any) -> dict[str, Any]:
    return next(m["value"] for m in reversed(run.messages) if m["type"] == "STATE")


def _clock_spent_after(checks: int) -> Callable[[Any], None]:
    """A ``prepare`` hook: the time box reads 0 s for its first ``checks`` readings, then a day."""

    def prepare(tap: Any) -> None:
        readings: Iterator[float] = iter([0.0] * checks)
        box = tap.run.time_box
        box.started = 0.0
        box.clock = lambda: next(readings, 86_400.0)

    return prepare


def _run(
    handle: Any, state: dict[str, Any] | None, checks: int, *, lag: int = 0, **settings: Any
) -> Any:
    from support.tap import selected_catalog
    from support.taprun import run_tap_in_process

    config = token_config(handle, export_safety_lag_seconds=lag, max_run_minutes=5, **settings)
    return run_tap_in_process(
        config,
        state=state,
        catalog=selected_catalog(["responses"]),
        prepare=_clock_spent_after(checks),
    )


def _exported(run: Any) -> list[str]:
    return list(dict.fromkeys(r["survey_id"] for r in run.records("responses")))


def test_a_spent_time_box_defers_the_rest_and_the_next_run_starts_with_them() -> None:
    with sandbox(seed=7, surveys=6, responses=5) as handle:
        truth = handle.truth()["surveys"]
        with_responses = {s for s, v in truth.items() if v["responses"]}
        first = _run(handle, None, checks=2, max_concurrent_exports=1)
        second = _run(handle, _state(first), checks=100, max_concurrent_exports=1)

    assert not first.failures, first.failure_summary
    done_first = _exported(first)
    assert len(done_first) <= 2
    [line] = [m for m in first.log_messages if "max_run_minutes (5) was reached" in m]
    assert "4 surveys deferred to the next run" in line

    # the deferred surveys (no bookmark yet) go first; then the others, which have nothing new
    assert not second.failures
    assert set(_exported(second)) == with_responses - set(done_first)
    emitted = [r["response_id"] for run in (first, second) for r in run.records("responses")]
    assert sorted(emitted) == sorted(r for v in truth.values() for r in v["responses"])
    assert not [m for m in second.log_messages if "was reached" in m]


def test_exports_already_started_are_read_not_wasted() -> None:
    """With exports in flight ahead of the reader, those already started are still read; nothing is lost
    across the two runs."""
    with sandbox(seed=7, surveys=8, responses=5) as handle:
        truth = handle.truth()["surveys"]
        first = _run(handle, None, checks=1, max_concurrent_exports=3)
        # the second window ends before the first (a later second would export the first run's surveys again)
        second = _run(handle, _state(first), checks=1000, lag=60, max_concurrent_exports=3)
        started = handle.stats()["requests"]["POST /surveys/{surveyId}/export-responses"]

    assert not first.failures
    assert not second.failures
    emitted = [r["response_id"] for run in (first, second) for r in run.records("responses")]
    assert sorted(emitted) == sorted(r for v in truth.values() for r in v["responses"])
    # one export per survey over both runs: no started export was thrown away and started again
    assert started == len(truth)


def test_no_survey_starves_over_many_short_runs() -> None:
    """Each run exports two surveys' worth; every survey is exported within every three consecutive runs."""
    with sandbox(seed=7, surveys=6, responses=5) as handle:
        surveys = set(handle.truth()["surveys"])
        state = None
        exported_per_run: list[set[str]] = []
        for _ in range(6):
            handle.mutate(
                {"survey_id": min(surveys), "add": 1}
            )  # something always changes somewhere
            run = _run(handle, state, checks=2, max_concurrent_exports=1)
            assert not run.failures
            state = _state(run)
            partitions = state["bookmarks"]["responses"]["partitions"]
            exported_per_run.append(
                {p["context"]["survey_id"] for p in partitions if p.get("replication_key_value")}
                if not exported_per_run
                else _reached(run)
            )
    for start in range(len(exported_per_run) - 2):
        assert set().union(*exported_per_run[start : start + 3]) == surveys, start


def _reached(run: Any) -> set[str]:
    """The surveys this run exported (their bookmarks moved), from its STATE messages."""
    reached = set()
    for message in run.messages:
        if message["type"] != "STATE":
            continue
        for partition in message["value"]["bookmarks"].get("responses", {}).get("partitions", []):
            if partition.get("replication_key_value") == run.tap.run.export_window_end:
                reached.add(partition["context"]["survey_id"])
    return reached


@pytest.mark.parametrize("value", [0, -1, "x"])
def test_a_bad_time_box_gets_one_sentence(value: Any) -> None:
    with pytest.raises(SettingsError, match="max_run_minutes must be a whole number of at least 1"):
        parse_settings(
            {"api_token": "t", "base_url": "http://127.0.0.1:9", "max_run_minutes": value}
        )
