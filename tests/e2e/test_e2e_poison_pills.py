"""One bad value never blocks what comes after it, through `meltano run tap-qualtrics target-postgres`:
half of a UTF-16 pair, a raw control character in a text, and a duration past 64 bits are loaded (as
documented) with every other response, and the run succeeds."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
import pytest
from support.e2e import MeltanoProject, local_postgres

from qualtrics_sandbox.server import running_sandbox

#: mode -> (SQL that is true of the damaged response, what it checks)
DAMAGED = {
    "lone_surrogate": "values->>'QID_half' = U&'\\FFFD tail'",
    "control_character": "values->>'QID_ctrl' = 'a' || chr(1) || 'b'",
    "huge_duration": "duration IS NULL AND values->>'duration' = '99999999999999999999'",
}


@pytest.mark.parametrize("mode", sorted(DAMAGED))
def test_a_poison_value_is_loaded_with_everything_else(
    mode: str,
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    schema = f"qualtrics_pill_{os.getpid()}_{secrets.token_hex(3)}"
    workdir: Path = tmp_path_factory.mktemp(f"meltano-{mode}")
    try:
        with running_sandbox(seed=17, surveys=2, responses=5, users=2, export_polls=1) as sandbox:
            sandbox.set_faults({"corrupt_export": mode, "corrupt_export_index": 1})
            project = MeltanoProject.for_sandbox(
                sandbox,
                workdir,
                TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
                TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
            )
            project.run("tap-qualtrics", "target-postgres")  # asserts exit 0
            truth = sandbox.truth()["surveys"]
        expected = {(sid, rid) for sid, s in truth.items() for rid in s["responses"]}
        loaded = set(postgres.execute(f'SELECT survey_id, response_id FROM "{schema}".responses'))
        assert loaded == expected
        damaged = postgres.execute(
            f'SELECT survey_id FROM "{schema}".responses WHERE {DAMAGED[mode]}'
        ).fetchall()
        assert sorted(sid for (sid,) in damaged) == sorted(
            sid for sid, s in truth.items() if s["responses"]
        )
    finally:
        postgres.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
