"""Hostile or broken config: refused with one clear sentence before any request, never echoing a secret.
(The basic cases live in tests/tap/test_tap_config.py; these are the adversarial ones.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from support.tap import sandbox

from tap_qualtrics.settings import explain_schema_error
from tap_qualtrics.tap import TapQualtrics

TOKEN = "HostileSentinelToken0123456789"
SECRET = "HostileSentinelSecret0123456789"

#: name -> (config without host, or with its own host; a fragment of the one sentence)
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "data_center with slash": ({"data_center": "iad1/../evil"}, "not a Qualtrics data center"),
    "data_center with at": ({"data_center": "iad1@evil.com"}, "not a Qualtrics data center"),
    "data_center with colon": ({"data_center": "iad1:8443"}, "not a Qualtrics data center"),
    "data_center foreign domain": (
        {"data_center": "qualtrics.evil.com"},
        "not a Qualtrics data center",
    ),
    "data_center org then foreign": (
        {"data_center": "evil.com.iad1"},
        "not a Qualtrics data center",
    ),
    "data_center with newline": (
        {"data_center": "iad1\nHost: evil"},
        "not a Qualtrics data center",
    ),
    "data_center with zero-width space": (
        {"data_center": "iad1\u200b"},
        "not a Qualtrics data center",
    ),
    "http to a private address": ({"base_url": "http://10.0.0.7"}, "plain http://"),
    "http to a look-alike of localhost": (
        {"base_url": "http://localhost.evil.com"},
        "plain http://",
    ),
    "http to a look-alike of loopback": ({"base_url": "http://127.0.0.1.nip.io"}, "plain http://"),
    "ftp base_url": ({"base_url": "ftp://iad1.qualtrics.com"}, "must be an http(s) URL"),
    "backslash trick in base_url": (
        {"base_url": "https://iad1.qualtrics.com\\@evil.com"},
        "backslashes",
    ),
    "newline in base_url": (
        {"base_url": "https://iad1.qualtrics.com/\nX-Evil: 1"},
        "control characters",
    ),
    "credentials in base_url": (
        {"base_url": "https://u:p@iad1.qualtrics.com"},
        "user name or password",
    ),
    "misspelt setting": (
        {"data_center": "iad1", "survey_id": ["SV_1"]},
        "Unknown setting 'survey_id'",
    ),
    "unknown setting": (
        {"data_center": "iad1", "verify_ssl": False},
        "Unknown setting 'verify_ssl'",
    ),
    "empty survey list": ({"data_center": "iad1", "survey_ids": []}, "survey_ids is empty"),
    "empty directory list": (
        {"data_center": "iad1", "directory_ids": []},
        "directory_ids is empty",
    ),
    "survey id with a path": (
        {"data_center": "iad1", "survey_ids": ["SV_1/../x"]},
        "not a survey ID",
    ),
    "string instead of list": (
        {"data_center": "iad1", "survey_ids": "SV_1"},
        "survey_ids must be of type array",
    ),
    "negative retries": ({"data_center": "iad1", "max_retries": -1}, "max_retries"),
    "boolean retries": (
        {"data_center": "iad1", "max_retries": True},
        "max_retries must be of type integer",
    ),
    "zero timeout": ({"data_center": "iad1", "request_timeout": 0}, "request_timeout"),
    "page size beyond the API": ({"data_center": "iad1", "page_size": 101}, "page_size"),
    "start_date not a date": ({"data_center": "iad1", "start_date": "yesterday"}, "start_date"),
    "number as start_date": (
        {"data_center": "iad1", "start_date": 20240101},
        "start_date must be of type",
    ),
}
TOKEN_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "token with CRLF (header injection)": (
        {"api_token": TOKEN + "\r\nX-Evil: 1"},
        "api_token contains spaces",
    ),
    "token with inner space": (
        {"api_token": TOKEN[:8] + " " + TOKEN[8:]},
        "api_token contains spaces",
    ),
    "secret with NUL": (
        {"client_id": "abcd1234", "client_secret": SECRET + "\x00"},
        "client_secret contains",
    ),
    "number as token": ({"api_token": 12345678901234}, "api_token must be of type string"),
}


@pytest.fixture(scope="module")
def handle() -> Iterator[Any]:
    with sandbox(seed=601, surveys=1, responses=1) as running:
        yield running


def _sentences(config: dict[str, Any]) -> list[str]:
    """What the tap says about ``config`` (as its CLI would print it)."""
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(config=config)
    return [
        explain_schema_error(str(error)) for error in raised.value.errors or [str(raised.value)]
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_setting_is_refused_before_any_request(case: str, handle: Any) -> None:
    overrides, fragment = CASES[case]
    config = {"api_token": TOKEN, "base_url": handle.base_url, **overrides}
    if "data_center" in overrides:
        config.pop("base_url")
    handle.reset_stats()
    sentences = _sentences(config)
    assert handle.stats()["total_requests"] == 0
    assert len(sentences) == 1
    (sentence,) = sentences
    assert fragment in sentence
    assert "\n" not in sentence and TOKEN not in sentence


@pytest.mark.parametrize("case", sorted(TOKEN_CASES))
def test_bad_credentials_are_refused_without_echo(case: str, handle: Any) -> None:
    config, fragment = TOKEN_CASES[case]
    handle.reset_stats()
    (sentence,) = _sentences({**config, "base_url": handle.base_url})
    assert handle.stats()["total_requests"] == 0
    assert fragment in sentence and "\n" not in sentence
    for secret in (TOKEN, SECRET, "12345678901234"):
        assert secret[:12] not in sentence
