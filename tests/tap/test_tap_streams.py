"""Stream behaviour in process: resumable response bookmarks, paging links, record shapes."""

from __future__ import annotations

import copy
import json
from contextlib import suppress
from typing import Any
from urllib.parse import urlparse

import pytest
from singer_sdk.exceptions import AbortedSyncPausedException
from singer_sdk.streams.rest import PageContext
from support.tap import sandbox, token_config

from tap_qualtrics.model.response_records import response_record
from tap_qualtrics.model.structure import question_placements
from tap_qualtrics.tap import TapQualtrics


def _emitted(capsys: pytest.CaptureFixture[str], stream: str) -> list[dict[str, Any]]:
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    return [m["record"] for m in lines if m["type"] == "RECORD" and m["stream"] == stream]


def test_interrupted_response_sync_resumes_where_it_stopped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sandbox(seed=61, surveys=1, responses=20) as handle:
        (survey_id,) = handle.truth()["surveys"]
        config = token_config(handle)

        first_tap = TapQualtrics(config=config)
        responses = first_tap.streams["responses"]
        responses.ABORT_AT_RECORD_COUNT = 7
        with suppress(AbortedSyncPausedException):  # the SDK's signal for "stopped, resumable"
            responses.sync()
        first = _emitted(capsys, "responses")
        state = copy.deepcopy(first_tap.state)

        second_tap = TapQualtrics(config=config, state=copy.deepcopy(state))
        second_tap.streams["responses"].sync()
        second = _emitted(capsys, "responses")
        truth = handle.truth()["surveys"][survey_id]["responses"]

    assert len(first) == 7
    (partition,) = state["bookmarks"]["responses"]["partitions"]
    assert partition["replication_key_value"] == first[-1]["last_modified_date"]
    assert all(r["last_modified_date"] >= partition["replication_key_value"] for r in second)
    assert {r["response_id"] for r in first + second} == set(truth)
    assert len(second) < len(truth)  # resumed, not restarted


def test_next_page_link_is_followed_verbatim_on_the_configured_host() -> None:
    with sandbox(seed=62, surveys=1, responses=1) as handle:
        stream = TapQualtrics(config=token_config(handle)).streams["users"]
        link = urlparse("https://elsewhere.qualtrics.com/API/v3/users?offset=100&pageSize=100")
        request = stream.get_http_request(
            page=PageContext(stream_context=None, next_page_token=link)
        )
    assert request.params == {}
    assert request.url == f"{handle.base_url}/API/v3/users?offset=100&pageSize=100"


def test_response_record_types_metadata_and_keeps_answers() -> None:
    exported = {
        "responseId": "R_1",
        "values": {
            "recordedDate": "2024-05-01T10:00:00.5Z",
            "startDate": "2024-05-01T09:58:00Z",
            "endDate": "",
            "status": 0,
            "finished": 1,
            "progress": "100",
            "duration": 120,
            "locationLatitude": "40.3941955566",
            "LastModifiedDate": "2024-05-02T00:00:00.123Z",
            "QID1": 3,
            "QID2": ["1", "2"],
        },
        "labels": {"QID1": "Good"},
        "displayedFields": ["QID1", "QID2"],
        "displayedValues": {"QID1": [1, 2, 3]},
    }
    record = response_record("SV_1", exported)
    assert record is not None
    assert record["recorded_date"] == "2024-05-01T10:00:00.500000Z"
    assert record["end_date"] is None
    assert record["last_modified_date"] == "2024-05-02T00:00:00.123000Z"
    assert record["finished"] is True and record["progress"] == 100
    assert str(record["location_latitude"]) == "40.3941955566"
    assert record["values"]["QID2"] == ["1", "2"] and record["labels"] == {"QID1": "Good"}
    assert response_record("SV_1", {"values": {}}) is None  # no ID: not a response


def test_question_placement_marks_the_trash_block() -> None:
    blocks = {
        "BL_a": {
            "Type": "Standard",
            "ID": "BL_a",
            "BlockElements": [
                {"Type": "Question", "QuestionID": "QID1"},
                {"Type": "Page Break"},
                {"Type": "Question", "QuestionID": "QID2"},
            ],
        },
        "BL_t": {
            "Type": "Trash",
            "ID": "BL_t",
            "BlockElements": [{"Type": "Question", "QuestionID": "QID3"}],
        },
    }
    placements = question_placements(blocks)
    assert (
        placements["QID2"].block_id,
        placements["QID2"].position,
        placements["QID2"].is_trashed,
    ) == (
        "BL_a",
        2,
        False,
    )
    assert placements["QID3"].is_trashed
