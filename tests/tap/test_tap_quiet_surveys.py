"""Quiet surveys skip their export for a bounded time: after N empty exports with unchanged response counts a
survey costs no export start; a new response (the counts change) or the time bound brings it back, and a
response edited while it was skipped arrives with its next export (never lost)."""

from __future__ import annotations

import datetime
from typing import Any

from support.tap import sandbox, selected_catalog, token_config
from support.taprun import run_tap_in_process

from tap_qualtrics.model.timestamps import format_timestamp, parse_timestamp

EXPORT_START = "POST /surveys/{surveyId}/export-responses"


def _hour_ago() -> datetime.datetime:
    """The sandbox's data is an hour old: nothing in it falls inside the first run's lag."""
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)


def _state(run: Any) -> dict[str, Any]:
    return next(m["value"] for m in reversed(run.messages) if m["type"] == "STATE")


def _partition(state: dict[str, Any], survey_id: str) -> dict[str, Any]:
    partitions = state["bookmarks"]["responses"]["partitions"]
    return next(p for p in partitions if p["context"] == {"survey_id": survey_id})


class Runs:
    """Consecutive runs of ``responses`` on two surveys, counting each run's export starts.

    Runs follow each other within a second, and a run's window ends at whole seconds; so each run keeps a
    safety lag two seconds shorter than the one before (its window ends later), and changes are stamped just
    after the last window's end (as if made during that run): no waiting for the wall clock."""

    def __init__(self, handle: Any, **settings: Any) -> None:
        self.handle = handle
        self.settings = settings
        self.state: dict[str, Any] | None = None
        self.lag = 30
        self.window_end: str | None = None
        self.busy, self.quiet = sorted(handle.truth()["surveys"])[:2]

    def mutate(self, spec: dict[str, Any]) -> dict[str, Any]:
        if self.window_end is None:  # before the first run: inside its window (it keeps a 30 s lag)
            edge = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=60)
        else:
            edge = parse_timestamp(self.window_end) + datetime.timedelta(milliseconds=5)
        self.handle.pin_mutation_clock(edge)
        return self.handle.mutate(spec)  # type: ignore[no-any-return]

    def run(self) -> tuple[Any, int]:
        self.handle.reset_stats()
        config = token_config(
            self.handle,
            export_safety_lag_seconds=self.lag,
            survey_ids=[self.busy, self.quiet],
            **self.settings,
        )
        self.lag -= 2
        done = run_tap_in_process(config, state=self.state, catalog=selected_catalog(["responses"]))
        assert not done.failures, done.failure_summary
        self.state = _state(done)
        self.window_end = done.tap.run.export_window_end
        return done, self.handle.stats()["requests"].get(EXPORT_START, 0)

    def exported(self, done: Any, survey_id: str) -> set[str]:
        return {r["response_id"] for r in done.records("responses") if r["survey_id"] == survey_id}


def test_a_quiet_survey_skips_until_its_counts_change() -> None:
    with sandbox(seed=7, surveys=3, responses=6, now=_hour_ago()) as handle:
        runs = Runs(handle, quiet_after_empty_exports=3, quiet_survey_max_skip_hours=24)
        starts = []
        for _ in range(5):
            runs.mutate({"survey_id": runs.busy, "add": 1})
            _, started = runs.run()
            starts.append(started)
        # runs 2-4 exported the quiet survey and found nothing; from run 5 on it is skipped
        assert starts == [2, 2, 2, 2, 1]
        assert _partition(runs.state, runs.quiet)["empty_exports"] == 3
        added = runs.mutate({"survey_id": runs.quiet, "add": 1})["added"]
        done, started = runs.run()
        assert started == 2
        assert runs.exported(done, runs.quiet) == set(added)
        assert "empty_exports" not in _partition(runs.state, runs.quiet)
    [line] = [m for m in done.log_messages if m.startswith("Responses: 2 survey(s) selected")]
    assert "0 skipped as quiet" in line


def test_an_edit_while_skipped_arrives_once_the_bound_has_passed() -> None:
    with sandbox(seed=7, surveys=3, responses=6, now=_hour_ago()) as handle:
        runs = Runs(handle, quiet_after_empty_exports=2, quiet_survey_max_skip_hours=1)
        for _ in range(3):
            runs.run()
        edited = runs.mutate({"survey_id": runs.quiet, "edit": 1})["edited"]  # counts unchanged
        done, started = runs.run()
        assert started == 0  # both surveys are quiet now: the edit waits
        assert runs.exported(done, runs.quiet) == set()
        skipped = [m for m in done.log_messages if "skipped as quiet" in m]
        assert runs.quiet in skipped[0]
        # as if the hour had passed: the last export is older than the bound
        partition = _partition(runs.state, runs.quiet)
        partition["exported_at"] = format_timestamp(
            parse_timestamp(partition["exported_at"]) - datetime.timedelta(hours=2)
        )
        done, started = runs.run()
    assert started == 1
    assert runs.exported(done, runs.quiet) == set(edited)


def test_zero_turns_skipping_off() -> None:
    with sandbox(seed=7, surveys=3, responses=6, now=_hour_ago()) as handle:
        runs = Runs(handle, quiet_after_empty_exports=0)
        starts = [runs.run()[1] for _ in range(5)]
    assert starts == [2] * 5
    assert "empty_exports" not in _partition(runs.state, runs.quiet)
