"""meltano.yml agrees with the tap it runs, and works without Meltano Hub (no Meltano needed for these)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from support.e2e import REPO

PROJECT = yaml.safe_load((REPO / "meltano.yml").read_text())
PLUGINS = [plugin for entries in PROJECT["plugins"].values() for plugin in entries]
#: SDK built-ins a Meltano user has no reason to set for this tap; everything else must be declared.
UNDECLARED_BUILTINS = {
    "faker_config",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
}


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    tap = Path(sys.executable).with_name("tap-qualtrics")
    out = subprocess.run(
        [str(tap), "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _extractor() -> dict[str, Any]:
    (extractor,) = PROJECT["plugins"]["extractors"]
    return extractor


def _meltano_kind(spec: dict[str, Any]) -> str:
    types = set(spec["type"] if isinstance(spec["type"], list) else [spec["type"]]) - {"null"}
    (json_type,) = types
    if json_type == "string" and spec.get("format") == "date-time":
        return "date_iso8601"
    return {"number": "decimal"}.get(json_type, json_type)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; this loader refuses the second."""


def _mapping_without_duplicate_keys(loader: _StrictLoader, node: yaml.MappingNode) -> Any:
    keys = [loader.construct_object(key, deep=True) for key, _ in node.value]
    repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
    assert not repeated, f"meltano.yml line {node.start_mark.line + 1} repeats {repeated}"
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicate_keys
)


def test_meltano_yml_has_no_duplicate_keys() -> None:
    assert yaml.load((REPO / "meltano.yml").read_text(), Loader=_StrictLoader) == PROJECT  # noqa: S506 - a SafeLoader


def test_extractor_declares_every_tap_setting_once_with_its_kind_and_secrecy(
    about: dict[str, Any],
) -> None:
    advertised = about["settings"]["properties"]
    names = [setting["name"] for setting in _extractor()["settings"]]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated, f"meltano.yml declares {repeated} more than once"
    declared = {setting["name"]: setting for setting in _extractor()["settings"]}
    assert sorted(declared) == sorted(set(advertised) - UNDECLARED_BUILTINS)
    for group in _extractor()["settings_group_validation"]:
        assert set(group) <= set(declared), group
    for name, setting in declared.items():
        spec = advertised[name]
        assert setting["kind"] == _meltano_kind(spec), name
        assert setting.get("sensitive", False) == spec.get("secret", False), name
        assert setting.get("description"), f"{name} has no description"
        # Defaults live in the tap alone: a `value` here would override them and drift from them.
        assert "value" not in setting, f"{name}: leave the default to the tap"


def test_extractor_capabilities_are_ones_the_tap_has(about: dict[str, Any]) -> None:
    capabilities = set(_extractor()["capabilities"])
    assert {
        "state",
        "catalog",
        "discover",
    } <= capabilities  # without them Meltano would not pass state
    assert capabilities <= set(about["capabilities"])


def test_every_plugin_is_a_pinned_custom_definition() -> None:
    for plugin in PLUGINS:
        assert "variant" not in plugin, (
            f"{plugin['name']}: variants need Meltano Hub, which is unreachable"
        )
        assert plugin["namespace"] and plugin["executable"], plugin["name"]
    assert _extractor()["pip_url"] == "-e ."
    for loader in PROJECT["plugins"]["loaders"]:
        requirements = loader["pip_url"].split()
        assert requirements and all("==" in requirement for requirement in requirements), loader[
            "name"
        ]


def test_environment_job_and_daily_schedule_fit_together() -> None:
    environments = {environment["name"] for environment in PROJECT["environments"]}
    assert (
        PROJECT["default_environment"] in environments
    )  # Meltano 4 refuses `meltano run` without one
    names = {plugin["name"] for plugin in PLUGINS}
    jobs = {job["name"]: job for job in PROJECT["jobs"]}
    for job in jobs.values():
        for task in job["tasks"]:
            assert set(task.split()) <= names, task
    assert "tap-qualtrics target-postgres" in jobs["qualtrics-to-postgres"]["tasks"]
    daily = [schedule for schedule in PROJECT["schedules"] if schedule["interval"] == "@daily"]
    assert daily and all(schedule["job"] in jobs for schedule in PROJECT["schedules"])


def test_target_postgres_config_is_safe_for_survey_data() -> None:
    (postgres,) = [
        loader for loader in PROJECT["plugins"]["loaders"] if loader["name"] == "target-postgres"
    ]
    assert postgres["config"]["default_target_schema"] == "qualtrics"
    assert postgres["config"]["sanitize_null_text_characters"] is True
    assert postgres["config"]["validate_records"] is True
    assert "sqlalchemy_url" not in postgres["config"]  # a secret: from the environment or .env
    assert (
        next(s for s in postgres["settings"] if s["name"] == "sqlalchemy_url")["sensitive"] is True
    )


def test_duckdb_files_are_read_with_a_duckdb_at_least_as_new_as_the_writer() -> None:
    """docs/getting-started.md reads target-duckdb's file with .venv's duckdb (the test extra)."""
    (target,) = [
        loader for loader in PROJECT["plugins"]["loaders"] if loader["name"] == "target-duckdb"
    ]
    writer = next(
        part.split("==", 1)[1] for part in target["pip_url"].split() if part.startswith("duckdb==")
    )

    def version(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split(".")[:3])

    assert version(duckdb.__version__) >= version(writer), (
        f".venv reads the DuckDB file with duckdb {duckdb.__version__}, older than the target's {writer}"
    )


def test_meltano_run_files_stay_private(meltano_installed: None) -> None:
    """Meltano writes each run's plugin configuration (credentials included) under .meltano/run/ and leaves
    it behind when a run is killed: the directory is readable by its owner only."""
    assert (REPO / ".meltano").stat().st_mode & 0o777 == 0o700


def test_the_loader_session_is_pinned_to_utc() -> None:
    (loader,) = (p for p in PLUGINS if p["name"] == "target-postgres")
    assert loader["env"] == {"PGTZ": "UTC"}
