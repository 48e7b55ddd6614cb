"""One output channel: no message overtakes one written before it, and a STATE never precedes a record it covers."""

from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from singer_sdk.singerlib import SchemaMessage, StateMessage
from support.tap import sandbox, selected_catalog, token_config
from support.taprun import run_tap_process

from tap_qualtrics.output import TapMessageWriter, flush_all

CHILDREN = ("response_answers", "response_embedded_data")


def _stdout() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def _lines(out: io.TextIOWrapper) -> list[dict[str, Any]]:
    out.flush()
    return [json.loads(line) for line in out.buffer.getvalue().decode().splitlines()]


def test_a_state_sends_every_message_before_it_in_the_order_written() -> None:
    writer = TapMessageWriter()
    out = _stdout()
    with redirect_stdout(out):
        writer.write_message(SchemaMessage("a", {"type": "object"}, ["id"]))
        writer.write_records("a", [{"id": 1}, {"id": 2}], version=7)
        writer.write_message(SchemaMessage("b", {"type": "object"}, ["id"]))
        writer.write_records("b", [{"id": 3}])
        assert _lines(out) == []  # records and schemas wait in the buffer
        writer.write_message(StateMessage({"bookmarks": {"a": 2}}))
        written = _lines(out)
        writer.write_records("a", [{"id": 4}])
        assert len(_lines(out)) == len(written)  # a record after the STATE waits for the next flush
        writer.flush()
        everything = _lines(out)
    kinds = [(m["type"], m.get("stream"), m.get("record", {}).get("id")) for m in everything]
    assert kinds == [
        ("SCHEMA", "a", None),
        ("RECORD", "a", 1),
        ("RECORD", "a", 2),
        ("SCHEMA", "b", None),
        ("RECORD", "b", 3),
        ("STATE", None, None),
        ("RECORD", "a", 4),
    ]
    assert written == everything[:6]
    assert {m.get("version") for m in everything[1:3]} == {7}
    assert all(m["time_extracted"].endswith("Z") for m in everything if m["type"] == "RECORD")


def test_full_blocks_go_out_in_order_without_waiting_for_a_state() -> None:
    writer = TapMessageWriter()
    writer.BLOCK_BYTES = 200
    out = _stdout()
    with redirect_stdout(out):
        writer.write_records("a", [{"id": n, "pad": "x" * 40} for n in range(3)])
        early = _lines(out)
        writer.write_message(StateMessage({"bookmarks": {}}))
        everything = _lines(out)
    assert [m["record"]["id"] for m in early] == [0, 1, 2]
    assert [m["type"] for m in everything] == ["RECORD"] * 3 + ["STATE"]


def _bookmarks(state: dict[str, Any]) -> dict[str, str]:
    partitions = state.get("bookmarks", {}).get("responses", {}).get("partitions", [])
    return {
        p["context"]["survey_id"]: p["replication_key_value"]
        for p in partitions
        if p.get("replication_key_value")
    }


def test_no_state_precedes_a_record_it_covers_through_a_real_sync(tmp_path: Path) -> None:
    """Every response and every row of it is out before the first STATE whose bookmark passes it, and a
    response's rows come before the response."""
    with sandbox(seed=61, surveys=4, responses=30, questions=12) as handle:
        config = token_config(handle)
        catalog = selected_catalog(["responses", *CHILDREN])
        (tmp_path / "work").mkdir()
        run = run_tap_process(config, tmp_path / "work", catalog=catalog)
        truth = handle.truth()
    assert run.returncode == 0, run.stderr[-2000:]
    covered: dict[str, str] = {}  # survey -> the highest bookmark a STATE so far has written
    rows_seen: set[str] = set()
    responses: dict[str, str] = {}
    for message in run.messages:
        if message["type"] == "STATE":
            covered.update(_bookmarks(message["value"]))
        elif message["type"] == "RECORD" and message["stream"] in CHILDREN:
            rows_seen.add(message["record"]["response_id"])
        elif message["type"] == "RECORD" and message["stream"] == "responses":
            record = message["record"]
            bookmark = covered.get(record["survey_id"])
            assert bookmark is None or bookmark <= record["last_modified_date"], record[
                "response_id"
            ]
            assert record["response_id"] in rows_seen  # its rows went first
            responses[record["response_id"]] = record["survey_id"]
    expected = {r: s for s, survey in truth["surveys"].items() for r in survey["responses"]}
    assert responses == expected
    assert set(covered) == set(truth["surveys"])  # the run ended with every survey bookmarked

    # every stream reports its records in record_count metrics, the answer streams included
    written = Counter(m["stream"] for m in run.messages if m["type"] == "RECORD")
    assert set(written) == {"responses", *CHILDREN}
    assert _counted(run.stderr) == dict(written)


def _counted(log: str) -> dict[str, int]:
    counted: Counter[str] = Counter()
    for line in log.splitlines():
        if "METRIC: " in line:
            point = json.loads(line.split("METRIC: ", 1)[1])
            if point["metric"] == "record_count":
                counted[point["tags"]["stream"]] += point["value"]
    return dict(counted)


def test_records_that_no_state_follows_go_out_when_the_run_ends() -> None:
    """The tap calls ``flush_all`` when the SDK's sync returns and at exit: records after the last STATE
    (a stream whose sync changed no state) are written too."""
    writer = TapMessageWriter()
    out = _stdout()
    with redirect_stdout(out):
        writer.write_message(StateMessage({"bookmarks": {}}))
        writer.write_records("users", [{"id": 1}, {"id": 2}])
        assert [m["type"] for m in _lines(out)] == ["STATE"]
        flush_all()
        everything = _lines(out)
    assert [(m["type"], m.get("record", {}).get("id")) for m in everything] == [
        ("STATE", None),
        ("RECORD", 1),
        ("RECORD", 2),
    ]


def test_completed_surveys_send_a_state_at_most_every_few_seconds(monkeypatch: Any) -> None:
    """Each STATE holds every survey's bookmark: one per survey made a run write surveys x state bytes. Within
    the interval the bookmarks still move (the final STATE has them all); with no interval, one per survey."""
    from support.taprun import run_tap_in_process

    from tap_qualtrics.streams.responses import ResponsesStream

    def run(interval: float) -> tuple[int, dict[str, Any]]:
        monkeypatch.setattr(ResponsesStream, "STATE_INTERVAL_SECONDS", interval)
        with sandbox(seed=7, surveys=6, responses=4) as handle:
            config = token_config(handle, export_safety_lag_seconds=0)
            done = run_tap_in_process(config, catalog=selected_catalog(["responses"]))
            surveys = handle.truth()["surveys"]
        states = [m["value"] for m in done.messages if m["type"] == "STATE"]
        assert set(_bookmarks(states[-1])) == set(surveys)
        return len(states), states[-1]

    held, _ = run(3600.0)
    each, _ = run(0.0)
    assert held <= 2  # the first completed survey's, and the stream's final one
    assert each >= 6
