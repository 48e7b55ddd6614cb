"""A full sync delivers exactly the sandbox's truth, every record valid against its schema."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import jsonschema
import pytest
from support.tap import sandbox, token_config
from support.taprun import TapRun

from tap_qualtrics.schema_files import SCHEMAS

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
STREAMS = ("surveys", "questions", "responses", "users")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[TapRun, dict[str, Any]]:
    """One full sync of a sandbox with more than one page of users (the list pages at 100)."""
    from support.taprun import run_tap_process

    workdir = tmp_path_factory.mktemp("cwd")
    with sandbox(seed=3, surveys=6, responses=15, users=130) as handle:
        run = run_tap_process(token_config(handle), workdir)
        truth = handle.truth()
        stats = handle.stats()
    assert run.returncode == 0, run.stderr[-3000:]
    assert handle.api_token not in run.stdout and handle.api_token not in run.stderr
    assert list(workdir.iterdir()) == []
    return run, {"truth": truth, "stats": stats}


def test_every_survey_question_response_and_user_exactly_once(synced: tuple[TapRun, dict]) -> None:
    run, sandbox_view = synced
    truth = sandbox_view["truth"]

    surveys = [r["survey_id"] for r in run.records("surveys")]
    assert sorted(surveys) == sorted(truth["surveys"])

    live_questions = [
        (r["survey_id"], r["question_id"]) for r in run.records("questions") if not r["is_trashed"]
    ]
    expected_questions = [
        (sid, qid) for sid, s in truth["surveys"].items() for qid in s["questions"]
    ]
    assert sorted(live_questions) == sorted(expected_questions)

    responses = [(r["survey_id"], r["response_id"]) for r in run.records("responses")]
    expected_responses = [
        (sid, rid) for sid, s in truth["surveys"].items() for rid in s["responses"]
    ]
    assert not [key for key, n in Counter(responses).items() if n > 1], (
        "a response was emitted twice"
    )
    assert sorted(responses) == sorted(expected_responses)

    users = [r["user_id"] for r in run.records("users")]
    assert sorted(users) == sorted(truth["users"])
    assert len(users) > 100  # more than one page


def test_trashed_questions_are_flagged_not_lost(synced: tuple[TapRun, dict]) -> None:
    run, _ = synced
    trashed = [r for r in run.records("questions") if r["is_trashed"]]
    assert trashed, "the sandbox puts a trashed question in surveys 0 and 1"
    assert all(r["block_id"] for r in trashed)


@pytest.mark.parametrize("stream", STREAMS)
def test_records_are_valid_against_their_schema(synced: tuple[TapRun, dict], stream: str) -> None:
    run, _ = synced
    schema = SCHEMAS.get_schema(stream)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    records = run.records(stream)
    assert records
    for record in records:
        validator.validate(record)
        for column, value in record.items():
            if schema["properties"][column].get("format") == "date-time" and value is not None:
                assert TIMESTAMP.fullmatch(value), (stream, column, value)


@pytest.mark.parametrize("stream", STREAMS)
def test_column_names_are_snake_case_and_short(stream: str) -> None:
    for column in SCHEMAS.get_schema(stream)["properties"]:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", column), column
        assert len(column.encode()) <= 63, column


def test_answers_stay_in_json_objects(synced: tuple[TapRun, dict]) -> None:
    run, _ = synced
    response = run.records("responses")[0]
    assert isinstance(response["values"], dict) and isinstance(response["labels"], dict)
    assert isinstance(response["displayed_fields"], list)
    assert not [column for column in response if column.startswith("qid")]
    assert isinstance(response["finished"], bool)


def test_final_state_holds_one_bookmark_per_survey(synced: tuple[TapRun, dict]) -> None:
    run, sandbox_view = synced
    bookmarks = run.response_bookmarks()
    assert sorted(bookmarks) == sorted(sandbox_view["truth"]["surveys"])
    assert len(set(bookmarks.values())) == 1  # every window ended at the same run-wide edge
    assert all(TIMESTAMP.fullmatch(value) for value in bookmarks.values())
    state_text = json.dumps(run.final_state)
    assert "progress_markers" not in state_text
    assert "definition" not in state_text  # the questions' context stays small


def test_definitions_and_legacy_surveys_are_fetched_as_documented(
    synced: tuple[TapRun, dict],
) -> None:
    _, sandbox_view = synced
    requests = sandbox_view["stats"]["requests"]
    surveys = len(sandbox_view["truth"]["surveys"])
    # the response counts (read once per run and shared: the deletion check, and before each survey's first
    # export, too many responses for one export?), the surveys stream's details, and the column map of
    # response_answers (docs/answer-model.md §6: the definition and the legacy survey) for each survey that
    # has responses to decompose
    with_responses = sum(1 for s in sandbox_view["truth"]["surveys"].values() if s["responses"])
    assert requests["GET /survey-definitions/{surveyId}"] == surveys + with_responses
    assert requests["GET /surveys/{surveyId}"] == surveys + surveys + with_responses
