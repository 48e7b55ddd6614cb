"""In-progress responses in the warehouse: `meltano run tap-qualtrics target-postgres` with target-postgres as
shipped (soft delete), three runs while responses start, advance, finish, are closed and are deleted.

After every run the current rows (`_sdc_deleted_at IS NULL`) of `responses_in_progress` are exactly the
sandbox's in-progress set; a session (`FS_...`) that finished or was closed is recorded under a new `R_...` ID,
as in Qualtrics (docs/qualtrics-api.md §24): that ID is current in `responses`, the session's row in
`responses_in_progress` and its in-progress answer and embedded-data rows are marked
(tap_qualtrics/streams/responses_in_progress.py, tap_qualtrics/table_versions.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support.e2e import REPO, MeltanoProject, local_postgres

from qualtrics_sandbox.server import running_sandbox

PIPELINE = ("tap-qualtrics", "target-postgres")
STREAMS = (
    "responses",
    "response_answers",
    "response_embedded_data",
    "responses_in_progress",
    "response_in_progress_answers",
    "response_in_progress_embedded_data",
)
RUNS = ("first", "second", "third")
Key = tuple[str, str]


@dataclass
class Lifecycle:
    schema: str
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)  # run -> truth after it
    #: run -> table -> (survey_id, response_id) -> is the row current, per row of the table
    rows: dict[str, dict[str, list[tuple[Key, bool]]]] = field(default_factory=dict)
    finished: set[Key] = field(default_factory=set)  # the new R_ IDs
    closed: set[Key] = field(default_factory=set)
    #: the FS_ session IDs the finished and closed responses had while in progress
    recorded_sessions: set[Key] = field(default_factory=set)
    deleted: set[Key] = field(default_factory=set)
    started: set[Key] = field(default_factory=set)


def _rows(connection: psycopg.Connection, schema: str, table: str) -> list[tuple[Key, bool]]:
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            f'SELECT survey_id, response_id, _sdc_deleted_at FROM "{schema}"."{table}"'
        ).fetchall()
    return [((r["survey_id"], r["response_id"]), r["_sdc_deleted_at"] is None) for r in rows]


def _record(result: dict[str, Any], sid: str, into: set[Key], key: str) -> None:
    into.update((sid, rid) for rid in result.get(key, []))


def _sessions(result: dict[str, Any], sid: str, into: set[Key]) -> None:
    for key in ("finished_from", "closed_from"):
        into.update((sid, session) for session in result.get(key, {}))


@pytest.fixture(scope="module")
def lifecycle(
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    fresh_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Lifecycle]:
    out = Lifecycle(fresh_schema)
    with running_sandbox(seed=23, surveys=2, responses=8, users=2, export_polls=1) as sandbox:
        project = MeltanoProject.for_sandbox(
            sandbox,
            tmp_path_factory.mktemp("meltano-in-progress"),
            TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=fresh_schema,
            TAP_QUALTRICS__SELECT=json.dumps([f"{stream}.*" for stream in STREAMS]),
        )
        surveys = list(sandbox.truth()["surveys"])
        for sid in surveys:
            _record(sandbox.mutate({"survey_id": sid, "start": 4}), sid, out.started, "started")

        def run(name: str) -> None:
            project.run(*PIPELINE)
            out.truth[name] = sandbox.truth()
            out.rows[name] = {table: _rows(postgres, fresh_schema, table) for table in STREAMS}

        run("first")
        # finish one, close one, delete one in each survey; start two more
        for sid in surveys:
            first, second, third = sorted(out.truth["first"]["surveys"][sid]["in_progress"])[:3]
            result = sandbox.mutate(
                {
                    "survey_id": sid,
                    "finish_ids": [first],
                    "close_ids": [second],
                    "delete_ids": [third],
                    "start": 2,
                }
            )
            _record(result, sid, out.finished, "finished")
            _record(result, sid, out.closed, "closed")
            _record(result, sid, out.started, "started")
            _sessions(result, sid, out.recorded_sessions)
            out.deleted.add((sid, third))
        run("second")
        # the first survey's in-progress responses all finish; the second's advance, and one starts
        first_survey, other = surveys
        remaining = sorted(out.truth["second"]["surveys"][first_survey]["in_progress"])
        result = sandbox.mutate({"survey_id": first_survey, "finish_ids": remaining})
        _record(result, first_survey, out.finished, "finished")
        _sessions(result, first_survey, out.recorded_sessions)
        sandbox.mutate({"survey_id": other, "advance": 2})
        _record(sandbox.mutate({"survey_id": other, "start": 1}), other, out.started, "started")
        run("third")
    try:
        yield out
    finally:
        postgres.execute(f'DROP SCHEMA IF EXISTS "{fresh_schema}" CASCADE')


def _in_progress(truth: dict[str, Any]) -> set[Key]:
    return {(sid, rid) for sid, survey in truth["surveys"].items() for rid in survey["in_progress"]}


def _current(rows: list[tuple[Key, bool]]) -> set[Key]:
    return {key for key, current in rows if current}


def _marked(rows: list[tuple[Key, bool]]) -> set[Key]:
    return {key for key, current in rows if not current}


def test_the_mutations_did_what_the_test_expects(lifecycle: Lifecycle) -> None:
    assert len(lifecycle.finished) >= 3
    assert len(lifecycle.closed) == 2
    assert len(lifecycle.deleted) == 2
    assert len(lifecycle.started) == 2 * 4 + 2 * 2 + 1
    for run in RUNS:
        assert _in_progress(lifecycle.truth[run]), run
    assert len(lifecycle.recorded_sessions) == len(lifecycle.finished) + len(lifecycle.closed)
    assert all(rid.startswith("FS_") for _, rid in lifecycle.recorded_sessions | lifecycle.started)
    assert all(rid.startswith("R_") for _, rid in lifecycle.finished | lifecycle.closed)
    assert not _in_progress(lifecycle.truth["third"]) & lifecycle.recorded_sessions


@pytest.mark.parametrize("run", RUNS)
def test_current_in_progress_rows_equal_the_truth_after_every_run(
    lifecycle: Lifecycle, run: str
) -> None:
    rows = lifecycle.rows[run]
    truth = _in_progress(lifecycle.truth[run])
    assert _current(rows["responses_in_progress"]) == truth
    # one row per response: a response's rows are upserted on their key, never duplicated
    keys = [key for key, _ in rows["responses_in_progress"]]
    assert len(keys) == len(set(keys))
    for child in ("response_in_progress_answers", "response_in_progress_embedded_data"):
        assert _current(rows[child]) <= truth, child
        assert rows[child], child
    # every in-progress response has embedded data rows (the sandbox gives each some)
    assert _current(rows["response_in_progress_embedded_data"]) == truth


@pytest.mark.parametrize("run", ["second", "third"])
def test_what_left_the_in_progress_set_is_marked_with_its_answer_rows(
    lifecycle: Lifecycle, run: str
) -> None:
    rows = lifecycle.rows[run]
    truth = _in_progress(lifecycle.truth[run])
    gone = {key for key, _ in rows["responses_in_progress"]} - truth
    assert gone
    assert _marked(rows["responses_in_progress"]) == gone
    for child in ("response_in_progress_answers", "response_in_progress_embedded_data"):
        assert {key for key, _ in rows[child]} - truth <= _marked(rows[child]), child
        assert _marked(rows[child]) <= gone, child
    assert lifecycle.deleted <= _marked(rows["responses_in_progress"])


def test_finished_and_closed_responses_are_current_in_responses(lifecycle: Lifecycle) -> None:
    responses = lifecycle.rows["third"]["responses"]
    moved = lifecycle.finished | lifecycle.closed
    assert moved <= _current(responses)
    assert _current(responses) == {
        (sid, rid)
        for sid, survey in lifecycle.truth["third"]["surveys"].items()
        for rid in survey["responses"]
    }
    # their answers came with them
    assert moved <= _current(lifecycle.rows["third"]["response_answers"])
    # and no deleted in-progress response ever reached responses, nor a session ID
    assert not lifecycle.deleted & {key for key, _ in responses}
    assert not lifecycle.recorded_sessions & {key for key, _ in responses}
    # the sessions' own rows are marked where they were loaded
    in_progress = lifecycle.rows["third"]["responses_in_progress"]
    loaded = {key for key, _ in in_progress}
    assert lifecycle.recorded_sessions & loaded
    assert lifecycle.recorded_sessions & loaded <= _marked(in_progress)


def test_the_documented_sql_gives_the_current_set(
    lifecycle: Lifecycle, postgres: psycopg.Connection
) -> None:
    """docs/querying.md, "Responses in progress": its queries run on the loaded tables (schema qualtrics
    there); the first is the sandbox's in-progress set, the second counts it per survey."""
    section = (REPO / "docs" / "querying.md").read_text().partition("## Responses in progress")[2]
    section = section.split("\n## ", 1)[0]
    (block,) = re.findall(r"^```sql\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    statements = [
        statement.strip()
        for statement in re.split(r";\s*$", block, flags=re.MULTILINE)
        if re.sub(r"--[^\n]*", "", statement).strip()
    ]
    results = []
    for statement in statements:
        sql = statement.replace("qualtrics.", f'"{lifecycle.schema}".')
        with postgres.cursor(row_factory=dict_row) as cursor:
            results.append(cursor.execute(sql).fetchall())
    current, per_survey = results
    truth = _in_progress(lifecycle.truth["third"])
    assert {(row["survey_id"], row["response_id"]) for row in current} == truth
    assert {row["survey_id"]: row["in_progress"] for row in per_survey} == {
        sid: sum(1 for key in truth if key[0] == sid) for sid in {key[0] for key in truth}
    }
