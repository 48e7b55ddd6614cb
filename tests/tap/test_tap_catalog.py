"""The catalog says how each stream replicates, as a Meltano user (or a target) reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.tap import sandbox, selected_catalog, token_config
from support.taprun import run_tap_process

from tap_qualtrics.tap import TapQualtrics


def _entry(catalog: dict[str, Any], stream: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (entry,) = [e for e in catalog["streams"] if e["tap_stream_id"] == stream]
    (root,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
    return entry, root


def test_response_children_are_incremental_on_the_responses_key() -> None:
    """response_answers and response_embedded_data carry the last-modified date of their response and are
    written for exactly the responses that ``responses`` exports since its bookmark: INCREMENTAL on
    ``last_modified_date``, like ``responses`` (not FULL_TABLE)."""
    catalog = TapQualtrics(config={}, validate_config=False).catalog_dict
    responses, responses_meta = _entry(catalog, "responses")
    for stream in ("response_answers", "response_embedded_data"):
        entry, meta = _entry(catalog, stream)
        assert entry["replication_method"] == responses["replication_method"] == "INCREMENTAL"
        assert entry["replication_key"] == responses["replication_key"] == "last_modified_date"
        assert meta["replication-key"] == responses_meta["replication-key"]
        assert meta["valid-replication-keys"] == ["last_modified_date"]
        assert meta.get("forced-replication-method") in (None, "INCREMENTAL")
        key = entry["schema"]["properties"]["last_modified_date"]
        assert key["format"] == "date-time"


def test_response_children_sync_with_the_incremental_catalog(tmp_path: Path) -> None:
    """The catalog Meltano passes back (INCREMENTAL children) syncs; every row carries a last-modified date
    at or before its response's, the STATE keeps the bookmark under responses only, and the SCHEMA names the key."""
    catalog = selected_catalog(["responses", "response_answers", "response_embedded_data"])
    with sandbox(seed=61, surveys=2, responses=4) as handle:
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        run = run_tap_process(token_config(handle), workdir, catalog=catalog)
    assert run.returncode == 0, run.stderr[-3000:]
    modified = {r["response_id"]: r["last_modified_date"] for r in run.records("responses")}
    answers = run.records("response_answers")
    embedded = run.records("response_embedded_data")
    assert answers and embedded
    for row in answers + embedded:
        assert row["last_modified_date"] == modified[row["response_id"]]
    bookmarks = run.final_state["bookmarks"]
    assert bookmarks["responses"]["partitions"]
    for stream in ("response_answers", "response_embedded_data"):
        assert bookmarks.get(stream, {}) == {}  # the bookmark is the one of responses
    schemas = {m["stream"]: m for m in run.messages if m["type"] == "SCHEMA"}
    for stream in ("response_answers", "response_embedded_data"):
        assert schemas[stream]["bookmark_properties"] == ["last_modified_date"]
