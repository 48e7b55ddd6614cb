"""Shards through the orchestration module: `python -m tap_qualtrics_orchestration`, the Dagster job whose steps
run `meltano run tap-qualtrics target-postgres` in parallel, into one PostgreSQL schema.

One sandbox, one schema, the streams of each kind selected (per survey and per directory, incremental and
read in full, account-wide, the deletion check), four rounds:

1. three shards in parallel on the empty schema: the warehouse equals the sandbox's truth, and each shard read
   exactly its surveys and directories;
2. the sandbox changes across shards (responses added, edited, deleted; a survey renamed; list members
   removed; a user deleted; contacts edited; an in-progress response finished), and shard 1 is made to fail
   (Qualtrics refuses the details of one of its surveys): the run fails, the other shards' changes landed,
   and no table version of a stream the shards share was activated;
3. shard 1 alone again (``--only 1``) after the refusal ends: the warehouse equals the truth, and of the
   responses exactly the changed ones were loaded again;
4. more changes, then four shards: nothing lost, every removed row marked, and only the surveys and the
   directory that moved to the new shard 3 were synced again from the start.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support.e2e import REPO, MeltanoProject, local_postgres, meltano_setup, plain, truth_timestamp
from support.tap import give_every_stream_records

from qualtrics_sandbox.server import running_sandbox
from tap_qualtrics.shards import shard_of

#: seed 2 with 5 surveys: each shard of 3 owns a survey, the two directories belong to shards 1 and 2,
#: and with 4 shards one survey and one directory move to shard 3 (asserted by the first test)
ACCOUNT = {"seed": 2, "surveys": 5, "responses": 4, "users": 6, "export_polls": 1}
FAILING_SHARD = 1
LOGGER = logging.getLogger("e2e")


@dataclass
class Round:
    returncode: int
    outcomes: dict[str, str]  # Dagster step -> how it ended
    seconds: float
    truth: dict[str, Any]
    tables: dict[str, dict[tuple[str, ...], dict[str, Any]]]  # table -> key -> row
    states: dict[str, dict[str, Any]]  # state ID suffix -> singer state
    spans: dict[str, tuple[str, str]]  # state ID suffix -> first and last time in its Meltano log


@dataclass
class Story:
    rounds: dict[str, Round]
    changes: dict[str, Any]


#: what the selected streams' tables hold, by primary key (every stream, each record once, is checked in
#: process by tests/tap/test_tap_shards.py; these are the ones each kind of table and ownership needs:
#: per survey and per directory, incremental and read in full, account-wide, and the deletion check)
KEYS = {
    "surveys": ("survey_id",),
    "responses": ("survey_id", "response_id"),
    "users": ("user_id",),
    "directories": ("directory_id",),
    "contacts": ("directory_id", "contact_id"),
    "mailing_lists": ("mailing_list_id",),
    "mailing_list_contacts": ("mailing_list_id", "contact_id"),
    "distributions": ("distribution_id",),
    "distribution_contacts": ("distribution_id", "contact_id", "contact_lookup_id"),
}
STREAMS = (*KEYS, "response_deletion_checks", "live_response_ids")


def _tables(connection: psycopg.Connection, schema: str) -> dict[str, Any]:
    tables = {}
    with connection.cursor(row_factory=dict_row) as cursor:
        for table, key in KEYS.items():
            rows = [plain(row) for row in cursor.execute(f'SELECT * FROM "{schema}"."{table}"')]
            tables[table] = {tuple(str(row[column]) for column in key): row for row in rows}
        # responses the last deletion check of their survey did not find (docs/querying.md)
        deleted = cursor.execute(
            f"""SELECT r.survey_id, r.response_id FROM "{schema}".responses r
                JOIN "{schema}".response_deletion_checks c USING (survey_id)
                WHERE r.recorded_date < c.recorded_before AND NOT EXISTS (
                  SELECT 1 FROM "{schema}".live_response_ids l WHERE l.survey_id = r.survey_id
                  AND l.response_id = r.response_id AND l.checked_at >= c.checked_at)"""
        ).fetchall()
    tables["deleted_responses"] = {(row["survey_id"], row["response_id"]): {} for row in deleted}
    return tables


def _states(workdir: Path, count: int) -> dict[str, dict[str, Any]]:
    states = {}
    for index in range(count):
        path = (
            workdir / "state" / f"dev:tap-qualtrics-to-target-postgres:shard-{index}" / "state.json"
        )
        saved = json.loads(path.read_text()) if path.exists() else {}
        states[f"shard-{index}"] = (saved.get("completed") or {}).get("singer_state") or {}
    return states


def _spans(logs: Path) -> dict[str, tuple[str, str]]:
    """When each shard's `meltano run` logged its first and its last line."""
    spans = {}
    for log in sorted(logs.glob("shard-*.log")):
        times = [line.split()[0] for line in log.read_text().splitlines() if line[:2] == "20"]
        spans[log.stem] = (times[0], times[-1])
    return spans


def _orchestrate(project: MeltanoProject, *args: str) -> tuple[int, dict[str, str], float]:
    """``python -m tap_qualtrics_orchestration <args>``: its exit code, each step's outcome, seconds taken."""
    command = [
        sys.executable,
        "-m",
        "tap_qualtrics_orchestration",
        "--project",
        str(REPO),
        "--meltano",
        str(meltano_setup.MELTANO),
        "--env-file",
        os.devnull,
        "--log-dir",
        str(project.workdir / "logs"),
        *args,
    ]
    started = time.monotonic()
    # no `meltano install` of another process meanwhile (the orchestrator gives each command its own run/)
    with meltano_setup.project_lock(shared=True):
        completed = subprocess.run(
            command,
            cwd=REPO,
            env=meltano_setup.meltano_env(project.env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    seconds = time.monotonic() - started
    (project.workdir / f"orchestrator-{int(started)}.log").write_text(completed.stderr)
    outcomes = dict(line.split(maxsplit=1) for line in completed.stdout.splitlines() if line)
    return completed.returncode, outcomes, seconds


@pytest.fixture(scope="module")
def story(
    meltano_installed: None,
    postgres_server: local_postgres.Postgres,
    postgres: psycopg.Connection,
    fresh_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Story:
    workdir = tmp_path_factory.mktemp("meltano-shards")
    rounds: dict[str, Round] = {}
    changes: dict[str, Any] = {}
    with running_sandbox(**ACCOUNT) as sandbox:
        give_every_stream_records(sandbox)  # in-progress and deleted responses in every survey
        project = MeltanoProject.for_sandbox(
            sandbox,
            workdir,
            TARGET_POSTGRES_SQLALCHEMY_URL=postgres_server.url(),
            TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=fresh_schema,
            TAP_QUALTRICS__SELECT=json.dumps([f"{stream}.*" for stream in STREAMS]),
            TAP_QUALTRICS_START_DATE="2000-01-01T00:00:00Z",
        )

        def play(name: str, count: int, *args: str) -> None:
            code, outcomes, seconds = _orchestrate(project, "--shards", str(count), *args)
            LOGGER.warning("round %s: %d shard(s), %.1f s, exit %d", name, count, seconds, code)
            rounds[name] = Round(
                code,
                outcomes,
                seconds,
                sandbox.truth(),
                _tables(postgres, fresh_schema),
                _states(workdir, count),
                _spans(workdir / "logs"),
            )

        play("first", 3)

        truth = sandbox.truth()
        surveys = list(truth["surveys"])
        failing = next(s for s in surveys if shard_of(s, 3) == FAILING_SHARD)
        other = next(
            s
            for s in surveys
            if shard_of(s, 3) not in (0, FAILING_SHARD) and truth["surveys"][s]["responses"]
        )
        changes["failing_survey"], changes["other_survey"] = failing, other
        changes["responses"] = [
            sandbox.mutate(
                {"survey_id": sid, "add": 2, "edit": 1, "delete": 1, "edit_survey": True}
            )
            | {"survey_id": sid}
            for sid in (failing, other)
        ]
        changes["finished"] = [
            (other, rid) for rid in sandbox.mutate({"survey_id": other, "finish": 1})["finished"]
        ]
        members = truth["mailing_list_members"]
        mailing_list = max(members, key=lambda ml: len(members[ml]))
        directory = next(
            d for d, lists in truth["directory_mailing_lists"].items() if mailing_list in lists
        )
        changes["removed_members"] = sandbox.mutate(
            {
                "directory_id": directory,
                "mailing_list_id": mailing_list,
                "remove_members": 2,
                "edit_contacts": 2,
            }
        )
        changes["mailing_list"] = mailing_list
        changes["deleted_user"] = sandbox.mutate({"delete_users": 1})["deleted_users"][0]
        sandbox.set_access({"survey_id": failing, "details": 403})
        play("failed", 3)

        sandbox.set_access({"survey_id": failing, "reset": True})
        play("repaired", 3, "--only", str(FAILING_SHARD))

        for sid in surveys:
            sandbox.mutate({"survey_id": sid, "add": 1})
        moved_directory = next(d for d in truth["contacts"] if shard_of(d, 4) == 3)
        moved_list = truth["directory_mailing_lists"][moved_directory][0]
        sandbox.mutate(
            {"directory_id": moved_directory, "mailing_list_id": moved_list, "remove_members": 1}
        )
        play("four", 4)
    return Story(rounds, changes)


def _truth_keys(truth: dict[str, Any], table: str) -> set[tuple[str, ...]]:
    """The keys a table's current rows must have, from the sandbox's truth."""
    surveys = truth["surveys"]
    if table == "surveys":
        return {(sid,) for sid in surveys}
    if table == "responses":
        return {(sid, rid) for sid, s in surveys.items() for rid in s["responses"]}
    if table == "users":
        return {(user,) for user in truth["users"]}
    if table == "directories":
        return {(d,) for d in truth["contacts"]}
    if table == "contacts":
        return {(d, c) for d, contacts in truth["contacts"].items() for c in contacts}
    if table == "mailing_lists":
        return {(ml,) for lists in truth["directory_mailing_lists"].values() for ml in lists}
    if table == "mailing_list_contacts":
        return {(ml, c) for ml, members in truth["mailing_list_members"].items() for c in members}
    if table == "distributions":
        return {(d,) for ds in truth["distributions"].values() for d in ds}
    if table == "distribution_contacts":
        return {
            (dist, contact, lookup or "")
            for dist, rows in truth["distribution_contacts"].items()
            for contact, lookup in rows
        }
    raise KeyError(table)


def _current(rows: dict[tuple[str, ...], dict[str, Any]]) -> set[tuple[str, ...]]:
    return {key for key, row in rows.items() if row.get("_sdc_deleted_at") is None}


def _differences(played: Round) -> dict[str, Any]:
    """Per table, what the current rows have that the truth lacks and the reverse; empty when equal."""
    out = {}
    for table, rows in played.tables.items():
        if table == "deleted_responses":
            continue
        current = _current(rows)
        if table == "responses":
            current -= played.tables["deleted_responses"].keys()
        wanted = _truth_keys(played.truth, table)
        if current != wanted:
            out[table] = {"extra": sorted(current - wanted), "missing": sorted(wanted - current)}
    # the values that change: when a response or contact was last modified
    for sid, survey in played.truth["surveys"].items():
        for rid, modified in survey["responses"].items():
            row = played.tables["responses"].get((sid, rid))
            if row is not None and row["last_modified_date"] != truth_timestamp(modified):
                out.setdefault("responses.last_modified_date", []).append(rid)
    return out


def _received(played: Round, table: str) -> dict[tuple[str, ...], Any]:
    return {key: row["_sdc_received_at"] for key, row in played.tables[table].items()}


def _reloaded(before: Round, after: Round, table: str) -> set[tuple[str, ...]]:
    """Rows loaded again between two rounds (their ``_sdc_received_at`` moved)."""
    old = _received(before, table)
    return {key for key, at in _received(after, table).items() if old.get(key) != at}


def test_the_account_splits_as_the_test_needs(story: Story) -> None:
    truth = story.rounds["first"].truth
    assert {shard_of(s, 3) for s in truth["surveys"]} == {0, 1, 2}
    assert 3 in {shard_of(s, 4) for s in truth["surveys"]}
    assert 3 in {shard_of(d, 4) for d in truth["contacts"]}
    assert all(rows for table, rows in story.rounds["first"].tables.items() if table in KEYS)


def test_three_shards_in_parallel_load_the_truth(story: Story) -> None:
    first = story.rounds["first"]
    assert first.returncode == 0, first.outcomes
    assert first.outcomes == {
        "prepare_tables": "succeeded",
        **{f"run_shard[shard_{i}]": "succeeded" for i in range(3)},
        "activate_versions": "succeeded",
    }
    assert _differences(first) == {}
    # in parallel: each shard's run had begun before any had ended
    spans = [first.spans[f"shard-{i}"] for i in range(3)]
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_each_shard_read_exactly_its_part(story: Story) -> None:
    """No row twice: each survey's responses and each directory's contacts were read by one shard alone."""
    first = story.rounds["first"]
    for index in range(3):
        bookmarks = first.states[f"shard-{index}"]["bookmarks"]
        surveys = {p["context"]["survey_id"] for p in bookmarks["responses"].get("partitions", [])}
        assert surveys == {s for s in first.truth["surveys"] if shard_of(s, 3) == index}
        directories = {
            p["context"]["directory_id"] for p in bookmarks["contacts"].get("partitions", [])
        }
        assert directories == {d for d in first.truth["contacts"] if shard_of(d, 3) == index}
        # the account-wide streams: shard 0 alone
        assert ("users" in bookmarks) == (index == 0)


def test_a_failed_shard_fails_the_run_and_holds_back_activation(story: Story) -> None:
    failed = story.rounds["failed"]
    assert failed.returncode == 1
    assert failed.outcomes["run_shard[shard_1]"] == "FAILED"
    assert failed.outcomes["run_shard[shard_0]"] == failed.outcomes["run_shard[shard_2]"]
    assert failed.outcomes["run_shard[shard_2]"] == "succeeded"
    assert failed.outcomes["activate_versions"] == "not run (a step before it failed)"
    differences = _differences(failed)
    # the refused survey's new name did not land; the other shards' changes did
    assert "surveys" not in differences
    failing, other = story.changes["failing_survey"], story.changes["other_survey"]
    assert failed.tables["surveys"][(failing,)]["name"] != failed.truth["surveys"][failing]["name"]
    assert failed.tables["surveys"][(other,)]["name"] == failed.truth["surveys"][other]["name"]
    # the removed members are still current: their table is shared, and one shard did not finish
    removed = {
        (story.changes["mailing_list"], contact)
        for contact in story.changes["removed_members"]["removed_members"]
    }
    assert differences["mailing_list_contacts"] == {"extra": sorted(removed), "missing": []}
    # the deleted user is marked: shard 0 reads users whole and activates them itself
    assert "users" not in differences


def test_the_failed_shard_alone_repairs_the_warehouse(story: Story) -> None:
    repaired = story.rounds["repaired"]
    assert repaired.returncode == 0, repaired.outcomes
    assert repaired.outcomes == {
        "prepare_tables": "succeeded",
        "run_shard[shard_1]": "succeeded",
        "activate_versions": "succeeded",
    }
    assert _differences(repaired) == {}
    failing = story.changes["failing_survey"]
    assert (
        repaired.tables["surveys"][(failing,)]["name"] == repaired.truth["surveys"][failing]["name"]
    )


def test_the_second_round_loaded_exactly_the_changes(story: Story) -> None:
    first, repaired = story.rounds["first"], story.rounds["repaired"]
    changed = {
        (change["survey_id"], rid)
        for change in story.changes["responses"]
        for rid in change["added"] + change["edited"]
    } | set(story.changes["finished"])
    assert _reloaded(first, repaired, "responses") == changed
    deleted = {
        (change["survey_id"], rid)
        for change in story.changes["responses"]
        for rid in change["deleted"]
    }
    assert set(repaired.tables["deleted_responses"]) == deleted
    directory_changes = story.changes["removed_members"]
    assert {key[1] for key in _reloaded(first, repaired, "contacts")} == set(
        directory_changes["edited_contacts"]
    )


def test_four_shards_lose_nothing_and_keep_their_bookmarks(story: Story) -> None:
    repaired, four = story.rounds["repaired"], story.rounds["four"]
    assert four.returncode == 0, four.outcomes
    assert _differences(four) == {}  # the removed member is marked: four complete reads of 4 shards
    moved = {s for s in four.truth["surveys"] if shard_of(s, 4) == 3}
    added = {
        (sid, rid)
        for sid, survey in four.truth["surveys"].items()
        for rid in survey["responses"]
        if (sid, rid) not in repaired.tables["responses"]
    }
    assert added
    # shards 0-2 kept their state: of their surveys only the new responses were loaded; the surveys
    # that moved to shard 3 were synced again from start_date, all of their responses
    assert _reloaded(repaired, four, "responses") == added | {
        (sid, rid) for sid in moved for rid in four.truth["surveys"][sid]["responses"]
    }
    assert {
        p["context"]["survey_id"]
        for p in four.states["shard-3"]["bookmarks"]["responses"]["partitions"]
    } == moved
