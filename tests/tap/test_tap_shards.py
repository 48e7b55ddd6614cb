"""Shards in this process against the sandbox over HTTP: N shards together emit exactly what one run emits,
each record once; the account-wide streams come from shard 0 only; a shard activates no table it reads only
part of, and records its complete reads instead; after growing from 3 to 4 shards, every shard keeps the
bookmarks of the surveys it kept and the new shard syncs the ones that moved to it in full."""

from __future__ import annotations

from typing import Any

import pytest
from support.tap import every_stream_selected, give_every_stream_records, sandbox, token_config
from support.taprun import FAST_SETTINGS, TapRun, run_tap_in_process

from tap_qualtrics.shards import shard_of
from tap_qualtrics.table_versions import COMPLETE_READ_KEY
from tap_qualtrics.tap import TapQualtrics

#: seed 2 with 5 surveys: every shard of 3 owns a survey, the directories go to shards 1 and 2, and with 4
#: shards one survey and one directory move to shard 3 (asserted below)
ACCOUNT = {"seed": 2, "surveys": 5, "responses": 4, "users": 6}
ACCOUNT_WIDE = {"users", "groups", "divisions", "directories"}
#: streams every shard reads part of, read in full each run
SPLIT_FULL_TABLE = {
    "mailing_lists",
    "mailing_list_contacts",
    "distribution_contacts",
    "responses_in_progress",
    "response_in_progress_answers",
    "response_in_progress_embedded_data",
}
#: values that are the time of the run that made them
RUN_TIME = {
    "response_deletion_checks": {"checked_at", "recorded_before"},
    "live_response_ids": {"checked_at"},
}
KEYS = {
    name: tuple(stream.primary_keys or ())
    for name, stream in TapQualtrics(config={}, validate_config=False).streams.items()
}


def _comparable(stream: str, record: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    drop = RUN_TIME.get(stream, set())
    return tuple(sorted((k, repr(v)) for k, v in record.items() if k not in drop))


def _keys(stream: str, records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(record[key] for key in KEYS[stream]) for record in records]


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    """One full run and the three shard runs of the same account; then four shards, from the states of
    the three (the fourth from none)."""
    with sandbox(**ACCOUNT) as handle:
        give_every_stream_records(handle)
        catalog = every_stream_selected()
        full = run_tap_in_process(token_config(handle), catalog=catalog)
        shards: list[TapRun] = []
        requests: list[dict[str, int]] = []
        for index in range(3):
            handle.reset_stats()
            config = token_config(handle, shard={"count": 3, "index": index})
            shards.append(run_tap_in_process(config, catalog=catalog))
            requests.append(dict(handle.stats()["requests"]))
        regrown = [
            run_tap_in_process(
                token_config(handle, shard={"count": 4, "index": index}),
                catalog=catalog,
                state=shards[index].final_state if index < 3 else None,
            )
            for index in range(4)
        ]
        truth = handle.truth()
    return {
        "full": full,
        "shards": shards,
        "requests": requests,
        "regrown": regrown,
        "truth": truth,
    }


def test_the_account_splits_as_the_test_needs(runs: dict[str, Any]) -> None:
    surveys, directories = list(runs["truth"]["surveys"]), list(runs["truth"]["contacts"])
    assert {shard_of(s, 3) for s in surveys} == {0, 1, 2}
    assert 3 in {shard_of(s, 4) for s in surveys}
    assert 3 in {shard_of(d, 4) for d in directories}
    assert all(run.ok for run in [runs["full"], *runs["shards"], *runs["regrown"]])


def test_the_shards_together_emit_exactly_what_one_run_emits(runs: dict[str, Any]) -> None:
    full: TapRun = runs["full"]
    shards: list[TapRun] = runs["shards"]
    expected = full.records_by_stream()
    assert set(expected) == set(KEYS)  # every stream has records: the comparison covers them all
    for stream, records in expected.items():
        parts = [shard.records(stream) for shard in shards]
        union = sorted(_comparable(stream, r) for part in parts for r in part)
        assert union == sorted(_comparable(stream, r) for r in records), stream
        # each record once: no key in two shards
        keys = [key for part in parts for key in _keys(stream, part)]
        assert len(keys) == len(set(keys)), stream


def test_each_survey_and_directory_is_read_by_its_shard(runs: dict[str, Any]) -> None:
    for index, shard in enumerate(runs["shards"]):
        surveys = {s for s in runs["truth"]["surveys"] if shard_of(s, 3) == index}
        assert {r["survey_id"] for r in shard.records("surveys")} == surveys
        assert set(shard.response_bookmarks()) == surveys
        assert set(shard.bookmarks("distributions", "survey_id")) == surveys
        assert set(shard.bookmarks("contacts", "directory_id")) == {
            d for d in runs["truth"]["contacts"] if shard_of(d, 3) == index
        }


def test_account_wide_streams_come_from_shard_0_only(runs: dict[str, Any]) -> None:
    shards: list[TapRun] = runs["shards"]
    assert set(shards[0].records_by_stream()) >= ACCOUNT_WIDE
    for shard, requests in zip(shards[1:], runs["requests"][1:], strict=True):
        assert not ACCOUNT_WIDE & set(shard.records_by_stream())
        assert not [m for m in shard.messages if m.get("stream") in ACCOUNT_WIDE]
        # not even asked for; the directory list is read to find the shard's own directories
        assert not [
            e for e in requests if e.split()[1].startswith(("/users", "/groups", "/divisions"))
        ]


def test_a_shard_activates_only_what_it_reads_whole(runs: dict[str, Any]) -> None:
    for index, shard in enumerate(runs["shards"]):
        activated = {m["stream"] for m in shard.messages if m["type"] == "ACTIVATE_VERSION"}
        assert activated == (ACCOUNT_WIDE if index == 0 else set())
        # the streams it reads part of: its complete read, with its version and the shard count, in its state
        bookmarks = shard.final_state["bookmarks"]
        noted = {s: b[COMPLETE_READ_KEY] for s, b in bookmarks.items() if COMPLETE_READ_KEY in b}
        read = {"table_version": shard.tap.initialized_at, "shard_count": 3}
        assert set(noted) == SPLIT_FULL_TABLE
        assert all(value == read for value in noted.values())
        # and its records carry that version
        versions = {
            m.get("version")
            for m in shard.messages
            if m["type"] == "RECORD" and m["stream"] in SPLIT_FULL_TABLE
        }
        assert versions == {shard.tap.initialized_at}


def test_a_part_not_read_completely_is_not_noted() -> None:
    """Mailing-list members refused: shard 2 notes its complete read of the lists, not of the members."""
    scopes = [
        "read:surveys",
        "read:survey_responses",
        "read:directories",
        "read:directory_contacts",
        "read:mailing_lists",
        "read:distributions",
    ]
    with sandbox(**ACCOUNT, client_scopes=tuple(scopes)) as handle:
        config = {
            "client_id": handle.client_id,
            "client_secret": handle.client_secret,
            "base_url": handle.base_url,
            "oauth_scopes": scopes,
            **FAST_SETTINGS,
            "shard": {"count": 3, "index": 2},
        }
        run = run_tap_in_process(config, catalog=every_stream_selected())
    assert "mailing_list_contacts" in run.failure_summary
    bookmarks = run.final_state["bookmarks"]
    assert COMPLETE_READ_KEY in bookmarks["mailing_lists"]
    assert COMPLETE_READ_KEY not in bookmarks.get("mailing_list_contacts", {})
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


def test_four_shards_from_three_keep_their_bookmarks(runs: dict[str, Any]) -> None:
    """Nothing changed since the three shards ran: shards 0-2 of four, on their old states, export no
    response again; shard 3 has no state and syncs the surveys and directory that moved to it, in full."""
    regrown: list[TapRun] = runs["regrown"]
    truth = runs["truth"]
    moved = {s for s in truth["surveys"] if shard_of(s, 4) == 3}
    for index in range(3):
        assert regrown[index].records("responses") == []
        assert regrown[index].records("contacts") == []
    assert {r["survey_id"] for r in regrown[3].records("responses")} == moved
    assert len(regrown[3].records("responses")) == sum(
        len(truth["surveys"][s]["responses"]) for s in moved
    )
    assert {r["directory_id"] for r in regrown[3].records("contacts")} == {
        d for d in truth["contacts"] if shard_of(d, 4) == 3
    }
    # the streams read in full: the four shards together read them all again, each record once
    full: TapRun = runs["full"]
    for stream in SPLIT_FULL_TABLE:
        parts = [_keys(stream, shard.records(stream)) for shard in regrown]
        keys = [key for part in parts for key in part]
        assert sorted(keys) == sorted(_keys(stream, full.records(stream))), stream
