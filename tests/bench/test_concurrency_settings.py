"""The concurrency and rate-budget settings: defaults, and one clear sentence for bad values."""

from __future__ import annotations

import pytest

from tap_qualtrics.run import SyncRun
from tap_qualtrics.settings import SettingsError, parse_settings

BASE = {"api_token": "t0ken", "base_url": "http://127.0.0.1:9"}


def test_defaults_follow_qualtrics_limits() -> None:
    settings = parse_settings(BASE)
    assert settings.max_concurrent_exports == 50
    assert settings.rate_limits == {}
    import datetime

    run = SyncRun(BASE, started_at=datetime.datetime.now(datetime.UTC), required_scopes=tuple)
    assert run.rate_budget.limits == {
        "brand": 3000,
        "export_start": 100,
        "export_progress": 1000,
        "export_file": 100,
    }


def test_configured_limits_replace_the_defaults() -> None:
    settings = parse_settings(
        {**BASE, "max_concurrent_exports": 3, "rate_limits_per_minute": {"brand": 500}}
    )
    assert settings.max_concurrent_exports == 3
    assert settings.rate_limits == {"brand": 500}


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (
            {"max_concurrent_exports": 0},
            "max_concurrent_exports must be a whole number of at least 1.",
        ),
        (
            {"rate_limits_per_minute": {"export_start": 0}},
            "rate_limits_per_minute.export_start must be a whole number of at least 1.",
        ),
        (
            {"rate_limits_per_minute": {"exports": 5}},
            "rate_limits_per_minute knows brand, export_start, export_progress, export_file, not 'exports'.",
        ),
        (
            {"rate_limits_per_minute": 5},
            "rate_limits_per_minute must be an object of bucket names and whole numbers.",
        ),
    ],
)
def test_bad_values_get_one_sentence(extra: dict, sentence: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({**BASE, **extra})
    assert str(raised.value) == sentence
