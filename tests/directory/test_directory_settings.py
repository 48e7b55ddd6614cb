"""The directory_ids and page_size settings: defaults, checks with one clear sentence each."""

from __future__ import annotations

from typing import Any

import pytest

from tap_qualtrics.settings import SettingsError, parse_settings

BASE: dict[str, Any] = {"api_token": "token-123456", "data_center": "iad1"}


def test_defaults() -> None:
    settings = parse_settings(BASE)
    assert settings.directory_ids is None and settings.page_size == 100


def test_values_are_kept() -> None:
    settings = parse_settings(
        {**BASE, "directory_ids": [" POOL_a1 ", "POOL_b2", "POOL_a1"], "page_size": "25"}
    )
    assert settings.directory_ids == ("POOL_a1", "POOL_b2") and settings.page_size == 25


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"directory_ids": []}, "directory_ids is empty; leave it out to sync every directory"),
        (
            {"directory_ids": ["POOL_a/../x"]},
            "directory_ids entry 'POOL_a/../x' is not a directory ID",
        ),
        ({"directory_ids": ["POOL a"]}, "is not a directory ID, such as POOL_abc123."),
        ({"page_size": 0}, "page_size must be a whole number of at least 1."),
        ({"page_size": 101}, "page_size must be a whole number from 1 to 100"),
        ({"page_size": "lots"}, "page_size must be a whole number"),
    ],
)
def test_bad_values_fail_with_one_sentence(overrides: dict[str, Any], sentence: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({**BASE, **overrides})
    assert sentence in str(caught.value)
    assert "token-123456" not in str(caught.value)
