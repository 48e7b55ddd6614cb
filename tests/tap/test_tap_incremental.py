"""A second run, from the first run's STATE, delivers what changed and nothing older than the window edge."""

from __future__ import annotations

from collections.abc import Callable

from support.tap import sandbox, stamp_mutations_after, token_config
from support.taprun import TapRun

from tap_qualtrics.model.timestamps import parse_timestamp


def test_second_run_emits_changes_only(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=21, surveys=5, responses=14) as handle:
        config = token_config(handle)
        first = run_tap(config)
        assert first.returncode == 0, first.stderr[-3000:]
        first_bookmarks = first.response_bookmarks()
        window_edge = next(iter(first_bookmarks.values()))
        surveys_bookmark = first.final_state["bookmarks"]["surveys"]["replication_key_value"]

        survey_ids = list(handle.truth()["surveys"])
        changed_survey, quiet_survey, edited_survey = survey_ids[0], survey_ids[3], survey_ids[2]
        stamp_mutations_after(handle, window_edge)
        changes = handle.mutate({"survey_id": changed_survey, "add": 3, "edit": 2, "delete": 1})
        quiet_changes = handle.mutate({"survey_id": quiet_survey, "add": 2})
        handle.mutate({"survey_id": edited_survey, "edit_survey": True})
        truth = handle.truth()

        second = run_tap(config, state=first.final_state)
        assert second.returncode == 0, second.stderr[-3000:]

    emitted = {(r["survey_id"], r["response_id"]): r for r in second.records("responses")}
    finished = {(sid, rid) for sid, s in truth["surveys"].items() for rid in s["responses"]}
    expected_new = {(changed_survey, rid) for rid in changes["added"] + changes["edited"]}
    expected_new |= {(quiet_survey, rid) for rid in quiet_changes["added"]}
    expected_new &= finished  # an edited in-progress response is not exported (not finished)
    assert expected_new <= set(emitted), "an added or edited response is missing"
    assert not {(changed_survey, rid) for rid in changes["deleted"]} & set(emitted)

    # Nothing older than the edge: the second run re-reads at most the edge itself.
    for (survey_id, _), record in emitted.items():
        assert record["last_modified_date"] >= first_bookmarks[survey_id]
    assert set(emitted) <= finished

    # The quiet survey's metadata did not change, yet its new responses came through, and its row in
    # surveys was emitted again for its response counts alone (no questions: its structure did not change).
    assert {rid for (sid, rid) in emitted if sid == quiet_survey} >= set(quiet_changes["added"])
    second_surveys = {r["survey_id"]: r for r in second.records("surveys")}
    for survey_id in (quiet_survey, changed_survey):
        row = second_surveys[survey_id]
        auditable, generated = row["response_count_auditable"], row["response_count_generated"]
        # auditable + generated - deleted = the live responses (docs/qualtrics-api.md §25)
        live = auditable + generated - row["response_count_deleted"]
        assert live == len(truth["surveys"][survey_id]["responses"])
    assert second_surveys[changed_survey]["response_count_deleted"] == 1

    # Surveys: the edited one with its questions, the two whose counts changed without them; nothing else
    # (the survey at the old bookmark, unchanged, is not read again).
    assert set(second_surveys) == {edited_survey, quiet_survey, changed_survey}
    assert all(
        r["last_modified"] >= surveys_bookmark
        for r in second.records("surveys")
        if r["survey_id"] == edited_survey
    )
    assert {r["survey_id"] for r in second.records("questions")} == {edited_survey}

    # Every window moved on to the second run's edge.
    second_bookmarks = second.response_bookmarks()
    assert set(second_bookmarks) == set(first_bookmarks)
    assert all(second_bookmarks[s] > first_bookmarks[s] for s in first_bookmarks)


def test_union_of_runs_is_the_truth(run_tap: Callable[..., TapRun]) -> None:
    """Across runs nothing is lost: the latest version of every live response was emitted."""
    with sandbox(seed=22, surveys=3, responses=10) as handle:
        config = token_config(handle)
        first = run_tap(config)
        stamp_mutations_after(handle, next(iter(first.response_bookmarks().values())))
        for survey_id in handle.truth()["surveys"]:
            handle.mutate({"survey_id": survey_id, "add": 2, "edit": 2, "delete": 1})
        second = run_tap(config, state=first.final_state)
        truth = handle.truth()
    latest: dict[tuple[str, str], str] = {}
    for run in (first, second):
        for record in run.records("responses"):
            latest[(record["survey_id"], record["response_id"])] = record["last_modified_date"]
    for survey_id, survey in truth["surveys"].items():
        for response_id, modified in survey["responses"].items():
            assert latest[(survey_id, response_id)] == parse_timestamp(modified).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ), (survey_id, response_id)


def test_a_survey_added_to_survey_ids_is_read_despite_the_bookmark(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=23, surveys=4, responses=4) as handle:
        truth = handle.truth()["surveys"]
        newest, *older = sorted(truth, key=lambda sid: truth[sid]["last_modified"], reverse=True)
        first = run_tap(token_config(handle, survey_ids=[newest]))
        second = run_tap(
            token_config(handle, survey_ids=[newest, older[-1]]), state=first.final_state
        )
    assert [r["survey_id"] for r in first.records("surveys")] == [newest]
    assert older[-1] in {r["survey_id"] for r in second.records("surveys")}
    assert older[-1] in {r["survey_id"] for r in second.records("questions")}
