"""One inaccessible survey never stops the others, nor the streams after ``surveys``; a survey refused, newly
visible or only named in ``survey_ids`` gets its structure (``surveys``, ``questions``) as soon as Qualtrics
lets the tap read it, whatever its ``lastModified``."""

from __future__ import annotations

from typing import Any

import pytest
from support.reliability import catalog_for, config_for, run_tap
from support.tap import sandbox

STREAMS = ("surveys", "questions", "users")


def _ids(outcome: Any, stream: str) -> set[str]:
    return {r["survey_id"] for r in outcome.records(stream)}


def _at_the_bookmark(outcome: Any) -> set[str]:
    """Surveys modified exactly at the bookmark a run leaves: read again by the next run (it is inclusive)."""
    edge = max(r["last_modified"] for r in outcome.records("surveys"))
    return {r["survey_id"] for r in outcome.records("surveys") if r["last_modified"] == edge}


@pytest.mark.parametrize(
    "refusal",
    [{"details": 403}, {"details": 400}, {"definition": 404}],
    ids=["details-403", "details-400", "definition-404"],
)
def test_a_refused_survey_fails_alone_and_is_read_again_next_run(refusal: dict[str, int]) -> None:
    with sandbox(seed=551, surveys=4, responses=2, users=5) as handle:
        surveys = sorted(handle.truth()["surveys"])
        refused = surveys[1]
        handle.set_access({"survey_id": refused, **refusal})
        config, catalog = config_for(handle, oauth=False), catalog_for(STREAMS)
        first = run_tap(config, catalog=catalog)
        handle.set_access({"survey_id": refused, "reset": True})
        second = run_tap(config, catalog=catalog, state=first.states[-1])
        third = run_tap(config, catalog=catalog, state=second.states[-1])
        users = len(handle.truth()["users"])

    assert _ids(first, "surveys") == set(surveys) - {refused}
    assert _ids(first, "questions") == set(surveys) - {refused}
    assert len(first.records("users")) == users  # the streams after surveys still ran
    assert refused in first.failure_summary and "surveys" in first.failure_summary
    assert not first.ok
    # nothing changed in Qualtrics, yet the refused survey is read now (its lastModified is old)
    assert _ids(second, "surveys") - _at_the_bookmark(first) == {refused}
    assert refused in _ids(second, "questions")
    assert second.ok, second.failure_summary
    assert refused not in _ids(third, "surveys")  # and then no more


def test_a_survey_that_becomes_visible_with_an_old_last_modified_gets_its_structure() -> None:
    with sandbox(seed=552, surveys=3, responses=2, users=2) as handle:
        surveys = sorted(handle.truth()["surveys"])
        hidden = surveys[0]
        handle.set_access(
            {"survey_id": hidden, "listed": False}
        )  # not shared with the credentials yet
        config, catalog = config_for(handle, oauth=False), catalog_for(STREAMS)
        first = run_tap(config, catalog=catalog)
        handle.set_access({"survey_id": hidden, "reset": True})  # shared now
        second = run_tap(config, catalog=catalog, state=first.states[-1])
    assert _ids(first, "surveys") == set(surveys) - {hidden}
    assert _ids(second, "surveys") - _at_the_bookmark(first) == {hidden}
    assert hidden in _ids(second, "questions")
    assert first.ok and second.ok


def test_a_survey_named_in_survey_ids_but_not_listed_gets_its_structure() -> None:
    with sandbox(seed=553, surveys=3, responses=2, users=2) as handle:
        surveys = sorted(handle.truth()["surveys"])
        group_shared = surveys[2]
        handle.set_access(
            {"survey_id": group_shared, "listed": False}
        )  # GET /surveys leaves it out
        config = config_for(handle, oauth=False, survey_ids=[group_shared, surveys[0]])
        outcome = run_tap(config, catalog=catalog_for(("surveys", "questions", "responses")))
    assert _ids(outcome, "surveys") == {group_shared, surveys[0]}
    assert _ids(outcome, "questions") == {group_shared, surveys[0]}
    record = next(r for r in outcome.records("surveys") if r["survey_id"] == group_shared)
    assert record["name"] and record["last_modified"]  # from the survey's own details
    assert group_shared in _ids(outcome, "responses")
    assert outcome.ok, outcome.failure_summary
