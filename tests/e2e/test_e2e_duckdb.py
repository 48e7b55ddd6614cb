"""`meltano run tap-qualtrics target-duckdb`, the documented no-server option of meltano.yml, loses nothing.

target-duckdb 0.8.0 loads through CSV files and DuckDB's CSV reader, which is fragile: with DuckDB 1.2 a
free-text answer containing CR LF breaks the load, and with 1.3 or newer the first row of a batch is
silently taken for a header and dropped. So this compares every table with the sandbox's truth and with
what the tap emitted, value for value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
from support.e2e import MeltanoProject, plain, records_by_stream, truth_timestamp, without_sdc

from qualtrics_sandbox.server import running_sandbox


def test_duckdb_run_loads_exactly_what_the_tap_emitted(
    meltano_installed: None, tmp_path: Path
) -> None:
    # Not qualtrics.duckdb: DuckDB names the catalog after the file, and it would shadow the schema.
    database = tmp_path / "warehouse.duckdb"
    with running_sandbox(seed=5, surveys=4, responses=12, users=15, export_polls=1) as sandbox:
        project = MeltanoProject.for_sandbox(
            sandbox, tmp_path, TARGET_DUCKDB_FILEPATH=str(database)
        )
        streams = project.selected_streams()
        project.run("tap-qualtrics", "target-duckdb")
        truth = sandbox.truth()
        emitted = records_by_stream(project.meltano("invoke", "tap-qualtrics").stdout)

    with duckdb.connect(str(database), read_only=True) as connection:
        tables = _tables(connection)
        assert set(tables) == set(streams)
        for name, stream in streams.items():
            keys = stream["key_properties"]
            properties = stream["schema"]["properties"]
            loaded = {tuple(row[k] for k in keys): row for row in tables[name]}
            expected = {
                tuple(record[k] for k in keys): {
                    column: _as_loaded(record.get(column), spec)
                    for column, spec in properties.items()
                }
                for record in emitted.get(name, [])
            }
            assert len(loaded) == len(tables[name]), f"{name}: duplicate keys"
            assert loaded.keys() == expected.keys(), name
            for key, row in expected.items():
                assert _decoded(without_sdc(loaded[key]), properties) == row, (name, key)

        surveys = {row["survey_id"]: row["name"] for row in tables["surveys"]}
        responses = {
            (r["survey_id"], r["response_id"]): r["last_modified_date"] for r in tables["responses"]
        }
        users = {row["user_id"] for row in tables["users"]}
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'qualtrics' AND table_name = 'responses'"
            ).fetchall()
        )
    assert surveys == {sid: survey["name"] for sid, survey in truth["surveys"].items()}
    assert responses == {
        (sid, rid): truth_timestamp(modified)
        for sid, survey in truth["surveys"].items()
        for rid, modified in survey["responses"].items()
    }
    assert users == set(truth["users"])
    assert (types["last_modified_date"], types["values"]) == ("TIMESTAMP", "JSON")


def _tables(connection: Any) -> dict[str, list[dict[str, Any]]]:
    names = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'qualtrics'"
        ).fetchall()
    ]
    tables = {}
    for name in names:
        cursor = connection.execute(f'SELECT * FROM qualtrics."{name}"')
        columns = [column[0] for column in cursor.description]
        tables[name] = [plain(dict(zip(columns, row, strict=False))) for row in cursor.fetchall()]
    return tables


def _is(spec: dict[str, Any], json_type: str) -> bool:
    types = spec.get("type", [])
    return json_type in ([types] if isinstance(types, str) else types)


def _as_loaded(value: Any, spec: dict[str, Any]) -> Any:
    """A record value as target-duckdb 0.8 stores it: it writes an empty string as NULL."""
    if value == "" and not (_is(spec, "object") or _is(spec, "array")):
        return None
    return value


def _decoded(row: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """JSON columns come back as JSON text."""
    return {
        column: json.loads(value)
        if isinstance(value, str)
        and (_is(properties[column], "object") or _is(properties[column], "array"))
        else value
        for column, value in row.items()
    }
