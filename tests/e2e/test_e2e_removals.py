"""Rows removed from Qualtrics leave the warehouse's current view: `meltano run tap-qualtrics target-postgres`
with target-postgres as shipped, soft delete (the default: `_sdc_deleted_at` is set) and hard delete.

One sandbox and two projects (one schema each, one with `hard_delete`); a first run, then members are removed
from a mailing list and a user is deleted, then a second run. The streams read in full each run end with
ACTIVATE_VERSION (tap_qualtrics/table_versions.py); target-postgres marks or deletes the rows the run did
not emit again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support.e2e import MeltanoProject, local_postgres

from qualtrics_sandbox.server import running_sandbox

PIPELINE = ("tap-qualtrics", "target-postgres")
STREAMS = ("users", "directories", "mailing_lists", "mailing_list_contacts", "groups", "divisions")
MODES = ("soft", "hard")


@dataclass
class Removals:
    truth_before: dict[str, Any]
    truth_after: dict[str, Any]
    removed_members: list[str]
    mailing_list: str
    deleted_user: str
    schemas: dict[str, str]
    rows: dict[tuple[str, str], dict[tuple[str, ...], dict[str, Any]]]  # (mode, run) -> key -> row


def _table(
    connection: psycopg.Connection, schema: str, table: str, key: tuple[str, ...]
) -> dict[tuple[str, ...], dict[str, Any]]:
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
    return {tuple(str(row[column]) for column in key): row for row in rows}


KEYS = {
    "users": ("user_id",),
    "directories": ("directory_id",),
    "mailing_lists": ("mailing_list_id",),
    "mailing_list_contacts": ("mailing_list_id", "contact_id"),
    "groups": ("group_id",),
    "divisions": ("division_id",),
}


@pytest.fixture(scope="module")
def removals(
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    fresh_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Removals]:
    schemas = {mode: f"{fresh_schema}_{mode}" for mode in MODES}
    rows: dict[tuple[str, str], Any] = {}
    with running_sandbox(seed=21, surveys=2, responses=4, users=12, export_polls=1) as sandbox:
        projects = {
            mode: MeltanoProject.for_sandbox(
                sandbox,
                tmp_path_factory.mktemp(f"meltano-removals-{mode}"),
                TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
                TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schemas[mode],
                TARGET_POSTGRES_HARD_DELETE="true" if mode == "hard" else "false",
                TAP_QUALTRICS__SELECT=json.dumps([f"{stream}.*" for stream in STREAMS]),
            )
            for mode in MODES
        }

        def snapshot(run: str) -> None:
            for mode in MODES:
                rows[mode, run] = {
                    table: _table(postgres, schemas[mode], table, key)
                    for table, key in KEYS.items()
                }

        for project in projects.values():
            project.run(*PIPELINE)
        snapshot("first")
        truth_before = sandbox.truth()

        mailing_list, members = max(
            truth_before["mailing_list_members"].items(), key=lambda item: len(item[1])
        )
        directory = next(
            did
            for did, lists in truth_before["directory_mailing_lists"].items()
            if mailing_list in lists
        )
        removed = sandbox.mutate(
            {"directory_id": directory, "mailing_list_id": mailing_list, "remove_members": 2}
        )
        deleted = sandbox.mutate({"delete_users": 1})
        for project in projects.values():
            project.run(*PIPELINE)
        snapshot("second")
        truth_after = sandbox.truth()
    assert len(members) > 2
    try:
        yield Removals(
            truth_before,
            truth_after,
            removed["removed_members"],
            mailing_list,
            deleted["deleted_users"][0],
            schemas,
            rows,
        )
    finally:
        for schema in schemas.values():
            postgres.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _truth_keys(truth: dict[str, Any], table: str) -> set[tuple[str, ...]]:
    if table == "users":
        return {(user,) for user in truth["users"]}
    if table == "directories":
        return {(directory,) for directory in truth["directory_mailing_lists"]}
    if table == "mailing_lists":
        return {(ml,) for lists in truth["directory_mailing_lists"].values() for ml in lists}
    if table == "mailing_list_contacts":
        return {
            (ml, contact)
            for ml, members in truth["mailing_list_members"].items()
            for contact in members
        }
    return set()


def _current(rows: dict[tuple[str, ...], dict[str, Any]]) -> set[tuple[str, ...]]:
    return {key for key, row in rows.items() if row["_sdc_deleted_at"] is None}


def test_the_mutation_removed_what_the_test_expects(removals: Removals) -> None:
    assert len(removals.removed_members) == 2
    assert removals.deleted_user in removals.truth_before["users"]
    assert removals.deleted_user not in removals.truth_after["users"]
    for contact in removals.removed_members:
        assert contact not in removals.truth_after["mailing_list_members"][removals.mailing_list]


@pytest.mark.parametrize("mode", MODES)
def test_first_run_marks_nothing(removals: Removals, mode: str) -> None:
    for table in KEYS:
        rows = removals.rows[mode, "first"][table]
        assert rows, table
        assert _current(rows) == rows.keys(), table
    for table in ("users", "directories", "mailing_lists", "mailing_list_contacts"):
        assert removals.rows[mode, "first"][table].keys() == _truth_keys(
            removals.truth_before, table
        )


@pytest.mark.parametrize("mode", MODES)
def test_current_rows_equal_the_truth_after_removals(removals: Removals, mode: str) -> None:
    second = removals.rows[mode, "second"]
    for table in ("users", "directories", "mailing_lists", "mailing_list_contacts"):
        assert _current(second[table]) == _truth_keys(removals.truth_after, table), table
    # groups and divisions did not change: every row is current and still there
    for table in ("groups", "divisions"):
        assert _current(second[table]) == removals.rows[mode, "first"][table].keys(), table


def test_soft_delete_marks_the_removed_rows(removals: Removals) -> None:
    second = removals.rows["soft", "second"]
    gone = {("users", (removals.deleted_user,))} | {
        ("mailing_list_contacts", (removals.mailing_list, contact))
        for contact in removals.removed_members
    }
    marked = {
        (table, key)
        for table, rows in second.items()
        for key, row in rows.items()
        if row["_sdc_deleted_at"] is not None
    }
    assert marked == gone
    # the removed rows keep their data (only the mark is new)
    user = second["users"][(removals.deleted_user,)]
    assert user["user_id"] == removals.deleted_user


def test_hard_delete_drops_the_removed_rows(removals: Removals) -> None:
    second = removals.rows["hard", "second"]
    for table in ("users", "directories", "mailing_lists", "mailing_list_contacts"):
        assert second[table].keys() == _truth_keys(removals.truth_after, table), table
