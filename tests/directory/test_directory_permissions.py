"""Credentials without directory or admin permission: each refused stream fails with one sentence
naming the missing scope, the other streams are synced, and the run ends non-zero naming them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.directory import FAST_SETTINGS, catalog_selecting, sandbox, sync
from support.taprun import TapRun, run_tap_process

from tap_qualtrics.tap import TapQualtrics

SURVEY_SCOPES = ["read:surveys", "read:survey_responses", "read:users", "read:distributions"]


def _oauth_config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": handle.client_id,
        "client_secret": handle.client_secret,
        "base_url": handle.base_url,
        **FAST_SETTINGS,
        **overrides,
    }


def _run_process(tmp_path: Path, config: dict[str, Any], catalog: dict[str, Any]) -> TapRun:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    return run_tap_process(config, workdir, catalog=catalog)


def test_refused_streams_fail_with_one_sentence_and_the_run_goes_on(tmp_path: Path) -> None:
    with sandbox(seed=14, client_scopes=tuple(SURVEY_SCOPES)) as handle:
        config = _oauth_config(handle, oauth_scopes=SURVEY_SCOPES)
        streams = [
            "users",
            "directories",
            "contacts",
            "mailing_lists",
            "mailing_list_contacts",
            "distributions",
            "groups",
            "divisions",
        ]
        done = _run_process(tmp_path, config, catalog_selecting(config, streams))
        truth = handle.truth()

    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    records: dict[str, list[dict[str, Any]]] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    assert {r["distribution_id"] for r in records["distributions"]} == {
        d for dists in truth["distributions"].values() for d in dists
    }
    assert len(records["users"]) == len(truth["users"])
    assert not {
        "directories",
        "contacts",
        "mailing_lists",
        "mailing_list_contacts",
        "groups",
        "divisions",
    } & set(records)

    errors = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    expected = {
        "directories": "read:directories",
        "contacts": "read:directories",  # it could not list the directories to partition by
        "mailing_lists": "read:directories",
        "groups": "read:groups",
        "divisions": "read:divisions",
    }
    for stream, scope in expected.items():
        [line] = [e for e in errors if f"Stream {stream} was not synced this run" in e]
        assert (
            f"the OAuth client needs the {scope} scope" in line
            and f"deselect the {stream} stream" in line
        )
        assert "HTTP 403" in line
    summary = errors[-1]
    assert all(stream in summary for stream in expected), summary
    assert handle.client_secret not in done.stderr and handle.client_secret not in done.stdout


def test_a_directory_id_spares_the_directory_list(tmp_path: Path) -> None:
    """With directory_ids, contacts need only read:directory_contacts; the refusal names that scope."""
    scopes = [*SURVEY_SCOPES, "read:directory_contacts"]
    with sandbox(seed=14, client_scopes=tuple(scopes)) as handle:
        panel = handle.account.directories[1]["directoryId"]
        config = _oauth_config(handle, oauth_scopes=scopes, directory_ids=[panel])
        run = sync(config, streams=("contacts", "mailing_list_contacts"))
        truth = handle.truth()
        requested = handle.stats()["requests"]
    assert {r["contact_id"] for r in run.records("contacts")} == set(truth["contacts"][panel])
    assert "GET /directories" not in requested
    summary = run.failures.summary()
    assert "mailing_list_contacts" in summary and "read:mailing_lists" in summary
    assert "contacts:" not in summary.replace("mailing_list_contacts", "")


def test_default_oauth_scopes_are_what_the_selected_streams_need() -> None:
    with sandbox(seed=14) as handle:
        base = _oauth_config(handle)

        def scopes(streams: tuple[str, ...], **overrides: Any) -> tuple[str, ...]:
            config = {**base, **overrides}
            tap = TapQualtrics(config=config, catalog=catalog_selecting(config, streams))
            return tap._required_scopes()

        assert scopes(("contacts",)) == ("read:directories", "read:directory_contacts")
        assert scopes(("contacts",), directory_ids=["POOL_x"]) == ("read:directory_contacts",)
        assert scopes(("mailing_list_contacts",), directory_ids=["POOL_x"]) == (
            "read:mailing_list_contacts",
            "read:mailing_lists",
        )
        assert scopes(("distribution_contacts",)) == ("read:distributions", "read:surveys")
        assert scopes(("groups", "divisions")) == ("read:divisions", "read:groups")
        assert set(
            scopes(
                (
                    "directories",
                    "contacts",
                    "mailing_lists",
                    "mailing_list_contacts",
                    "distributions",
                    "distribution_contacts",
                    "groups",
                    "divisions",
                )
            )
        ) == {
            "read:directories",
            "read:directory_contacts",
            "read:mailing_lists",
            "read:mailing_list_contacts",
            "read:distributions",
            "read:surveys",
            "read:groups",
            "read:divisions",
        }
        # and the sandbox grants exactly these when asked: the sync of every account stream works
        run = sync(base)
        assert not run.failures and run.records("contacts") and run.records("groups")
