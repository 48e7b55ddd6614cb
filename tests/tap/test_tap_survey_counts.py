"""Response counts in ``surveys`` stay current, at one request per survey per run; unchanged surveys are not
emitted again, nor their questions."""

from __future__ import annotations

from collections.abc import Callable

from support.tap import sandbox, selected_catalog, stamp_mutations_after, token_config
from support.taprun import TapRun

STRUCTURE = ["surveys", "questions", "question_choices"]


def test_a_run_with_nothing_changed_emits_no_survey_and_reads_no_definition(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=71, surveys=4, responses=6) as handle:
        config, catalog = token_config(handle), selected_catalog(STRUCTURE)
        first = run_tap(config, catalog=catalog)
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(first.records("surveys")) == 4
        handle.reset_stats()
        second = run_tap(config, catalog=catalog, state=first.final_state)
        requests = handle.stats()["requests"]
    assert second.returncode == 0, second.stderr[-3000:]
    # Before, the survey at the bookmark (the latest modified) came again every run, with its questions.
    assert second.records("surveys") == []
    assert second.records("questions") == []
    assert second.records("question_choices") == []
    assert requests == {"GET /surveys": 1, "GET /surveys/{surveyId}": 4}


def test_changed_counts_emit_the_survey_again_without_its_structure(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=72, surveys=3, responses=6) as handle:
        config, catalog = token_config(handle), selected_catalog([*STRUCTURE, "responses"])
        first = run_tap(config, catalog=catalog)
        assert first.returncode == 0, first.stderr[-3000:]
        surveys = list(handle.truth()["surveys"])
        target = surveys[1]
        before = {r["survey_id"]: r for r in first.records("surveys")}[target]
        stamp_mutations_after(handle, next(iter(first.response_bookmarks().values())))
        handle.mutate({"survey_id": target, "add": 2, "delete": 1})
        handle.reset_stats()
        second = run_tap(config, catalog=catalog, state=first.final_state)
        requests = {
            path: count
            for path, count in handle.stats()["requests"].items()
            if "export-responses" not in path
        }
        third = run_tap(config, catalog=catalog, state=second.final_state)
        truth = handle.truth()
    assert second.returncode == 0, second.stderr[-3000:]
    (record,) = second.records("surveys")
    counts = truth["surveys"][target]["response_counts"]
    assert record == {
        **before,
        "response_count_auditable": counts["auditable"],
        "response_count_generated": counts["generated"],
        "response_count_deleted": 1,
    }
    # a deletion raises deleted only: the counts still add up to the live responses (§25)
    assert counts["auditable"] + counts["generated"] - 1 == len(
        truth["surveys"][target]["responses"]
    )
    assert second.records("questions") == []
    assert second.records("question_choices") == []
    assert requests == {
        "GET /surveys": 2,  # surveys and responses list them once each
        "GET /surveys/{surveyId}": 3,
        "GET /survey-definitions/{surveyId}": 1,
    }
    assert third.records("surveys") == []  # the new counts are remembered


def test_a_survey_edited_in_the_bookmarks_second_after_the_last_run_began_is_read_again(
    run_tap: Callable[..., TapRun],
) -> None:
    """The bookmark's own second is skipped only when it had ended before the last run started."""
    with sandbox(seed=73, surveys=2, responses=2) as handle:
        config, catalog = token_config(handle), selected_catalog(["surveys"])
        first = run_tap(config, catalog=catalog)
        bookmark = first.final_state["bookmarks"]["surveys"]["replication_key_value"]
        state = {
            "bookmarks": {
                "surveys": {
                    **first.final_state["bookmarks"]["surveys"],
                    "details_read_at": bookmark,  # as if that run began inside the bookmark's second
                }
            }
        }
        second = run_tap(config, catalog=catalog, state=state)
    edge = [r["survey_id"] for r in first.records("surveys") if r["last_modified"] == bookmark]
    assert edge
    assert sorted(r["survey_id"] for r in second.records("surveys")) == sorted(edge)
