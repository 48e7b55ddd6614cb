"""`meltano run tap-qualtrics target-postgres` into a real PostgreSQL, exactly as users run it.

The server is the machine's on 127.0.0.1:5432 when one answers, else an embedded one (tests/e2e/conftest.py).

One sandbox, one fresh schema, three runs: a full first run; a second run after the sandbox changed
(responses added, edited and deleted, a survey renamed); a third run with nothing changed. Each test below
checks one promise against the snapshots those runs left behind.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support.e2e import (
    REPO,
    MeltanoProject,
    expected_postgres_type,
    local_postgres,
    plain,
    records_by_stream,
    truth_timestamp,
    without_sdc,
)

from qualtrics_sandbox.server import running_sandbox

PIPELINE = ("tap-qualtrics", "target-postgres")


@dataclass
class Table:
    columns: dict[str, str]  # name -> udt_name
    primary_key: list[str]
    rows: dict[tuple, dict[str, Any]]  # primary key values -> row (plain values)
    row_count: int


@dataclass
class Snapshot:
    tables: dict[str, Table]

    @classmethod
    def take(cls, connection: psycopg.Connection, schema: str) -> Snapshot:
        with connection.cursor(row_factory=dict_row) as cursor:
            names = [
                row["table_name"]
                for row in cursor.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                )
            ]
            tables = {}
            for name in names:
                columns = {
                    row["column_name"]: row["udt_name"]
                    for row in cursor.execute(
                        "SELECT column_name, udt_name FROM information_schema.columns "
                        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                        (schema, name),
                    )
                }
                primary_key = [
                    row["column_name"]
                    for row in cursor.execute(
                        "SELECT kcu.column_name FROM information_schema.table_constraints tc "
                        "JOIN information_schema.key_column_usage kcu "
                        "  ON kcu.constraint_schema = tc.constraint_schema "
                        " AND kcu.constraint_name = tc.constraint_name "
                        "WHERE tc.table_schema = %s AND tc.table_name = %s "
                        "  AND tc.constraint_type = 'PRIMARY KEY' ORDER BY kcu.ordinal_position",
                        (schema, name),
                    )
                ]
                rows = [plain(row) for row in cursor.execute(f'SELECT * FROM "{schema}"."{name}"')]
                keyed = {tuple(row[column] for column in primary_key): row for row in rows}
                tables[name] = Table(columns, primary_key, keyed, len(rows))
        return cls(tables)

    def rows(self, table: str) -> dict[tuple, dict[str, Any]]:
        return self.tables[table].rows


@dataclass
class Pipeline:
    streams: dict[str, dict[str, Any]]
    emitted: dict[str, list[dict[str, Any]]]
    emitted_after_change: dict[str, list[dict[str, Any]]]
    truth_before: dict[str, Any]
    truth_after: dict[str, Any]
    change: dict[str, Any]
    changed_survey: str
    first: Snapshot
    second: Snapshot
    third: Snapshot


@pytest.fixture(scope="module")
def pipeline(
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    fresh_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Pipeline:
    workdir: Path = tmp_path_factory.mktemp("meltano-postgres")
    with running_sandbox(seed=11, surveys=4, responses=15, users=25, export_polls=1) as sandbox:
        project = MeltanoProject.for_sandbox(
            sandbox,
            workdir,
            TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=fresh_schema,
        )
        streams = project.selected_streams()
        project.run(*PIPELINE)
        first = Snapshot.take(postgres, fresh_schema)
        truth_before = sandbox.truth()
        emitted = records_by_stream(project.meltano("invoke", "tap-qualtrics").stdout)

        changed_survey = max(
            truth_before["surveys"], key=lambda sid: len(truth_before["surveys"][sid]["responses"])
        )
        change = sandbox.mutate(
            {"survey_id": changed_survey, "add": 3, "edit": 2, "delete": 1, "edit_survey": True}
        )
        project.run(*PIPELINE)
        second = Snapshot.take(postgres, fresh_schema)
        truth_after = sandbox.truth()
        emitted_after_change = records_by_stream(project.meltano("invoke", "tap-qualtrics").stdout)

        project.run(*PIPELINE)
        third = Snapshot.take(postgres, fresh_schema)
    return Pipeline(
        streams,
        emitted,
        emitted_after_change,
        truth_before,
        truth_after,
        change,
        changed_survey,
        first,
        second,
        third,
    )


def _responses(truth: dict[str, Any]) -> dict[tuple, str]:
    return {
        (sid, rid): truth_timestamp(modified)
        for sid, survey in truth["surveys"].items()
        for rid, modified in survey["responses"].items()
    }


def _loaded_responses(snapshot: Snapshot) -> dict[tuple, str]:
    return {key: row["last_modified_date"] for key, row in snapshot.rows("responses").items()}


# --- first run: shape ---------------------------------------------------------------------------------------


def test_one_table_per_selected_stream(pipeline: Pipeline) -> None:
    assert {"surveys", "questions", "responses", "users"} <= set(pipeline.streams)
    assert sorted(pipeline.first.tables) == sorted(pipeline.streams)


def test_column_types_follow_the_stream_schemas(pipeline: Pipeline) -> None:
    for name, stream in pipeline.streams.items():
        columns = pipeline.first.tables[name].columns
        expected = {
            prop: expected_postgres_type(spec)
            for prop, spec in stream["schema"]["properties"].items()
        }
        assert without_sdc(columns) == expected, name
        assert columns["_sdc_extracted_at"] == "timestamp", (
            name
        )  # the target's metadata columns are there


def test_timestamps_are_timestamps_and_answers_are_jsonb(pipeline: Pipeline) -> None:
    responses = pipeline.first.tables["responses"].columns
    for column in ("recorded_date", "start_date", "end_date", "last_modified_date"):
        assert responses[column] == "timestamp", column
    for column in ("values", "labels", "displayed_values"):
        assert responses[column] == "jsonb", column
    assert pipeline.first.tables["surveys"].columns["last_modified"] == "timestamp"
    assert pipeline.first.tables["questions"].columns["choices"] == "jsonb"


def test_primary_keys_are_the_stream_keys(pipeline: Pipeline) -> None:
    for name, stream in pipeline.streams.items():
        assert pipeline.first.tables[name].primary_key == stream["key_properties"], name
    assert pipeline.first.tables["responses"].primary_key == ["survey_id", "response_id"]
    assert pipeline.first.tables["questions"].primary_key == ["survey_id", "question_id"]


# --- first run: content -------------------------------------------------------------------------------------


def test_first_run_rows_equal_the_sandbox_truth(pipeline: Pipeline) -> None:
    truth, first = pipeline.truth_before, pipeline.first
    assert {
        key[0]: (row["name"], row["last_modified"]) for key, row in first.rows("surveys").items()
    } == {
        sid: (survey["name"], truth_timestamp(survey["last_modified"]))
        for sid, survey in truth["surveys"].items()
    }
    live_questions = {key for key, row in first.rows("questions").items() if not row["is_trashed"]}
    assert live_questions == {
        (sid, qid) for sid, survey in truth["surveys"].items() for qid in survey["questions"]
    }
    assert _loaded_responses(first) == _responses(truth)
    assert {key[0] for key in first.rows("users")} == set(truth["users"])
    for name, table in first.tables.items():
        assert table.row_count == len(table.rows), f"{name}: duplicate primary keys"


def test_the_database_holds_exactly_what_the_tap_emitted(pipeline: Pipeline) -> None:
    assert all(
        pipeline.emitted.get(name) for name in ("surveys", "questions", "responses", "users")
    )
    for name, stream in pipeline.streams.items():
        keys = stream["key_properties"]
        emitted = {
            tuple(record[k] for k in keys): record for record in pipeline.emitted.get(name, [])
        }
        loaded = {key: without_sdc(row) for key, row in pipeline.first.rows(name).items()}
        assert loaded.keys() == emitted.keys(), name
        for key, record in emitted.items():
            expected = {column: record.get(column) for column in stream["schema"]["properties"]}
            assert loaded[key] == expected, (name, key)


# --- second run: the sandbox changed ------------------------------------------------------------------------


def test_second_run_adds_new_responses_and_updates_edited_ones_in_place(pipeline: Pipeline) -> None:
    before, after = _loaded_responses(pipeline.first), _loaded_responses(pipeline.second)
    sid, change = pipeline.changed_survey, pipeline.change
    added = {(sid, rid) for rid in change["added"]}
    edited = {(sid, rid) for rid in change["edited"]}
    assert len(added) == 3 and len(edited) == 2
    assert after.keys() == before.keys() | added
    truth = _responses(pipeline.truth_after)
    for key in added | edited:
        assert after[key] == truth[key], key
    for key in edited:
        assert after[key] > before[key], key  # same row, newer last-modified time
    first_values = pipeline.first.rows("responses")
    second_values = pipeline.second.rows("responses")
    assert all(second_values[key]["values"] != first_values[key]["values"] for key in edited)
    untouched = before.keys() - edited
    assert all(second_values[key] == first_values[key] for key in untouched), (
        "an unchanged response was reloaded"
    )
    assert pipeline.second.tables["responses"].row_count == len(before) + 3  # no duplicates


def test_current_answers_of_edited_responses_match_a_fresh_extraction(pipeline: Pipeline) -> None:
    # docs/answer-model.md 4.2: an edit upserts the answer rows it still has; the rows it removed stay behind
    # with the old last_modified_date, so the current answers are those matching their response's.
    responses = pipeline.second.rows("responses")
    deleted = {(pipeline.changed_survey, rid) for rid in pipeline.change["deleted"]}
    current = {
        key: without_sdc(row)
        for key, row in pipeline.second.rows("response_answers").items()
        if (row["survey_id"], row["response_id"]) not in deleted
        and row["last_modified_date"]
        == responses[(row["survey_id"], row["response_id"])]["last_modified_date"]
    }
    fresh = {(row["answer_id"],): row for row in pipeline.emitted_after_change["response_answers"]}
    assert current.keys() == fresh.keys()
    columns = pipeline.streams["response_answers"]["schema"]["properties"]
    assert all(current[key] == {c: fresh[key].get(c) for c in columns} for key in fresh)
    edited = set(pipeline.change["edited"])
    edited_before = {
        key: without_sdc(row)
        for key, row in pipeline.first.rows("response_answers").items()
        if row["response_id"] in edited
    }
    edited_now = {key: row for key, row in current.items() if row["response_id"] in edited}
    assert edited_now and edited_now != edited_before, (
        "the edited responses' answers were not reloaded"
    )


def test_deleted_responses_stay_in_the_warehouse(pipeline: Pipeline) -> None:
    # The export API cannot show deletions: the row stays (docs/querying.md's views tell it apart, below).
    (deleted,) = pipeline.change["deleted"]
    assert (pipeline.changed_survey, deleted) in pipeline.second.rows("responses")
    expected = _responses(pipeline.truth_after).keys() | {(pipeline.changed_survey, deleted)}
    assert _loaded_responses(pipeline.second).keys() == expected


def test_an_edited_survey_is_updated_in_place(pipeline: Pipeline) -> None:
    sid = pipeline.changed_survey
    row = pipeline.second.rows("surveys")[(sid,)]
    assert (
        row["name"]
        == pipeline.truth_after["surveys"][sid]["name"]
        != pipeline.truth_before["surveys"][sid]["name"]
    )
    assert pipeline.second.tables["surveys"].row_count == len(pipeline.truth_after["surveys"])
    assert Counter(key[0] for key in pipeline.second.rows("questions")) == Counter(
        key[0] for key in pipeline.first.rows("questions")
    )


# --- third run: nothing changed -----------------------------------------------------------------------------


def test_a_run_with_no_changes_changes_nothing(pipeline: Pipeline) -> None:
    second, third = pipeline.second, pipeline.third
    assert sorted(third.tables) == sorted(second.tables)
    for name, table in third.tables.items():
        assert table.row_count == second.tables[name].row_count, name
        assert {k: without_sdc(r) for k, r in table.rows.items()} == {
            k: without_sdc(r) for k, r in second.rows(name).items()
        }, name
    # Not one response was exported again: even the load metadata of every response row is untouched.
    assert third.rows("responses") == second.rows("responses")


# --- the documented SQL -------------------------------------------------------------------------------------


DELETIONS_HEADING = "## Deleted responses"


def _documented_statements(*, deletions: bool = False) -> list[list[str]]:
    """The statements of each ```sql block in docs/querying.md: the queries before its deleted-responses
    section, or (``deletions``) the views and the erasure of that section."""
    queries, _, deleted = (REPO / "docs" / "querying.md").read_text().partition(DELETIONS_HEADING)
    deleted = deleted.split("\n## ", 1)[0]  # the section ends at the next heading
    text = deleted if deletions else queries
    blocks = re.findall(r"^```sql\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert blocks, "docs/querying.md has no sql block there"
    return [
        [
            statement.strip()
            for statement in re.split(r";\s*$", block, flags=re.MULTILINE)
            if re.sub(r"--[^\n]*", "", statement).strip()
        ]
        for block in blocks
    ]


def _in_schema(statement: str, schema: str) -> str:
    return statement.replace("qualtrics.", f'"{schema}".')


def test_the_documented_sql_runs(
    pipeline: Pipeline, postgres: psycopg.Connection, fresh_schema: str
) -> None:
    """Each query of docs/querying.md runs on the loaded tables (schema qualtrics there, this module's schema
    here; 'SV_...' stands for a survey of the sandbox); the first, responses per survey, counts them right."""
    statements = [statement for block in _documented_statements() for statement in block]
    results = []
    for statement in statements:
        sql = statement.replace("qualtrics.", f'"{fresh_schema}".').replace(
            "'SV_...'", f"'{pipeline.changed_survey}'"
        )
        with postgres.cursor() as cursor:
            results.append(cursor.execute(sql).fetchall())
    per_survey = {row[0]: row[2] for row in results[0]}
    loaded = Counter(survey_id for survey_id, _ in pipeline.third.rows("responses"))
    assert per_survey == {
        survey_id: loaded[survey_id] for (survey_id,) in pipeline.third.rows("surveys")
    }


def test_the_documented_views_tell_deleted_responses_apart(
    pipeline: Pipeline, postgres: psycopg.Connection, fresh_schema: str
) -> None:
    """docs/querying.md's views: live_responses is exactly the sandbox's live set, deleted_responses exactly
    the deleted response, the live answer views hold none of its rows; the erasure leaves the live set."""
    views, erasure = _documented_statements(deletions=True)
    for statement in views:
        postgres.execute(_in_schema(statement, fresh_schema))
    schema = f'"{fresh_schema}"'
    live_expected = set(_responses(pipeline.truth_after))
    (deleted,) = pipeline.change["deleted"]
    gone = {(pipeline.changed_survey, deleted)}

    def keys(sql: str) -> set[tuple[str, ...]]:
        return {tuple(row) for row in postgres.execute(sql.replace("S.", f"{schema}.")).fetchall()}

    assert keys("SELECT survey_id, response_id FROM S.live_responses") == live_expected
    assert keys("SELECT survey_id, response_id FROM S.deleted_responses") == gone
    for view, table in (
        ("live_response_answers", "response_answers"),
        ("live_response_embedded_data", "response_embedded_data"),
    ):
        in_view = keys(f"SELECT DISTINCT survey_id, response_id FROM S.{view}")
        in_table = keys(f"SELECT DISTINCT survey_id, response_id FROM S.{table}")
        assert gone <= in_table, table  # the deleted response had rows ...
        assert in_view == in_table - gone, view  # ... which the view leaves out
    assert erasure[0].lower() == "begin"
    assert erasure[-1].lower() == "commit"
    for statement in erasure[:-1]:
        postgres.execute(_in_schema(statement, fresh_schema))
    try:
        assert keys("SELECT survey_id, response_id FROM S.responses") == live_expected
        assert (
            keys("SELECT DISTINCT survey_id, response_id FROM S.response_answers") <= live_expected
        )
    finally:
        postgres.execute(
            "ROLLBACK"
        )  # the erasure is checked, not kept: other tests read these tables
