"""Fixtures for the end-to-end tests: Meltano and its plugins installed once, and a real PostgreSQL."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from support.e2e import meltano_setup

LOGGER = logging.getLogger("e2e")


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    """Meltano in .meltano-venv/ and every plugin in .meltano/, installed by the first test that needs them.

    A clean clone (CI) installs here, once per machine: later sessions find the stamp and go straight on.
    """
    meltano_setup.ensure_installed(log=LOGGER.warning)


@pytest.fixture(scope="session")
def postgres() -> Iterator[psycopg.Connection]:
    """A connection to the machine's PostgreSQL (127.0.0.1:5432, user postgres, trust auth).

    In CI the server must be there (.ci/run starts it); elsewhere a missing server skips, loudly.
    """
    try:
        connection = psycopg.connect(
            host="127.0.0.1",
            port=5432,
            user="postgres",
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.OperationalError as error:
        reason = (
            "NO POSTGRESQL SERVER on 127.0.0.1:5432 (user postgres): the end-to-end tests against "
            f"target-postgres did not run ({str(error).strip().splitlines()[0]}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with connection:
        yield connection


@pytest.fixture(scope="module")
def fresh_schema(postgres: psycopg.Connection) -> Iterator[str]:
    """A schema name no one else uses; whatever the target creates in it is dropped afterwards."""
    name = f"qualtrics_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    yield name
    postgres.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
