"""The six answer-model streams, from the tap run as a subprocess against the sandbox over real HTTP: exact
rows against the sandbox's data, one export pass, message order, requests, selection and incremental runs."""

from __future__ import annotations

import copy
import datetime
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.answers_oracle import Oracle, embedded_rows
from support.tap import sandbox, token_config
from support.taprun import TapRun, run_tap_process

from tap_qualtrics.model.answers import build_column_map
from tap_qualtrics.model.structure import (
    block_records,
    choice_records,
    question_units,
    sub_question_records,
)
from tap_qualtrics.model.timestamps import parse_timestamp

STRUCTURE_STREAMS = ("question_choices", "sub_questions", "blocks", "export_columns")
ANSWER_STREAMS = ("response_answers", "response_embedded_data")
KEYS = {
    "question_choices": ("survey_id", "question_id", "choice_id"),
    "sub_questions": ("survey_id", "question_id", "sub_question_id"),
    "blocks": ("survey_id", "block_id"),
    "export_columns": ("survey_id", "column"),
    "response_answers": ("answer_id",),
    "response_embedded_data": ("survey_id", "response_id", "field"),
}


@pytest.fixture(scope="module")
def sb() -> Any:
    with sandbox(seed=3, surveys=4, responses=12, users=3) as handle:
        yield handle


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("answers-runs")
    counter = iter(range(100))

    def new() -> Path:
        path = base / f"cwd{next(counter)}"
        path.mkdir()
        return path

    return new


@pytest.fixture(scope="module")
def discovered() -> dict:
    from tap_qualtrics.tap import TapQualtrics

    return TapQualtrics(config={}, validate_config=False).catalog_dict


def select(catalog: dict, streams: set[str], deselect: dict[str, set[str]] | None = None) -> dict:
    """A catalog with only ``streams`` selected (and some of their properties deselected)."""
    catalog = copy.deepcopy(catalog)
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = name in streams
            elif deselect and item["breadcrumb"][-1] in deselect.get(name, ()):
                item["metadata"]["selected"] = False
    return catalog


def stamp_mutations_after(sb: Any, window_edge: str) -> None:
    """Stamp the coming changes just after the previous run's window edge (whole seconds), and make sure
    the next run's window ends after it (as tests/tap/test_tap_incremental.py does)."""
    edge = parse_timestamp(window_edge)
    sb.pin_mutation_clock(edge + datetime.timedelta(milliseconds=5))
    remaining = edge.timestamp() + 1.0 - time.time()
    if remaining > 0:  # practically never: a run takes longer than that
        time.sleep(remaining)


def requests_made(sb: Any, before: dict) -> Counter:
    now = Counter(sb.stats()["requests"])
    now.subtract(before)
    return +now


@pytest.fixture(scope="module")
def full_run(sb: Any, workdirs: Any, discovered: dict) -> tuple[TapRun, Counter]:
    catalog = select(
        discovered, {"surveys", "questions", "responses", *STRUCTURE_STREAMS, *ANSWER_STREAMS}
    )
    before = Counter(sb.stats()["requests"])
    run = run_tap_process(token_config(sb), workdirs(), catalog=catalog)
    assert run.returncode == 0, run.stderr
    return run, requests_made(sb, before)


def _by_key(stream: str, rows: list[dict]) -> dict[tuple, dict]:
    keyed = {tuple(row[k] for k in KEYS[stream]): row for row in rows}
    assert len(keyed) == len(rows), f"{stream}: primary key repeats"
    return keyed


def expected_answers(sb: Any, responses: list[dict]) -> tuple[list[dict], list[dict]]:
    """Oracle rows of the emitted responses, rendered from the sandbox's account as the export rendered them."""
    answers: list[dict] = []
    embedded: list[dict] = []
    for record in responses:
        survey = sb.account.surveys[record["survey_id"]]
        rendered = survey.render(survey.responses[record["response_id"]])
        answers += Oracle(survey, rendered, record["last_modified_date"]).all_rows()
        embedded += embedded_rows(survey, rendered, record["last_modified_date"])
    return answers, embedded


def test_answer_rows_are_exactly_the_sandbox_answers(
    sb: Any, full_run: tuple[TapRun, Counter]
) -> None:
    run, _ = full_run
    responses = run.records("responses")
    truth = sb.truth()["surveys"]
    assert {(r["survey_id"], r["response_id"]) for r in responses} == {
        (sid, rid) for sid, survey in truth.items() for rid in survey["responses"]
    }
    answers, embedded = expected_answers(sb, responses)
    assert _by_key("response_answers", run.records("response_answers")) == _by_key(
        "response_answers", answers
    )
    got_embedded = _by_key("response_embedded_data", run.records("response_embedded_data"))
    assert got_embedded == _by_key("response_embedded_data", embedded)
    assert len(answers) > 1000 and len(embedded) > 50


def test_structure_rows_are_exactly_the_sandbox_structure(
    sb: Any, full_run: tuple[TapRun, Counter]
) -> None:
    run, _ = full_run
    expected: dict[str, list[dict]] = {name: [] for name in STRUCTURE_STREAMS}
    for survey in sb.account.surveys.values():
        legacy, definition = survey.legacy(), survey.definition()
        units = question_units(definition, legacy)
        expected["question_choices"] += choice_records(survey.id, units)
        expected["sub_questions"] += sub_question_records(survey.id, units)
        expected["blocks"] += block_records(survey.id, definition)
        expected["export_columns"] += build_column_map(survey.id, legacy, definition).records()
    for name in STRUCTURE_STREAMS:
        assert _by_key(name, run.records(name)) == _by_key(name, expected[name]), name
    # the sandbox's own truth: every live question has its block, every survey its columns
    blocks = run.records("blocks")
    for survey_id, survey in sb.truth()["surveys"].items():
        placed = [
            q
            for b in blocks
            if b["survey_id"] == survey_id and not b["is_trashed"]
            for q in b["question_ids"]
        ]
        assert sorted(placed) == sorted(survey["questions"])


def test_every_exported_key_is_an_export_column(full_run: tuple[TapRun, Counter]) -> None:
    run, _ = full_run
    columns = {(c["survey_id"], c["column"]) for c in run.records("export_columns")}
    for response in run.records("responses"):
        keys = set(response["values"]) | set(response["displayed_fields"] or ())
        assert {(response["survey_id"], key) for key in keys} <= columns
    answer_columns = {(a["survey_id"], a["column"]) for a in run.records("response_answers")}
    assert answer_columns <= columns


def test_one_export_pass_and_no_extra_requests(sb: Any, full_run: tuple[TapRun, Counter]) -> None:
    """One export per survey; the structure streams reuse what ``surveys`` fetched; the answers cost one
    definition and one legacy survey per survey that has responses to decompose (plus, on a survey's first
    sync, the response count that decides whether its export must be cut into shorter windows)."""
    _, requests = full_run
    surveys = sb.truth()["surveys"]
    with_responses = sum(1 for s in surveys.values() if s["responses"])
    assert requests["POST /surveys/{surveyId}/export-responses"] == len(surveys)
    assert requests["GET /survey-definitions/{surveyId}"] == len(surveys) + with_responses
    assert requests["GET /surveys/{surveyId}"] == len(surveys) + len(surveys) + with_responses


def test_message_order(full_run: tuple[TapRun, Counter]) -> None:
    """One SCHEMA per answer stream before its rows; a response's rows come right before the response, so no
    STATE can cover a response whose rows were not written yet."""
    run, _ = full_run
    schemas = Counter(m["stream"] for m in run.messages if m["type"] == "SCHEMA")
    assert schemas["response_answers"] == schemas["response_embedded_data"] == 1
    pending: set[tuple[str, str]] = set()
    seen_schema: set[str] = set()
    done: set[tuple[str, str]] = set()
    for message in run.messages:
        if message["type"] == "SCHEMA":
            seen_schema.add(message["stream"])
        if message["type"] == "STATE":
            assert not pending, "a STATE came between a response's rows and the response"
        if message["type"] != "RECORD":
            continue
        stream, record = message["stream"], message["record"]
        assert stream in seen_schema
        if stream in ANSWER_STREAMS:
            key = (record["survey_id"], record["response_id"])
            assert key not in done
            assert pending <= {key}, "rows of two responses interleave"
            pending.add(key)
        elif stream == "responses":
            key = (record["survey_id"], record["response_id"])
            pending.discard(key)
            done.add(key)
    assert not pending


def test_incremental_run_re_emits_only_edited_responses(
    sb: Any, workdirs: Any, discovered: dict, full_run: tuple[TapRun, Counter]
) -> None:
    first, _ = full_run
    edge = next(iter(first.response_bookmarks().values()))
    stamp_mutations_after(sb, edge)
    survey_id = next(sid for sid, s in sb.truth()["surveys"].items() if len(s["responses"]) > 3)
    edited = set(sb.mutate({"survey_id": survey_id, "edit": 2})["edited"])
    edited &= set(
        sb.truth()["surveys"][survey_id]["responses"]
    )  # an edited in-progress response is not exported
    catalog = select(discovered, {"surveys", "responses", *STRUCTURE_STREAMS, *ANSWER_STREAMS})
    run = run_tap_process(token_config(sb), workdirs(), catalog=catalog, state=first.final_state)
    assert run.returncode == 0, run.stderr
    responses = run.records("responses")
    assert edited and edited <= {r["response_id"] for r in responses}
    assert all(r["last_modified_date"] >= edge for r in responses)  # at most the edge is read again
    answers, embedded = expected_answers(sb, responses)
    assert _by_key("response_answers", run.records("response_answers")) == _by_key(
        "response_answers", answers
    )
    got_embedded = _by_key("response_embedded_data", run.records("response_embedded_data"))
    assert got_embedded == _by_key("response_embedded_data", embedded)
    # the structure follows its survey: only surveys the surveys stream re-emitted (no survey changed, so at
    # most the one at the surveys bookmark) have their structure re-emitted
    surveys = {r["survey_id"] for r in run.records("surveys")}
    assert len(surveys) < len(sb.truth()["surveys"])
    for name in STRUCTURE_STREAMS:
        assert {r["survey_id"] for r in run.records(name)} == surveys


def test_answers_alone_still_export(
    sb: Any, workdirs: Any, discovered: dict, full_run: tuple[TapRun, Counter]
) -> None:
    """Selecting only response_answers runs the export (responses itself is not emitted)."""
    first, _ = full_run
    run = run_tap_process(
        token_config(sb), workdirs(), catalog=select(discovered, {"response_answers"})
    )
    assert run.returncode == 0, run.stderr
    assert run.records("responses") == [] and run.records("response_embedded_data") == []
    rows = _by_key("response_answers", run.records("response_answers"))
    # the earlier run's rows of responses not edited since are the same rows
    unchanged = {
        k: r
        for k, r in _by_key("response_answers", first.records("response_answers")).items()
        if k in rows and r["last_modified_date"] == rows[k]["last_modified_date"]
    }
    assert unchanged and all(rows[k] == r for k, r in unchanged.items())


def test_embedded_data_alone_needs_no_survey_definitions(
    sb: Any, workdirs: Any, discovered: dict
) -> None:
    before = Counter(sb.stats()["requests"])
    run = run_tap_process(
        token_config(sb), workdirs(), catalog=select(discovered, {"response_embedded_data"})
    )
    assert run.returncode == 0, run.stderr
    requests = requests_made(sb, before)
    # only the first sync's response counts (is an export too big for one piece?), no definitions
    assert requests["GET /surveys/{surveyId}"] == len(sb.truth()["surveys"])
    assert requests["GET /survey-definitions/{surveyId}"] == 0
    responses = [
        {"survey_id": survey_id, "response_id": rid, "last_modified_date": None}
        for survey_id, survey in sb.truth()["surveys"].items()
        for rid in survey["responses"]
    ]
    rows = run.records("response_embedded_data")
    _, embedded = expected_answers(sb, responses)
    strip = [{**r, "last_modified_date": None} for r in rows]
    assert _by_key("response_embedded_data", strip) == _by_key("response_embedded_data", embedded)


def test_deselected_properties_take_the_sdk_path(sb: Any, workdirs: Any, discovered: dict) -> None:
    catalog = select(
        discovered, {"response_answers"}, deselect={"response_answers": {"text", "label"}}
    )
    run = run_tap_process(token_config(sb), workdirs(), catalog=catalog)
    assert run.returncode == 0, run.stderr
    rows = run.records("response_answers")
    assert rows and all("text" not in r and "label" not in r and "value" in r for r in rows)
    # the same rows as the direct path writes (structs there, dictionaries here), but for those two
    direct = run_tap_process(
        token_config(sb), workdirs(), catalog=select(discovered, {"response_answers"})
    )
    assert direct.returncode == 0, direct.stderr
    expected = [
        {k: v for k, v in r.items() if k not in ("text", "label")}
        for r in direct.records("response_answers")
    ]
    assert any(r["label"] is not None for r in direct.records("response_answers"))
    assert rows == expected
