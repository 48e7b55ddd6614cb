"""The first steps of docs/getting-started.md through the real command line: ``--test`` checks the
credentials, ``--discover`` checks a config as a sync does (and still prints the catalog without any config)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.tap import sandbox, token_config
from support.taprun import TAP_COMMAND, TapRun, tap_process_env, write_inputs

STREAM_COUNT = 23


def _discover(tmp_path: Path, config: dict[str, Any] | None) -> TapRun:
    """``tap-qualtrics [--config FILE] --discover`` (its stdout is one indented JSON catalog, not messages)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    arguments = write_inputs(tmp_path / "inputs", config)
    completed = subprocess.run(
        [*TAP_COMMAND, *arguments, "--discover"],
        cwd=workdir,
        env=tap_process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert list(workdir.iterdir()) == []
    return TapRun([], completed.stdout, completed.stderr, completed.returncode)


def _info_lines(run: TapRun, fragment: str) -> list[str]:
    return [line for line in run.stderr.splitlines() if "| INFO" in line and fragment in line]


def test_connection_test_passes_with_one_info_line_and_no_error(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=71, surveys=3, responses=4) as handle:
        run = run_tap(token_config(handle), args=("--test",))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.error_lines() == []
    assert "Traceback" not in run.stderr
    (passed,) = _info_lines(run, "Connection test")
    assert passed.endswith(
        f"Connection test passed: Qualtrics at {handle.base_url} accepted the credentials and every "
        "stream read its first records."
    )


def test_connection_test_with_a_wrong_token_fails_with_one_sentence(
    run_tap: Callable[..., TapRun],
) -> None:
    with sandbox(seed=72, surveys=2, responses=3) as handle:
        run = run_tap(token_config(handle, api_token="wrong-token-0123456789"), args=("--test",))
    assert run.returncode == 1
    (error,) = run.error_lines()
    assert error.endswith(
        "Qualtrics rejected the API token (DCD_7) — check api_token and data_center."
    )
    assert "Connection test passed" not in run.stderr
    assert "Traceback" not in run.stderr and "wrong-token-0123456789" not in run.all_text()
    assert [m for m in run.messages if m["type"] == "RECORD"] == []


@pytest.mark.parametrize(
    ("setting", "sentence"),
    [
        (
            {"survey_id": ["SV_1"]},
            "Unknown setting 'survey_id' (did you mean survey_ids?): remove it or correct its name.",
        ),
        ({"page_size": "ten"}, "page_size must be of type integer."),
    ],
    ids=["misspelt", "wrong type"],
)
def test_discover_refuses_a_config_a_sync_refuses(
    run_tap: Callable[..., TapRun], tmp_path: Path, setting: dict[str, Any], sentence: str
) -> None:
    with sandbox(seed=73, surveys=2, responses=3) as handle:
        discover = _discover(tmp_path, token_config(handle, **setting))
        sync = run_tap(token_config(handle, **setting))
    for run in (discover, sync):
        assert run.returncode == 1
        assert [line.split("| ", 3)[-1] for line in run.error_lines()] == [sentence]
        assert run.stdout == "" and "Traceback" not in run.stderr


def test_discover_refuses_a_config_without_credentials(tmp_path: Path) -> None:
    run = _discover(tmp_path, {"data_center": "iad1", "start_date": "2024-01-01"})
    assert run.returncode == 1
    assert [line.split("| ", 3)[-1] for line in run.error_lines()] == [
        "No Qualtrics credentials: set api_token, or client_id and client_secret."
    ]
    assert run.stdout == ""


def test_discover_with_a_valid_config_prints_the_catalog_without_a_request(
    tmp_path: Path,
) -> None:
    with sandbox(seed=74, surveys=2, responses=3) as handle:
        handle.reset_stats()
        run = _discover(tmp_path, token_config(handle))
        requests_made = handle.stats()["total_requests"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert requests_made == 0
    assert run.error_lines() == []
    assert len(json.loads(run.stdout)["streams"]) == STREAM_COUNT


@pytest.mark.parametrize("config", [None, {}], ids=["no --config", "empty config"])
def test_discover_without_any_config_prints_the_catalog(
    tmp_path: Path, config: dict[str, Any] | None
) -> None:
    """What `meltano select --list` on a project with no settings yet, and catalog tooling, rely on."""
    run = _discover(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.error_lines() == []
    assert len(json.loads(run.stdout)["streams"]) == STREAM_COUNT
