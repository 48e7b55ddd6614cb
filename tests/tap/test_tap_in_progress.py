"""``responses_in_progress`` and its answer rows: each run emits exactly the sandbox's current in-progress set,
with the columns and answer decomposition of ``responses``, and ends with ACTIVATE_VERSION only when every
survey's in-progress export was read (tap_qualtrics/streams/responses_in_progress.py)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from support.directory import (
    FIRST_RUN_LAG,
    TapRun,
    catalog_selecting,
    sandbox,
    stamp_changes_after,
    sync,
    token_config,
)
from support.real_keys import load
from support.taprun import run_tap_process

from tap_qualtrics.model.response_records import response_record
from tap_qualtrics.schema_files import schema_directory
from tap_qualtrics.streams.responses_in_progress import IN_PROGRESS_EXPORT, in_progress_record
from tap_qualtrics.tap import TapQualtrics

IN_PROGRESS = (
    "responses_in_progress",
    "response_in_progress_answers",
    "response_in_progress_embedded_data",
)
TWINS = {
    "responses_in_progress": "responses",
    "response_in_progress_answers": "response_answers",
    "response_in_progress_embedded_data": "response_embedded_data",
}
RESPONSES = ("responses", "response_answers", "response_embedded_data")
MISSING_SURVEY = "SV_0000000000000zz"


def _ago(minutes: int) -> str:
    """A mutation stamp in the past: changes made before a run must not share its window edge's second."""
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _start(handle: Any, count: int) -> None:
    """``count`` new in-progress responses in each survey, started ten minutes ago."""
    for sid in handle.truth()["surveys"]:
        handle.mutate({"survey_id": sid, "start": count, "stamp": _ago(10)})


def _in_progress_truth(truth: dict[str, Any]) -> set[tuple[str, str]]:
    return {(sid, rid) for sid, survey in truth["surveys"].items() for rid in survey["in_progress"]}


def _emitted(run: TapRun, stream: str = "responses_in_progress") -> set[tuple[str, str]]:
    return {(r["survey_id"], r["response_id"]) for r in run.records(stream)}


def _activations(run: TapRun) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for message in run.messages:
        if message["type"] == "ACTIVATE_VERSION":
            out.setdefault(message["stream"], []).append(message["version"])
    return out


def _versions(run: TapRun, stream: str) -> set[Any]:
    return {
        m.get("version") for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream
    }


# -- catalog and schemas ----------------------------------------------------------------------------------


def test_catalog_full_table_not_selected_by_default_same_columns_as_responses() -> None:
    catalog = TapQualtrics(config={}, validate_config=False).catalog_dict
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    for stream, twin in TWINS.items():
        entry = entries[stream]
        (root,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
        assert entry["replication_method"] == "FULL_TABLE", stream
        assert not entry.get("replication_key"), stream
        assert root["selected-by-default"] is False, stream
        assert entry["key_properties"] == entries[twin]["key_properties"], stream

        def shape(schema: dict[str, Any]) -> dict[str, Any]:
            return {
                name: {k: v for k, v in spec.items() if k != "description"}
                for name, spec in schema["properties"].items()
            }

        assert shape(entry["schema"]) == shape(entries[twin]["schema"]), stream
        assert (Path(str(schema_directory())) / f"{stream}.json").is_file()


def test_plain_run_without_catalog_leaves_in_progress_out() -> None:
    """Without a catalog the tap syncs the streams selected by default: no in-progress export is started."""
    tap = TapQualtrics(config={}, validate_config=False)
    assert not [name for name in IN_PROGRESS if tap.streams[name].selected]
    assert tap.streams["responses"].selected


def test_the_in_progress_export_asks_only_for_the_flag() -> None:
    assert dict(IN_PROGRESS_EXPORT) == {
        "format": "ndjson",
        "compress": True,
        "exportResponsesInProgress": True,
    }


# -- the record builder on real in-progress rows ---------------------------------------------------------


def _real_in_progress_rows() -> list[dict[str, Any]]:
    """The real in-progress export rows (tests/real/fixtures/qr_in_progress, a CSV export of labels) in the
    form of an NDJSON export: ISO dates, codes for ``status`` and ``finished``; the rest as recorded
    (``recordedDate`` empty, ``FS_`` IDs)."""
    full = load("qr_in_progress", "exports.json")[0]
    rows = []
    for row in full["rows"]:
        values = dict(row)
        for key in ("startDate", "endDate"):
            values[key] = row[key].replace(" ", "T") + "Z"
        assert (row["status"], row["finished"]) == ("IP Address", "False")
        values["status"], values["finished"] = 0, 0
        rows.append({"responseId": row["_recordId"], "values": values})
    return rows


def test_real_in_progress_rows_build_records_without_a_recorded_date() -> None:
    rows = _real_in_progress_rows()
    assert rows
    for exported in rows:
        untyped: list[str] = []
        record = in_progress_record("SV_real", exported, untyped)
        assert record is not None
        assert record["response_id"].startswith("FS_")
        assert record["recorded_date"] is None
        # the last activity: endDate (the export has no LastModifiedDate)
        assert record["last_modified_date"] == record["end_date"] is not None
        assert record["progress"] == int(exported["values"]["progress"])
        assert record["finished"] is False
        assert untyped == []
        # everything else as responses builds it
        assert {**record, "last_modified_date": None} == {
            **(response_record("SV_real", exported) or {}),
            "last_modified_date": None,
        }


def test_in_progress_last_modified_rule() -> None:
    values = {"endDate": "2024-01-02T03:04:05Z", "recordedDate": "2024-02-01T00:00:00Z"}
    record = in_progress_record("SV_x", {"responseId": "FS_x", "values": values})
    assert record is not None
    assert record["last_modified_date"] == "2024-01-02T03:04:05.000000Z"  # never the recorded date
    values["LastModifiedDate"] = "2024-01-03T00:00:00Z"
    record = in_progress_record("SV_x", {"responseId": "FS_x", "values": values})
    assert record is not None
    assert record["last_modified_date"] == "2024-01-03T00:00:00.000000Z"
    record = in_progress_record("SV_x", {"responseId": "FS_x", "values": {"recordedDate": ""}})
    assert record is not None
    assert record["last_modified_date"] is None
    assert in_progress_record("SV_x", {"values": {}}) is None


# -- runs against the sandbox -----------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_run_emits_exactly_the_in_progress_set_and_activates_once(concurrency: int) -> None:
    with sandbox(seed=31, surveys=4, responses=10) as handle:
        _start(handle, 2)
        truth = handle.truth()
        run = sync(token_config(handle, max_concurrent_exports=concurrency), streams=IN_PROGRESS)
        requests = dict(handle.stats()["requests"])
    assert run.ok, run.failure_summary
    want = _in_progress_truth(truth)
    assert len(want) >= 8
    assert _emitted(run) == want
    assert len(run.records("responses_in_progress")) == len(want)  # each once
    for record in run.records("responses_in_progress"):
        assert record["finished"] is False
        assert record["progress"] < 100
    # answer rows belong to the in-progress responses, and every response has some
    for child in ("response_in_progress_answers", "response_in_progress_embedded_data"):
        assert _emitted(run, child) == want, child
    # one in-progress export per selected survey, nothing else exported
    assert requests["POST /surveys/{surveyId}/export-responses"] == len(truth["surveys"])
    version = run.tap.initialized_at
    assert _activations(run) == {stream: [version] for stream in IN_PROGRESS}
    for stream in IN_PROGRESS:
        assert _versions(run, stream) == {version}, stream
    assert not run.records("responses")


def test_answer_rows_are_those_responses_gives_for_the_same_response() -> None:
    """Closed in-progress sessions keep their answers and move to the normal export under a new ``R_`` ID (as
    in Qualtrics, docs/qualtrics-api.md §24; the sandbox's mutation says which session became which
    response): their in-progress record and rows (run 1) equal their ``responses`` record and rows (run 2),
    IDs and dates aside."""
    with sandbox(seed=32, surveys=3, responses=10) as handle:
        _start(handle, 3)
        first = sync(token_config(handle), streams=IN_PROGRESS)
        became: dict[tuple[str, str], tuple[str, str]] = {}
        for sid, survey in handle.truth()["surveys"].items():
            result = handle.mutate(
                {"survey_id": sid, "close_ids": list(survey["in_progress"]), "stamp": _ago(5)}
            )
            became |= {(sid, fs): (sid, rid) for fs, rid in result["closed_from"].items()}
        second = sync(token_config(handle), streams=(*RESPONSES, *IN_PROGRESS))
    assert first.ok and second.ok, first.failure_summary + second.failure_summary
    assert became and set(became) == _emitted(first)
    assert all(
        fs.startswith("FS_") and rid.startswith("R_") for (_, fs), (_, rid) in became.items()
    )
    dates = {"recorded_date", "last_modified_date"}
    ids = {"response_id", "answer_id"}  # answer_id is derived from the response ID

    def without(record: dict[str, Any]) -> str:
        out = {k: v for k, v in record.items() if k not in dates | ids}
        if isinstance(out.get("values"), dict):
            out["values"] = {
                k: v
                for k, v in out["values"].items()
                if k not in ("recordedDate", "LastModifiedDate", "_recordId")
            }
        return json.dumps(out, sort_keys=True)

    def rows(run: TapRun, stream: str, key: Any) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for r in run.records(stream):
            if key(_key(r)) is not None:
                out.setdefault(key(_key(r)), []).append(without(r))
        return {k: sorted(v) for k, v in out.items()}

    for stream, twin in TWINS.items():
        before = rows(first, stream, became.get)
        after = rows(second, twin, lambda k: k if k in became.values() else None)
        assert before, stream
        assert before == after, stream
    # the closed responses left the in-progress set: run 2 emits none and activates the empty set
    assert not second.records("responses_in_progress")
    assert set(_activations(second)) == set(IN_PROGRESS)


def _key(record: dict[str, Any]) -> tuple[str, str]:
    return (record["survey_id"], record["response_id"])


def _row_key(stream: str, record: dict[str, Any]) -> tuple[Any, ...]:
    if "answers" in stream:
        return (record["answer_id"],)
    if "embedded" in stream:
        return (record["survey_id"], record["response_id"], record["field"])
    return _key(record)


def test_across_runs_the_set_follows_finished_closed_deleted_and_started_responses() -> None:
    with sandbox(seed=33, surveys=3, responses=12) as handle:
        _start(handle, 4)
        streams = (*RESPONSES, *IN_PROGRESS)
        first = sync(token_config(handle, **FIRST_RUN_LAG), streams=streams)
        truth_first = handle.truth()
        stamp_changes_after(handle, first.tap.run.export_window_end)
        moved: set[tuple[str, str]] = set()
        deleted: set[tuple[str, str]] = set()
        started: set[tuple[str, str]] = set()
        sessions: set[tuple[str, str]] = set()
        for sid, survey in truth_first["surveys"].items():
            victim, finish, close = sorted(survey["in_progress"])[:3]
            result = handle.mutate(
                {
                    "survey_id": sid,
                    "finish_ids": [finish],
                    "close_ids": [close],
                    "delete_ids": [victim],
                    "start": 2,
                }
            )
            moved |= {(sid, rid) for rid in result["finished"] + result["closed"]}
            sessions |= {(sid, fs) for fs in (finish, close)}
            assert {**result["finished_from"], **result["closed_from"]}.keys() == {finish, close}
            deleted.add((sid, victim))
            started |= {(sid, rid) for rid in result["started"]}
        second = sync(token_config(handle), state=first.final_state, streams=streams)
        truth_second = handle.truth()
    assert first.ok and second.ok, first.failure_summary + second.failure_summary
    assert _emitted(first) == _in_progress_truth(truth_first)
    assert _emitted(second) == _in_progress_truth(truth_second)
    assert started <= _emitted(second)
    assert not (sessions | deleted) & _emitted(second)
    assert sessions <= _emitted(first)
    # the finished and closed ones come with responses, under new R_ IDs (as in Qualtrics, §24): no session
    # ID ever reaches responses
    assert moved <= _emitted(second, "responses")
    assert not moved & (_emitted(first) | _emitted(second))
    assert not sessions & _emitted(second, "responses")
    assert set(_activations(second)) == set(IN_PROGRESS)


def test_a_failed_survey_keeps_the_others_and_activates_nothing() -> None:
    with sandbox(seed=34, surveys=3, responses=10) as handle:
        surveys = list(handle.truth()["surveys"])
        _start(handle, 2)
        truth = handle.truth()
        config = token_config(handle, survey_ids=[surveys[0], MISSING_SURVEY, *surveys[1:]])
        run = sync(config, streams=IN_PROGRESS)
    assert run.error is None
    assert _emitted(run) == _in_progress_truth(truth)  # the other surveys were read
    assert _activations(run) == {}
    assert [f.stream for f in run.failures.streams] == ["responses_in_progress"]
    assert MISSING_SURVEY in run.failure_summary
    assert not run.failures.surveys  # no bookmark is involved
    [warning] = [m for m in run.log_messages if "are not marked as deleted" in m]
    for stream in IN_PROGRESS:
        assert stream in warning


def test_a_failed_survey_ends_the_process_non_zero_with_one_sentence(tmp_path: Path) -> None:
    with sandbox(seed=35, surveys=2, responses=6) as handle:
        surveys = list(handle.truth()["surveys"])
        config = token_config(handle, survey_ids=[*surveys, MISSING_SURVEY])
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        run = run_tap_process(
            config, workdir, catalog=catalog_selecting(config, ("responses_in_progress",))
        )
    assert run.returncode == 1, run.stderr[-3000:]
    summary = [line for line in run.error_lines() if "not synced fully this run" in line]
    assert len(summary) == 1, run.error_lines()
    assert "responses_in_progress" in summary[0]
    assert MISSING_SURVEY in summary[0]
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


def test_children_alone_run_the_export_and_are_activated() -> None:
    """Selecting only the answer rows still exports the in-progress set; only the selected streams are
    written and activated."""
    with sandbox(seed=36, surveys=2, responses=8) as handle:
        _start(handle, 2)
        truth = handle.truth()
        run = sync(token_config(handle), streams=("response_in_progress_answers",))
    assert run.ok, run.failure_summary
    assert _emitted(run, "response_in_progress_answers") == _in_progress_truth(truth)
    assert not run.records("responses_in_progress")
    assert set(_activations(run)) == {"response_in_progress_answers"}
