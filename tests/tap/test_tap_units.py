"""Small pure pieces: timestamps, survey selection, retry waits, error sentences."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal

import pytest
import requests

from tap_qualtrics.exports.engine import read_export_file
from tap_qualtrics.http.errors import describe_failure
from tap_qualtrics.http.retry import RetryPolicy, retry_after_seconds
from tap_qualtrics.model.response_records import response_record
from tap_qualtrics.model.text import html_to_text
from tap_qualtrics.model.timestamps import api_timestamp, normalize_timestamp, window_end
from tap_qualtrics.output import dumps
from tap_qualtrics.redaction import Redactor
from tap_qualtrics.selection import SurveySelection


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("2020-05-13T19:26:18Z", "2020-05-13T19:26:18.000000Z"),
        ("2020-05-13T19:26:18.487Z", "2020-05-13T19:26:18.487000Z"),
        ("2020-05-13T21:26:18.487+02:00", "2020-05-13T19:26:18.487000Z"),
        ("2020-04-08 20:25:50", "2020-04-08T20:25:50.000000Z"),
        ("2020-04-08", "2020-04-08T00:00:00.000000Z"),
        ("", None),
        (None, None),
    ],
)
def test_one_timestamp_form(raw: str | None, normalized: str | None) -> None:
    assert normalize_timestamp(raw) == normalized


def test_string_order_is_time_order() -> None:
    values = [
        "2020-05-13T19:26:18Z",
        "2020-05-13T19:26:18.123Z",
        "2020-05-13T19:26:18.1Z",
        "2020-05-13T19:26:19Z",
    ]
    normalized = [normalize_timestamp(v) for v in values]
    assert sorted(normalized) == [normalized[0], normalized[2], normalized[1], normalized[3]]


def test_request_bounds_are_whole_seconds() -> None:
    assert api_timestamp("2024-01-01T10:00:05.999000Z") == "2024-01-01T10:00:05Z"
    start = datetime.datetime(2024, 1, 1, 10, 0, 5, 700000, tzinfo=datetime.UTC)
    assert window_end(start, 60) == "2024-01-01T09:59:05.000000Z"


def test_survey_selection_by_id_and_pattern() -> None:
    selection = SurveySelection(("SV_abc", "SV_x*"))
    assert selection.includes("SV_abc") and selection.includes("SV_xyz")
    assert not selection.includes("SV_abcd") and not selection.includes("sv_xyz")
    assert selection.explicit_ids == ("SV_abc",)
    assert SurveySelection().includes("SV_anything")


def _response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    response.url = "https://iad1.qualtrics.com/API/v3/surveys?offset=100"
    response.request = requests.Request("GET", response.url).prepare()
    return response


def test_retry_waits_honour_retry_after_else_double() -> None:
    policy = RetryPolicy(max_retries=4, retry_delay=2)
    assert [policy.wait_seconds(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert policy.wait_seconds(3, _response(429, {}, {"Retry-After": "7"})) == 7
    assert retry_after_seconds(_response(429, {})) is None
    assert policy.max_attempts == 5


def test_401_sentence_names_the_fix_without_the_token() -> None:
    body = {
        "meta": {
            "httpStatus": "401 - Unauthorized",
            "error": {"errorCode": "DCD_7", "errorMessage": "Unrecognized X-API-TOKEN."},
        }
    }
    sentence = describe_failure(_response(401, body), uses_oauth=False)
    assert sentence == "Qualtrics rejected the API token (DCD_7) — check api_token and data_center."


def test_other_errors_name_endpoint_and_qualtrics_error() -> None:
    body = {"meta": {"error": {"errorCode": "ERX_3", "errorMessage": "Invalid request."}}}
    sentence = describe_failure(_response(400, body), uses_oauth=False)
    assert (
        sentence == "Qualtrics answered GET /API/v3/surveys with HTTP 400 (ERX_3: Invalid request)."
    )


def test_redactor_scrubs_secrets() -> None:
    redact = Redactor(["s3cr3t-token", None, 12345678])
    assert redact("token s3cr3t-token and 12345678") == "token *** and ***"


def test_html_to_text() -> None:
    assert (
        html_to_text("<em>Extremely</em> dissatisfied&nbsp;<br>now") == "Extremely dissatisfied now"
    )
    assert html_to_text("plain  text") == "plain text"


def test_records_with_values_orjson_cannot_write_are_serialized() -> None:
    """An export may hold integers past 64 bits and NaN (json reads them); the lean writer writes them all."""
    line = b'{"responseId":"R_1","values":{"QID1":123456789012345678901234567890,"QID2":NaN,"QID3":1.50}}\n'
    (exported,) = read_export_file(io.BytesIO(line))
    record = response_record("SV_1", exported)
    assert record is not None
    written = json.loads(dumps(record))
    assert written["values"] == {"QID1": 123456789012345678901234567890, "QID2": None, "QID3": 1.5}
    assert dumps({"d": Decimal("1.50"), "t": "é\u2028"}) == '{"d":1.50,"t":"é\u2028"}'.encode()


@pytest.mark.parametrize(
    ("literal", "exact"),
    [
        (b"18446744073709551616", 18446744073709551616),  # 2**64: orjson turned it into a float
        (b"123456789012345678901234567890", 123456789012345678901234567890),
        (b"-9223372036854775809", -9223372036854775809),  # below int64
        (b"18446744073709551615", 18446744073709551615),  # uint64 max
        (b"0.1000000000000000055511151231257827", Decimal("0.1000000000000000055511151231257827")),
        (b"1.0000000000000000001", Decimal("1.0000000000000000001")),  # a double would say 1.0
        (b"1e400", Decimal("1E+400")),  # past a double's range
        (b"41.953", Decimal("41.953")),
        (b"7", 7),
    ],
)
def test_exported_numbers_keep_their_exact_value(literal: bytes, exact: object) -> None:
    line = b'{"responseId":"R_1","values":{"QID1":' + literal + b',"QID2":[' + literal + b"]}}\n"
    (exported,) = read_export_file(io.BytesIO(line))
    value = exported["values"]["QID1"]
    assert value == exact and type(value) is type(exact)
    assert exported["values"]["QID2"] == [exact]
    record = response_record("SV_1", exported)
    assert record is not None
    written = json.loads(dumps(record), parse_float=Decimal)  # written back with the same value
    assert written["values"] == {"QID1": exact, "QID2": [exact]}
