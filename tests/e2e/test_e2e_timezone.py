"""Timestamps land in UTC whatever the PostgreSQL session's time zone: a database whose default time zone is
New York still stores the exact instants the tap emitted (`meltano.yml` pins the loader's session to UTC).

This module always runs on the embedded PostgreSQL (tests/e2e/conftest.py), whatever the other modules use:
every run exercises that path, and the database it creates never touches the machine's server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.e2e import MeltanoProject, local_postgres, records_by_stream

from qualtrics_sandbox.server import running_sandbox

NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def new_york_database(embedded_postgres: local_postgres.Postgres) -> Iterator[str]:
    """A database whose sessions default to New York time (as a server, database or role setting makes it)."""
    name = f"qualtrics_tz_{os.getpid()}_{secrets.token_hex(3)}"
    with embedded_postgres.connect(autocommit=True) as postgres:
        postgres.execute(f'CREATE DATABASE "{name}"')
        postgres.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{NEW_YORK}'")
        try:
            yield name
        finally:
            postgres.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_timestamps_are_stored_as_the_utc_instants_the_tap_emitted(
    meltano_installed: None,
    embedded_postgres: local_postgres.Postgres,
    new_york_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    assert embedded_postgres.embedded
    url = embedded_postgres.url(new_york_database)
    workdir = tmp_path_factory.mktemp("meltano-timezone")
    with running_sandbox(seed=13, surveys=2, responses=6, users=3, export_polls=1) as sandbox:
        project = MeltanoProject.for_sandbox(
            sandbox,
            workdir,
            TARGET_POSTGRES_SQLALCHEMY_URL=url,
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA="qualtrics",
        )
        project.run("tap-qualtrics", "target-postgres")
        emitted = records_by_stream(project.meltano("invoke", "tap-qualtrics").stdout)["responses"]
    with embedded_postgres.connect(new_york_database) as connection:
        zone = connection.execute("SHOW timezone").fetchone()
        assert zone is not None and zone[0] == NEW_YORK  # the trap is set
        rows = connection.execute(
            "SELECT response_id, recorded_date, last_modified_date FROM qualtrics.responses"
        ).fetchall()
    stored = {rid: (recorded, modified) for rid, recorded, modified in rows}
    assert len(stored) == len(emitted) > 0
    for record in emitted:
        recorded, modified = stored[record["response_id"]]
        # `timestamp` columns hold UTC wall-clock time: read back as UTC they are the emitted instants
        assert recorded.replace(tzinfo=UTC) == _instant(record["recorded_date"])
        assert modified.replace(tzinfo=UTC) == _instant(record["last_modified_date"])


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
