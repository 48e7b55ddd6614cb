"""The orchestration module's own decisions, without Meltano or Dagster running: each shard's settings and
share of the brand's rate limits, which table versions may be activated, the SCHEMA messages sent before the
shards, and the private Meltano system directory every command runs in."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from dagster import Failure

from tap_qualtrics.settings import parse_settings
from tap_qualtrics.shards import Shard
from tap_qualtrics_orchestration.job import ShardedMeltano, _laid_over
from tap_qualtrics_orchestration.meltano import MeltanoProject
from tap_qualtrics_orchestration.plan import plan, rate_share
from tap_qualtrics_orchestration.tables import (
    activation_messages,
    activation_versions,
    schema_messages,
)


def test_each_shard_gets_its_setting_state_id_and_share() -> None:
    runs = plan(3)
    assert [(run.index, run.count, run.state_id_suffix) for run in runs] == [
        (0, 3, "shard-0"),
        (1, 3, "shard-1"),
        (2, 3, "shard-2"),
    ]
    env = runs[1].env()
    # what Meltano turns into the tap's settings: the tap accepts them as they are
    settings = parse_settings(
        {
            "api_token": "t0123456789",
            "data_center": "iad1",
            "shard": json.loads(env["TAP_QUALTRICS_SHARD"]),
            "rate_limits_per_minute": json.loads(env["TAP_QUALTRICS_RATE_LIMITS_PER_MINUTE"]),
        }
    )
    assert settings.shard == Shard(3, 1)
    assert settings.rate_limits == {
        "brand": 1000,
        "export_start": 33,
        "export_progress": 333,
        "export_file": 33,
    }


def test_shares_never_add_up_to_more_than_the_brand() -> None:
    assert rate_share({"brand": 2000, "export_start": 50}, 4) == {
        "brand": 500,
        "export_start": 12,
        "export_progress": 250,
        "export_file": 25,
    }
    for count in range(1, 12):
        share = rate_share(None, count)
        assert share["export_start"] * count <= 100
        assert share["brand"] * count <= 3000
    # never 0: every shard can export
    assert rate_share({"export_start": 2}, 5)["export_start"] == 1


def test_only_some_shards() -> None:
    assert [run.index for run in plan(4, only=[3, 1, 3])] == [1, 3]
    with pytest.raises(
        ValueError, match="Shard 4 does not exist: the 4 shards are numbered 0 to 3"
    ):
        plan(4, only=[4])
    with pytest.raises(ValueError, match="at least 1"):
        plan(0)


def _state(**reads: tuple[int, int]) -> dict[str, Any]:
    bookmarks: dict[str, Any] = {"responses": {"partitions": []}}
    for stream, (version, count) in reads.items():
        bookmarks[stream] = {"last_complete_read": {"table_version": version, "shard_count": count}}
    return {"bookmarks": bookmarks}


def test_the_oldest_complete_read_is_activated_once_every_shard_has_one() -> None:
    states = [
        _state(mailing_lists=(300, 3), distribution_contacts=(310, 3)),
        _state(mailing_lists=(200, 3), distribution_contacts=(320, 3)),
        _state(mailing_lists=(250, 3)),  # its distribution contacts were not read completely yet
    ]
    assert activation_versions(states, 3) == ({"mailing_lists": 200}, ["distribution_contacts"])


def test_reads_of_another_shard_count_do_not_count() -> None:
    """After growing from 3 to 4 shards, a shard's last complete read under 3 says nothing about the rows it
    owns now; a shard with no state yet (the new one) holds every activation back."""
    grown = [_state(mailing_lists=(900, 4)), _state(mailing_lists=(500, 3)), _state(), None]
    assert activation_versions(grown, 4) == ({}, ["mailing_lists"])
    done = [_state(mailing_lists=(900 + i, 4)) for i in range(4)]
    assert activation_versions(done, 4) == ({"mailing_lists": 900}, [])
    with pytest.raises(ValueError, match="4 shard states are needed"):
        activation_versions(done[:3], 4)


def _entry(stream: str, *, selected: bool, deselected: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {"id": {"type": "string"}, "name": {"type": ["string", "null"]}, "secret": {}}
    metadata = [
        {
            "breadcrumb": [],
            "metadata": {"selected": selected, "table-key-properties": ["id"]},
        },
        {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
        *(
            {"breadcrumb": ["properties", name], "metadata": {"selected": False}}
            for name in deselected
        ),
    ]
    return {
        "tap_stream_id": stream,
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "metadata": metadata,
    }


CATALOG = {
    "streams": [
        _entry("users", selected=True, deselected=("secret",)),
        _entry("groups", selected=False),
        _entry("mailing_lists", selected=True),
    ]
}


def test_schema_messages_are_the_selected_streams_as_the_tap_sends_them() -> None:
    messages = schema_messages(CATALOG)
    assert [(m["type"], m["stream"], m["key_properties"]) for m in messages] == [
        ("SCHEMA", "users", ["id"]),
        ("SCHEMA", "mailing_lists", ["id"]),
    ]
    assert list(messages[0]["schema"]["properties"]) == ["id", "name"]
    assert list(messages[1]["schema"]["properties"]) == ["id", "name", "secret"]


def test_activation_messages_follow_a_schema() -> None:
    messages = activation_messages(CATALOG, {"mailing_lists": 77, "groups": 5})
    assert [(m["type"], m["stream"], m.get("version")) for m in messages] == [
        ("SCHEMA", "mailing_lists", None),
        ("ACTIVATE_VERSION", "mailing_lists", 77),
    ]  # groups is no longer selected: nothing is sent for it


def _project(tmp_path: Path, meltano_yml: str = "default_environment: dev\n") -> MeltanoProject:
    (tmp_path / "meltano.yml").write_text(meltano_yml)
    system = tmp_path / ".meltano"
    for name in ("extractors", "loaders", "run"):
        (system / name).mkdir(parents=True, exist_ok=True)
    for name in ("meltano.db", "meltano.db-wal", ".installed.json"):
        (system / name).write_text("x")
    return MeltanoProject(tmp_path)


def test_every_command_has_its_own_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MELTANO_DATABASE_URI", raising=False)
    monkeypatch.delenv("MELTANO_SYS_DIR_ROOT", raising=False)
    project = _project(tmp_path)
    with project.private_system_dir() as first, project.private_system_dir() as second:
        roots = [Path(env["MELTANO_SYS_DIR_ROOT"]) for env in (first, second)]
        assert roots[0] != roots[1]
        for root in roots:
            assert sorted(p.name for p in root.iterdir()) == [
                ".installed.json",
                "extractors",
                "loaders",
                "meltano.db",
            ]
            assert (root / "extractors").resolve() == tmp_path / ".meltano" / "extractors"
        # the project's system database, not one in the private directory
        assert first["MELTANO_DATABASE_URI"] == f"sqlite:///{tmp_path / '.meltano' / 'meltano.db'}"
    assert not any(root.exists() for root in roots)
    assert project.state_id("shard-2") == "dev:tap-qualtrics-to-target-postgres:shard-2"
    assert project.command("state", "list") == ["meltano", "--environment", "dev", "state", "list"]


def test_a_configured_system_database_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MELTANO_DATABASE_URI", raising=False)
    project = _project(tmp_path, "default_environment: prod\ndatabase_uri: postgresql://x/y\n")
    with project.private_system_dir() as env:
        assert "MELTANO_DATABASE_URI" not in env
    monkeypatch.setenv("MELTANO_DATABASE_URI", "sqlite:////elsewhere.db")
    with _project(tmp_path).private_system_dir() as env:
        assert "MELTANO_DATABASE_URI" not in env
    assert os.environ["MELTANO_DATABASE_URI"] == "sqlite:////elsewhere.db"


def test_a_failed_runs_partial_state_is_laid_over_the_completed_one() -> None:
    """As Meltano's ``state get`` shows a shard's state: the partial one of a later failed run merged in."""
    completed = _state(mailing_lists=(100, 3), distribution_contacts=(100, 3))
    partial = _state(mailing_lists=(200, 3))
    merged = _laid_over(completed, partial)
    assert merged["bookmarks"]["mailing_lists"]["last_complete_read"]["table_version"] == 200
    assert (
        merged["bookmarks"]["distribution_contacts"]["last_complete_read"]["table_version"] == 100
    )
    assert _laid_over(None, partial) == partial


def test_a_project_without_an_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meltano keeps no state for a run outside an environment: every step refuses such a project."""
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    _project(tmp_path, "project_id: x\n")
    with pytest.raises(Failure, match="Shards need a Meltano environment"):
        ShardedMeltano(project_dir=str(tmp_path)).project()
    assert ShardedMeltano(project_dir=str(tmp_path), environment="prod").project().command() == [
        "meltano",
        "--environment",
        "prod",
    ]
