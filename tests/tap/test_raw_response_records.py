"""A record built from the exported line (answers kept as the line's JSON text) is the record built from the
parsed response, written; lines the parsed path would change are declined and parsed instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.real_keys import load
from support.tap import sandbox

from bench.sandbox_export import download_export
from tap_qualtrics.exports.engine import export_lines, parse_response
from tap_qualtrics.model.response_records import (
    escapes_to_normalize,
    raw_response_record,
    response_record,
    with_parsed_answers,
)
from tap_qualtrics.output import dumps

REAL_RESPONSES = ("poprox", "rita_asi", "sx_response", "sp_qsf_xml")


def _written(record: dict[str, Any] | None) -> Any:
    """What a target reads: the record as the tap's writer writes it, parsed."""
    return None if record is None else json.loads(dumps(record))


def _parsed_path(line: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    untyped: list[str] = []
    exported = parse_response(line)
    record = None if exported is None else response_record("SV_1", exported, untyped)
    return record, untyped


def _raw_path(line: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    untyped: list[str] = []
    return raw_response_record("SV_1", line, untyped), untyped


def _assert_same_or_declined(line: bytes) -> bool:
    """Whether the raw path built the record (then it equals the parsed path's, warnings included)."""
    raw, raw_untyped = _raw_path(line)
    if raw is None:
        return False
    parsed, parsed_untyped = _parsed_path(line)
    assert _written(raw) == _written(parsed)
    assert raw_untyped == parsed_untyped
    # what the answer rows read: the same objects, types included (exact numbers stay Decimal)
    answered = with_parsed_answers(raw)
    assert parsed is not None
    for key in ("values", "labels", "displayed_fields", "response_id", "last_modified_date"):
        assert repr(answered[key]) == repr(parsed[key]), key
    return True


@pytest.mark.parametrize("name", REAL_RESPONSES)
def test_real_responses_are_built_alike_from_their_line(name: str) -> None:
    for response in load(name, "responses.json"):
        for line in (
            json.dumps(response, ensure_ascii=False).encode(),
            json.dumps(response).encode(),  # non-ASCII as \u escapes
            json.dumps(response, indent=2).encode(),  # whitespace between tokens
        ):
            assert _assert_same_or_declined(line)


def test_every_sandbox_response_takes_the_raw_path_and_matches(tmp_path: Path) -> None:
    with sandbox(seed=41, surveys=2, responses=60, questions=40) as handle:
        surveys = list(handle.truth()["surveys"])
        for survey_id in surveys:
            download_export(handle, survey_id, tmp_path / f"{survey_id}.zip")
    lines = []
    for survey_id in surveys:
        with (tmp_path / f"{survey_id}.zip").open("rb") as spool:
            lines += list(export_lines(spool))
    assert len(lines) >= 100
    assert all(_assert_same_or_declined(line) for line in lines)


BUILT = {
    "exact numbers": b'{"responseId":"R_1","values":{"recordedDate":"2024-01-02T03:04:05Z",'
    b'"QID1":1.10,"QID2":123456789012345678901234567890,"QID3":1e400,"locationLatitude":"35.5"}}',
    "metadata that does not fit": b'{"responseId":"R_1","values":{"recordedDate":"not a date",'
    b'"_lastModifiedDate":"2024-01-02T03:04:05.123Z","duration":99999999999999999999999,'
    b'"finished":"maybe","status":"x"}}',
    "the ID from values": b'{"values":{"_recordId":"R_2","recordedDate":"2024-01-02T03:04:05Z"}}',
    "both external references": b'{"responseId":"R_1","values":{"externalReference":"a",'
    b'"externalDataReference":null,"recordedDate":"2024-01-02T03:04:05Z"}}',
    "a key twice": b'{"responseId":"R_1","values":{"recordedDate":"2020-01-01T00:00:00Z",'
    b'"recordedDate":"2024-01-02T03:04:05Z","QID1":1,"QID1":2}}',
    "labels and displayed values that are not objects": b'{"responseId":"R_1","values":'
    b'{"recordedDate":"2024-01-02T03:04:05Z"},"labels":[1],"displayedValues":"x",'
    b'"displayedFields":null}',
    "escapes kept": b'{"responseId":"R_1","values":{"recordedDate":"2024-01-02T03:04:05Z",'
    b'"QID1_TEXT":"caf\\u00e9 \\"quoted\\" \\\\u0000 \\n"},"labels":{"QID1":"\\u03a9"}}',
    "no responses id at all": b'{"values":{"recordedDate":"2024-01-02T03:04:05Z"}}',
}

DECLINED = {
    "a NUL escape": b'{"responseId":"R_1","values":{"QID1_TEXT":"a\\u0000b"}}',
    "half of a UTF-16 pair": b'{"responseId":"R_1","values":{"QID1_TEXT":"\\ud83d"}}',
    "a whole UTF-16 pair": b'{"responseId":"R_1","values":{"QID1_TEXT":"\\uD83D\\uDE00"}}',
    "bytes that are not UTF-8": b'{"responseId":"R_1","labels":{"QID1":"\xff"},"values":{}}',
    "a raw control character": b'{"responseId":"R_1","values":{"QID1_TEXT":"a\tb"}}',
    "NaN": b'{"responseId":"R_1","values":{"QID1":NaN}}',
    "values that are not an object": b'{"responseId":"R_1","values":[1]}',
    "displayed fields that are not text": b'{"responseId":"R_1","values":{},"displayedFields":[1]}',
    "not an object": b"[1, 2]",
}


@pytest.mark.parametrize("line", BUILT.values(), ids=BUILT.keys())
def test_lines_the_parsed_path_keeps_are_built_alike(line: bytes) -> None:
    raw, _ = _raw_path(line)
    parsed, _ = _parsed_path(line)
    if parsed is None:  # no ID: neither path makes a record, and the stream fails the survey
        assert raw is None
        return
    assert _assert_same_or_declined(line)


@pytest.mark.parametrize("line", DECLINED.values(), ids=DECLINED.keys())
def test_lines_the_parsed_path_changes_are_declined(line: bytes) -> None:
    assert _raw_path(line)[0] is None


def test_answers_are_written_as_the_export_wrote_them() -> None:
    line = BUILT["exact numbers"]
    record, _ = _raw_path(line)
    assert record is not None
    assert b'"QID1":1.10,"QID2":123456789012345678901234567890,"QID3":1e400' in dumps(record)
    assert record["last_modified_date"] == "2024-01-02T03:04:05.000000Z"


ESCAPES = {
    b'{"a":"\\u0000"}': (True, False),
    b'{"a":"\\ud83d"}': (False, True),
    b'{"a":"\\uD83D\\uDE00 \\u0000"}': (True, True),
    b'{"a":"\\\\u0000"}': (False, False),  # an escaped backslash, then the text u0000
    b'{"a":"\\\\\\u0000"}': (True, False),  # an escaped backslash, then a NUL escape
    b'{"a":"x\\"","b":"\\u00e9"}': (False, False),
    b"ends in a backslash \\": (False, False),
}


@pytest.mark.parametrize("line", ESCAPES, ids=[repr(line) for line in ESCAPES])
def test_the_escapes_the_reader_rewrites_are_found_exactly(line: bytes) -> None:
    assert escapes_to_normalize(line) == ESCAPES[line]
