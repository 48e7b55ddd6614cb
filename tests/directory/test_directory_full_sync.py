"""A first sync of every account stream delivers exactly the sandbox's truth, page by page."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.directory import (
    ACCOUNT_STREAMS,
    TapRun,
    assert_no_side_effect_endpoint,
    norm,
    requests_by_endpoint,
    sandbox,
    sync,
    token_config,
)

PAGE_SIZE = 7


@pytest.fixture(scope="module")
def first_sync() -> Iterator[tuple[Any, TapRun, dict[str, Any]]]:
    with sandbox(seed=8) as handle:
        run = sync(token_config(handle, page_size=PAGE_SIZE))
        yield handle, run, handle.truth()


def test_every_account_stream_matches_the_truth(
    first_sync: tuple[Any, TapRun, dict[str, Any]],
) -> None:
    _, run, truth = first_sync
    assert not run.failures, run.failures.summary()
    assert {r["directory_id"] for r in run.records("directories")} == set(truth["directories"])
    assert {
        (r["directory_id"], r["contact_id"]): r["last_modified"] for r in run.records("contacts")
    } == {
        (did, cid): norm(modified)
        for did, contacts in truth["contacts"].items()
        for cid, modified in contacts.items()
    }
    assert {(r["directory_id"], r["mailing_list_id"]) for r in run.records("mailing_lists")} == {
        (did, mlid) for did, lists in truth["directory_mailing_lists"].items() for mlid in lists
    }
    assert {
        (r["mailing_list_id"], r["contact_id"]): r["contact_lookup_id"]
        for r in run.records("mailing_list_contacts")
    } == {
        (mlid, cid): lookup
        for mlid, members in truth["mailing_list_members"].items()
        for cid, lookup in members.items()
    }
    expected_distributions = {
        (sid, dist) for sid, dists in truth["distributions"].items() for dist in dists
    }
    assert {
        (r["survey_id"], r["distribution_id"]) for r in run.records("distributions")
    } == expected_distributions
    assert {r["distribution_id"]: r["modified_date"] for r in run.records("distributions")} == {
        dist: norm(modified) for dist, modified in truth["distribution_modified"].items()
    }
    assert sorted(
        (r["distribution_id"], r["contact_id"], r["contact_lookup_id"])
        for r in run.records("distribution_contacts")
    ) == sorted(
        (dist, cid, lookup)
        for dist, rows in truth["distribution_contacts"].items()
        for cid, lookup in rows
    )
    assert [r["group_id"] for r in run.records("groups")] == truth["groups"]
    assert [r["division_id"] for r in run.records("divisions")] == truth["divisions"]


def test_no_record_is_emitted_twice(first_sync: tuple[Any, TapRun, dict[str, Any]]) -> None:
    _, run, _ = first_sync
    for stream in ACCOUNT_STREAMS:
        keys = run.tap.streams[stream].primary_keys
        counts = Counter(tuple(r[k] for k in keys) for r in run.records(stream))
        assert counts and max(counts.values()) == 1, stream


def test_records_carry_typed_values(first_sync: tuple[Any, TapRun, dict[str, Any]]) -> None:
    handle, run, _ = first_sync
    account = handle.account
    contact = next(
        c for c in account.contacts[account.directories[0]["directoryId"]] if c["unsubscribed"]
    )
    record = next(r for r in run.records("contacts") if r["contact_id"] == contact["contactId"])
    details = account.contact_details[contact["contactId"]]
    assert (
        record["directory_unsubscribed"] is True
        and record["directory_unsubscribe_date"] is not None
    )
    assert record["embedded_data"] == details["embeddedData"]
    assert record["email_domain"] == contact["email"].split("@")[1]
    assert record["creation_date"] <= record["last_modified"]
    dist = run.records("distributions")[0]
    assert isinstance(dist["stats"]["sent"], int) and dist["headers"]["fromEmail"]
    assert dist["mailing_list_id"] == dist["recipients"]["mailingListId"]
    finished = [r for r in run.records("distribution_contacts") if r["response_id"]]
    assert finished and all(r["response_completed_at"] > r["response_started_at"] for r in finished)
    assert all(
        r["last_modified"].endswith("Z") and len(r["last_modified"]) == 27
        for r in run.records("contacts")
    )


def test_lists_are_read_page_by_page_within_each_maximum(
    first_sync: tuple[Any, TapRun, dict[str, Any]],
) -> None:
    handle, _, truth = first_sync
    endpoints = requests_by_endpoint(handle)

    def pages(n: int) -> int:  # skipToken lists: nextPage only while items remain
        return max(1, math.ceil(n / PAGE_SIZE))

    members = truth["mailing_list_members"]
    assert endpoints["GET /directories/{directoryId}/mailinglists/{mailingListId}/contacts"] == sum(
        pages(len(m)) for m in members.values()
    )
    assert endpoints["GET /distributions/{distributionId}/history"] == sum(
        pages(len(rows)) for rows in truth["distribution_contacts"].values()
    )
    # contact search: a full page always carries a skipToken, so a last full page costs one more request
    assert endpoints["POST /directories/{directoryId}/contacts/search"] == sum(
        len(contacts) // PAGE_SIZE + 1 for contacts in truth["contacts"].values()
    )
    assert (
        max(len(m) for m in members.values()) > 50
        and max(len(c) for c in truth["contacts"].values()) > 100
    )
    statuses = handle.stats()["statuses"]
    assert all(set(codes) == {"200"} or set(codes) == {200} for codes in statuses.values()), (
        statuses
    )


def test_no_endpoint_with_side_effects_was_called(
    first_sync: tuple[Any, TapRun, dict[str, Any]],
) -> None:
    handle, _, _ = first_sync
    assert_no_side_effect_endpoint(handle)


def test_bookmarks_are_the_window_end(first_sync: tuple[Any, TapRun, dict[str, Any]]) -> None:
    _, run, truth = first_sync
    edge = run.tap.run.export_window_end
    assert run.bookmarks("contacts", "directory_id") == dict.fromkeys(truth["directories"], edge)
    assert run.bookmarks("distributions", "survey_id") == dict.fromkeys(truth["surveys"], edge)
    assert "partitions" not in run.final_state["bookmarks"].get("distribution_contacts", {})
