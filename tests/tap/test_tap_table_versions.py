"""Streams read in full each run end with ACTIVATE_VERSION, so a target can drop what is gone; a stream
that was not read completely sends none (its rows must not be marked deleted on a partial read)."""

from __future__ import annotations

from typing import Any

from support.directory import ACCOUNT_STREAMS, TapRun, sandbox, sync, token_config

#: The streams every run re-reads in full, and nothing else.
READ_IN_FULL = {
    "users",
    "directories",
    "mailing_lists",
    "mailing_list_contacts",
    "distribution_contacts",
    "groups",
    "divisions",
}
SELECTED = (*ACCOUNT_STREAMS, "users", "surveys", "questions", "responses")
SURVEY_SCOPES = ["read:surveys", "read:survey_responses", "read:users", "read:distributions"]


def _activations(run: TapRun) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for message in run.messages:
        if message["type"] == "ACTIVATE_VERSION":
            out.setdefault(message["stream"], []).append(message["version"])
    return out


def _record_versions(run: TapRun) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            out.setdefault(message["stream"], set()).add(message.get("version"))
    return out


def test_each_full_table_stream_is_activated_once_after_its_last_record() -> None:
    with sandbox(seed=8) as handle:
        run = sync(token_config(handle), streams=SELECTED)
    assert not run.failures, run.failures.summary()
    version = run.tap.initialized_at

    assert _activations(run) == {stream: [version] for stream in READ_IN_FULL}
    versions = _record_versions(run)
    assert {stream for stream in READ_IN_FULL if versions.get(stream) == {version}} == READ_IN_FULL
    # streams that are not re-read in full carry no version: their rows are never activated away
    assert {
        stream: stamped
        for stream, stamped in versions.items()
        if stream not in READ_IN_FULL and stamped != {None}
    } == {}

    for index, message in enumerate(run.messages):
        if message["type"] != "ACTIVATE_VERSION":
            continue
        stream = message["stream"]
        # the target has seen the stream's SCHEMA, and no record of the stream follows the activation
        assert run.messages[index - 1] == {**run.messages[index - 1], "type": "SCHEMA"}
        assert run.messages[index - 1]["stream"] == stream
        assert not [
            m for m in run.messages[index:] if m["type"] == "RECORD" and m["stream"] == stream
        ]


def test_a_stream_not_read_completely_is_not_activated() -> None:
    """Members refused: the lists are activated, their members are not; lists refused: neither is
    (the members of lists that could not be listed were not read)."""
    members_refused = [*SURVEY_SCOPES, "read:directories", "read:mailing_lists"]
    lists_refused = [*SURVEY_SCOPES, "read:directories", "read:mailing_list_contacts"]
    streams = ("directories", "mailing_lists", "mailing_list_contacts", "users")
    runs = {}
    for name, scopes in (("members", members_refused), ("lists", lists_refused)):
        with sandbox(seed=14, client_scopes=tuple(scopes)) as handle:
            config = {
                "client_id": handle.client_id,
                "client_secret": handle.client_secret,
                "base_url": handle.base_url,
                **token_config(handle),
                "oauth_scopes": scopes,
            }
            del config["api_token"]
            runs[name] = sync(config, streams=streams)

    assert runs["members"].records("mailing_lists")
    assert set(_activations(runs["members"])) == {"directories", "mailing_lists", "users"}
    assert set(_activations(runs["lists"])) == {"directories", "users"}
    for run in runs.values():
        [warning] = [m for m in run.log_messages if "are not marked as deleted" in m]
        assert warning.startswith("Rows removed from mailing_list")


def test_the_setting_turns_activation_off() -> None:
    with sandbox(seed=8) as handle:
        run = sync(
            token_config(handle, emit_activate_version_messages=False),
            streams=("users", "groups"),
        )
    assert run.records("users")
    assert _activations(run) == {}
