"""Contact search cannot page past a depth limit (10,000 in Qualtrics): the tap splits the time window
instead of truncating, and refuses loudly what no window can hold."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from support.directory import FIRST_RUN_LAG, norm, sandbox, stamp_changes_after, sync, token_config

from tap_qualtrics.streams import directory


def _limit_search_depth(handle: Any, depth: int) -> None:
    response = requests.post(
        handle.url("/_sandbox/limits"), json={"contact_search_depth": depth}, timeout=10
    )
    assert response.json()["contact_search_depth"] == depth


def _search_statuses(handle: Any) -> dict[str, int]:
    return handle.stats()["statuses"].get("POST /directories/{directoryId}/contacts/search", {})


def test_windows_split_until_every_search_fits() -> None:
    with sandbox(seed=12) as handle:
        _limit_search_depth(handle, 25)
        run = sync(token_config(handle, page_size=10), streams=("contacts",))
        truth = handle.truth()["contacts"]
        statuses = _search_statuses(handle)
    assert not run.failures, run.failures.summary()
    records = run.records("contacts")
    assert len(records) == len({(r["directory_id"], r["contact_id"]) for r in records})
    assert {(r["directory_id"], r["contact_id"]): r["last_modified"] for r in records} == {
        (did, cid): norm(modified)
        for did, contacts in truth.items()
        for cid, modified in contacts.items()
    }
    assert max(len(c) for c in truth.values()) > 4 * 25  # the big directory needed several windows
    assert statuses.get("400", 0) >= 1  # the depth limit was hit, and answered by splitting
    for did in truth:  # emitted in time order within each directory
        stamps = [r["last_modified"] for r in records if r["directory_id"] == did]
        assert stamps == sorted(stamps)


def test_the_tap_stops_at_the_documented_depth_without_asking_for_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(directory, "SEARCH_DEPTH_LIMIT", 30)
    with sandbox(seed=12) as handle:
        run = sync(token_config(handle, page_size=10), streams=("contacts",))
        truth = handle.truth()["contacts"]
        statuses = _search_statuses(handle)
    assert set(statuses) == {"200"}  # never paged into a 400
    assert {(r["directory_id"], r["contact_id"]) for r in run.records("contacts")} == {
        (did, cid) for did, contacts in truth.items() for cid in contacts
    }


def test_more_contacts_than_the_depth_in_one_millisecond_fail_that_directory_only() -> None:
    with sandbox(seed=13) as handle:
        config = token_config(handle, page_size=10)
        first = sync({**config, **FIRST_RUN_LAG}, streams=("contacts", "groups"))
        edge = first.tap.run.export_window_end
        default, panel = list(handle.truth()["directories"])
        stamp_changes_after(handle, edge)
        bulk = handle.mutate({"directory_id": default, "add_contacts": 30})  # one stamp for all 30
        single = handle.mutate({"directory_id": panel, "add_contacts": 1})
        _limit_search_depth(handle, 25)
        bulk_stamp = norm(handle.truth()["contacts"][default][bulk["added_contacts"][0]])
        second = sync(config, state=first.final_state, streams=("contacts", "groups"))
    assert len(bulk["added_contacts"]) == 30
    assert {r["contact_id"] for r in second.records("contacts")} == set(single["added_contacts"])
    assert len(second.records("groups")) == 4  # the other streams went on
    summary = second.failures.summary()
    assert "contacts" in summary and default in summary and panel not in summary
    assert "within one millisecond" in summary and "than contact search can page through" in summary
    bookmarks = second.bookmarks("contacts", "directory_id")
    # the windows before the crowded millisecond finished; the next run starts at that millisecond
    assert edge < bookmarks[default] == bulk_stamp
    assert bookmarks[panel] == second.tap.run.export_window_end
