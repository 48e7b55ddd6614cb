"""Element -> record conversions of the account streams (pure functions, no HTTP)."""

from __future__ import annotations

import json

import pytest
from support.directory import ACCOUNT_STREAMS, REPO

from tap_qualtrics.streams.account import permission_for, record_from, to_timestamp
from tap_qualtrics.streams.directory import _midpoint, _window_filter, contact_record
from tap_qualtrics.streams.distributions import history_record


def _properties(stream: str) -> dict:
    return json.loads((REPO / "schemas" / f"{stream}.json").read_text())["properties"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1547332513000, "2019-01-12T22:35:13.000000Z"),
        ("1597321249000", "2020-08-13T12:20:49.000000Z"),
        (1547332513123.0, "2019-01-12T22:35:13.123000Z"),
        ("2021-06-01T18:59:23.161Z", "2021-06-01T18:59:23.161000Z"),
        ("2021-06-01T18:59:23Z", "2021-06-01T18:59:23.000000Z"),
        ("", None),
        (None, None),
        (True, None),
        ("soon", None),
    ],
)
def test_timestamps_in_every_qualtrics_spelling(value: object, expected: str | None) -> None:
    assert to_timestamp(value) == expected


def test_contact_record_from_search_and_list_elements() -> None:
    props = _properties("contacts")
    searched = {
        "id": "CID_1",
        "firstName": "Ada",
        "email": "ada@example.org",
        "emailDomain": "example.org",
        "extRef": "",
        "creationDate": 1547332513000,
        "lastModified": 1547332514000,
        "unsubscribed": False,
        "directoryUnsubscribed": True,
        "directoryUnsubscribeDate": 1547332515000,
        "embeddedData": {"tier": "gold"},
        "writeBlanks": False,
    }
    record = contact_record(searched, "POOL_1", props)
    assert record == {
        "directory_id": "POOL_1",
        "contact_id": "CID_1",
        "first_name": "Ada",
        "last_name": None,
        "email": "ada@example.org",
        "email_domain": "example.org",
        "phone": None,
        "ext_ref": None,
        "language": None,
        "directory_unsubscribed": True,
        "directory_unsubscribe_date": "2019-01-12T22:35:15.000000Z",
        "creation_date": "2019-01-12T22:35:13.000000Z",
        "last_modified": "2019-01-12T22:35:14.000000Z",
        "embedded_data": {"tier": "gold"},
    }
    listed = contact_record({"contactId": "CID_2", "unsubscribed": "true"}, "POOL_1", props)
    assert listed["contact_id"] == "CID_2" and listed["directory_unsubscribed"] is True


def test_values_of_the_wrong_shape_become_null() -> None:
    props = _properties("distributions")
    record = record_from(
        {
            "id": "EMD_1",
            "stats": "lots",
            "headers": ["x"],
            "requestType": {"a": 1},
            "sendDate": "never",
        },
        props,
        {"id": "distribution_id"},
        survey_id="SV_1",
    )
    assert record["distribution_id"] == "EMD_1" and record["survey_id"] == "SV_1"
    assert record["stats"] is None and record["headers"] is None and record["request_type"] is None
    assert record["send_date"] is None
    assert set(record) == set(props)


def test_history_record_keeps_its_key_non_null() -> None:
    record = history_record(
        {"contactId": "CID_1", "status": "Opened"},
        "EMD_1",
        "SV_1",
        _properties("distribution_contacts"),
    )
    assert (record["distribution_id"], record["contact_id"], record["contact_lookup_id"]) == (
        "EMD_1",
        "CID_1",
        "",
    )


@pytest.mark.parametrize(
    ("url", "scope"),
    [
        ("https://iad1.qualtrics.com/API/v3/directories", "read:directories"),
        (
            "https://iad1.qualtrics.com/API/v3/directories/POOL_1/contacts/search?pageSize=5",
            "read:directory_contacts",
        ),
        ("https://x/proxy/API/v3/directories/POOL_1/mailinglists", "read:mailing_lists"),
        (
            "https://x/API/v3/directories/POOL_1/mailinglists/CG_1/contacts",
            "read:mailing_list_contacts",
        ),
        ("https://x/API/v3/distributions/EMD_1/history", "read:distributions"),
        ("https://x/API/v3/groups", "read:groups"),
        ("https://x/API/v3/divisions", "read:divisions"),
    ],
)
def test_the_scope_each_endpoint_needs(url: str, scope: str) -> None:
    assert permission_for(url)[0] == scope


def test_window_filters_and_midpoints() -> None:
    assert _window_filter(None, "2024-01-01T00:00:00.000000Z") == {
        "filterType": "lastModified",
        "comparison": "lt",
        "value": "2024-01-01T00:00:00.000Z",
    }
    both = _window_filter("2023-01-01T00:00:00.123456Z", "2024-01-01T00:00:00.000000Z")
    assert both["conjunction"] == "and"
    assert both["filters"][0] == {
        "filterType": "lastModified",
        "comparison": "gte",
        "value": "2023-01-01T00:00:00.123Z",
    }
    assert (
        _midpoint("2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:01.000000Z")
        == "2024-01-01T00:00:00.500000Z"
    )
    assert _midpoint("2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.001000Z") is None
    assert _midpoint(None, "2024-01-01T00:00:00.000000Z") == "2012-01-01T00:00:00.000000Z"


def test_every_account_schema_is_warehouse_safe() -> None:
    for stream in ACCOUNT_STREAMS:
        schema = json.loads((REPO / "schemas" / f"{stream}.json").read_text())
        assert len(stream.encode()) <= 63 and stream == stream.lower()
        assert schema["required"] and set(schema["required"]) <= set(schema["properties"])
        for column, declared in schema["properties"].items():
            assert len(column.encode()) <= 63 and column == column.lower() and " " not in column
            types = declared["type"] if isinstance(declared["type"], list) else [declared["type"]]
            assert len([t for t in types if t != "null"]) == 1, (stream, column)  # one stable type
            if column in schema["required"]:
                assert "null" not in types, (stream, column)
