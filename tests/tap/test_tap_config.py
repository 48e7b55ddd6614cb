"""A config that cannot work fails at once: one clear sentence, non-zero exit, no request made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from support.tap import sandbox
from support.taprun import TapRun

from tap_qualtrics.settings import parse_settings
from tap_qualtrics.tap import TapQualtrics

TOKEN = "token-value-0123456789"
BAD_CONFIGS: dict[str, tuple[dict[str, Any], str]] = {
    "no credentials": ({"data_center": "iad1"}, "No Qualtrics credentials"),
    "both credentials": (
        {
            "api_token": TOKEN,
            "client_id": "id-0123",
            "client_secret": "secret-0123",
            "data_center": "iad1",
        },
        "not both",
    ),
    "half of oauth": ({"client_id": "id-0123", "data_center": "iad1"}, "client_secret is missing"),
    "no host": ({"api_token": TOKEN}, "Set data_center"),
    "data center with slash": (
        {"api_token": TOKEN, "data_center": "iad1/API"},
        "not a Qualtrics data center",
    ),
    "data center with at": (
        {"api_token": TOKEN, "data_center": "me@iad1"},
        "not a Qualtrics data center",
    ),
    "data center with port": (
        {"api_token": TOKEN, "data_center": "iad1:443"},
        "not a Qualtrics data center",
    ),
    "data center full host": (
        {"api_token": TOKEN, "data_center": "iad1.qualtrics.com"},
        "not a Qualtrics data center",
    ),
    "data center foreign domain": (
        {"api_token": TOKEN, "data_center": "evil.com"},
        "not a Qualtrics data center",
    ),
    "plain http to the network": (
        {"api_token": TOKEN, "base_url": "http://qualtrics.example.com"},
        "plain http://",
    ),
    "credentials in base_url": (
        {"api_token": TOKEN, "base_url": "https://user:pw@iad1.qualtrics.com"},
        "must not contain a user name or password",
    ),
    "bad start_date": (
        {"api_token": TOKEN, "data_center": "iad1", "start_date": "last tuesday"},
        "start_date",
    ),
    "empty survey list": (
        {"api_token": TOKEN, "data_center": "iad1", "survey_ids": []},
        "survey_ids is empty",
    ),
    "wrong type": (
        {"api_token": TOKEN, "data_center": "iad1", "max_retries": "many"},
        "max_retries",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_config_is_one_sentence(case: str) -> None:
    config, fragment = BAD_CONFIGS[case]
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(config=dict(config))
    (sentence,) = raised.value.errors
    assert fragment in sentence
    assert "\n" not in sentence
    assert TOKEN not in sentence and "pw@" not in sentence


@pytest.mark.parametrize(
    ("base_url", "expected_root"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/API/v3"),
        ("http://localhost:8080/API/v3/", "http://localhost:8080/API/v3"),
        ("http://[::1]:9000/API/v3", "http://[::1]:9000/API/v3"),
        (
            "https://proxy.example.com/qualtrics/API/v3",
            "https://proxy.example.com/qualtrics/API/v3",
        ),
    ],
)
def test_base_url_forms(base_url: str, expected_root: str) -> None:
    settings = parse_settings({"api_token": TOKEN, "base_url": base_url})
    assert settings.api_root == expected_root
    assert settings.token_url == expected_root.removesuffix("/API/v3") + "/oauth2/token"


@pytest.mark.parametrize(
    ("data_center", "host"),
    [("iad1", "iad1"), ("FRA1", "fra1"), ("myorg.ca1", "myorg.ca1"), ("eu", "eu")],
)
def test_data_center_forms(data_center: str, host: str) -> None:
    settings = parse_settings({"api_token": TOKEN, "data_center": data_center})
    assert settings.api_root == f"https://{host}.qualtrics.com/API/v3"


def test_secrets_stay_out_of_repr() -> None:
    settings = parse_settings(
        {"client_id": "id-0123", "client_secret": "secret-0123", "data_center": "iad1"}
    )
    assert "secret-0123" not in repr(settings) and "id-0123" not in repr(settings)


def test_discovery_needs_no_config() -> None:
    tap = TapQualtrics(config={}, validate_config=False)
    assert sorted(tap.streams) == [
        "blocks",
        "contacts",
        "directories",
        "distribution_contacts",
        "distributions",
        "divisions",
        "export_columns",
        "groups",
        "live_response_ids",
        "mailing_list_contacts",
        "mailing_lists",
        "question_choices",
        "questions",
        "response_answers",
        "response_deletion_checks",
        "response_embedded_data",
        "response_in_progress_answers",
        "response_in_progress_embedded_data",
        "responses",
        "responses_in_progress",
        "sub_questions",
        "surveys",
        "users",
    ]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"client_id": "id-0123", "client_secret": "secret-0123"}, "not both"),
        ({"start_date": "not-a-date"}, "start_date"),
        ({"survey_ids": []}, "survey_ids is empty"),
    ],
)
def test_cli_reports_one_sentence_and_sends_nothing(
    run_tap: Callable[..., TapRun], overrides: dict[str, Any], fragment: str
) -> None:
    with sandbox(seed=51, surveys=2, responses=3) as handle:
        handle.reset_stats()
        run = run_tap({"api_token": handle.api_token, "base_url": handle.base_url, **overrides})
        requests_made = handle.stats()["total_requests"]
    assert run.returncode == 1
    assert requests_made == 0
    errors = run.error_lines()
    assert len(errors) == 1 and fragment in errors[0]
    assert "Traceback" not in run.stderr
    assert handle.api_token not in run.stderr and "secret-0123" not in run.stderr
    assert run.stdout == ""


def test_rejected_api_token_is_one_sentence(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=52, surveys=2, responses=3) as handle:
        run = run_tap({"api_token": "not-the-token-12345", "base_url": handle.base_url})
    assert run.returncode == 1
    assert run.error_lines()[-1].endswith(
        "Qualtrics rejected the API token (DCD_7) — check api_token and data_center."
    )
    assert "not-the-token-12345" not in run.stderr and "Traceback" not in run.stderr


def test_connection_test_mode_reports_bad_config_cleanly(run_tap: Callable[..., TapRun]) -> None:
    run = run_tap({"api_token": TOKEN, "data_center": "iad1/x"}, args=("--test",))
    assert run.returncode == 1
    assert len(run.error_lines()) == 1 and "not a Qualtrics data center" in run.error_lines()[0]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "pasted",
    [
        "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90",  # an API token pasted into the wrong setting
        "oauthClientSecretValue0123456789abcdefABCDEF0123456789abcdef0123",
    ],
)
def test_a_credential_pasted_into_data_center_is_never_echoed(pasted: str) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(
            config={"client_id": "id-0123", "client_secret": "s3cret-value", "data_center": pasted}
        )
    (sentence,) = raised.value.errors
    assert "is not a Qualtrics data center ID" in sentence
    assert pasted.lower() not in sentence.lower()


def test_the_value_of_a_credential_setting_is_never_echoed_as_data_center() -> None:
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(config={"api_token": "tok-9", "data_center": "tok-9"})
    assert "tok-9" not in raised.value.errors[0]


def test_a_host_given_as_data_center_is_named_in_the_error() -> None:
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(config={"api_token": TOKEN, "data_center": "iad1.qualtrics.com"})
    assert "'iad1.qualtrics.com'" in raised.value.errors[0]
