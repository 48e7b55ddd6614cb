"""OAuth client credentials: one token per run, refreshed before expiry and once after a rejection."""

from __future__ import annotations

from collections.abc import Callable

import requests
from support.tap import oauth_config, sandbox
from support.taprun import TapRun

from tap_qualtrics.http.auth import ClientCredentialsAuthenticator
from tap_qualtrics.tap import TapQualtrics


def test_one_token_request_per_run(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=41, surveys=4, responses=8) as handle:
        handle.reset_stats()
        run = run_tap(oauth_config(handle))
        stats = handle.stats()
        truth = handle.truth()

    assert run.returncode == 0, run.stderr[-3000:]
    assert stats["oauth_token_requests"] == 1
    assert {(r["survey_id"], r["response_id"]) for r in run.records("responses")} == {
        (sid, rid) for sid, s in truth["surveys"].items() for rid in s["responses"]
    }
    for secret in (handle.client_id, handle.client_secret):
        assert secret not in run.stdout and secret not in run.stderr


def test_token_expiring_mid_run_is_refreshed(run_tap: Callable[..., TapRun]) -> None:
    """Tokens live one second and every request takes 40 ms: the run needs several tokens."""
    with sandbox(seed=42, surveys=4, responses=8) as handle:
        handle.set_faults({"token_ttl_seconds": 1, "latency_ms": 40})
        handle.reset_stats()
        run = run_tap(oauth_config(handle))
        stats = handle.stats()
        truth = handle.truth()

    assert run.returncode == 0, run.stderr[-3000:]
    assert stats["oauth_token_requests"] >= 2
    assert {(r["survey_id"], r["response_id"]) for r in run.records("responses")} == {
        (sid, rid) for sid, s in truth["surveys"].items() for rid in s["responses"]
    }


def test_rejected_token_is_refreshed_once_and_the_request_retried() -> None:
    with sandbox(seed=43, surveys=2, responses=4) as handle:
        tap = TapQualtrics(config=oauth_config(handle))
        stream = tap.streams["users"]
        handle.reset_stats()
        first = list(stream.list_elements("/surveys"))
        handle.advance_clock(
            7200
        )  # the sandbox now considers the token expired; the tap does not know
        second = list(stream.list_elements("/surveys"))
        stats = handle.stats()

    assert first == second
    assert stats["oauth_token_requests"] == 2
    assert stats["statuses"]["GET /surveys"] == {"200": 2, "401": 1}


def test_a_fresh_token_rejected_again_is_not_refreshed_again() -> None:
    """Two rejections in a row mean bad credentials, not an old token: no endless refresh loop."""
    with sandbox(seed=44, surveys=2, responses=4) as handle:
        authenticator = TapQualtrics(config=oauth_config(handle)).run.authenticator
        assert isinstance(authenticator, ClientCredentialsAuthenticator)

        def signed() -> requests.PreparedRequest:
            return authenticator(requests.Request("GET", handle.url("/API/v3/surveys")).prepare())

        first = signed()
        assert authenticator.forget_rejected_token(first)  # refresh and retry
        replacement = signed()
        assert replacement.headers["Authorization"] != first.headers["Authorization"]
        assert not authenticator.forget_rejected_token(
            replacement
        )  # the fresh token failed too: give up
        authenticator.note_accepted(replacement)  # ...unless it worked in between
        assert authenticator.forget_rejected_token(replacement)
        assert handle.stats()["oauth_token_requests"] == 2


def test_bad_client_secret_is_one_clear_sentence(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=45, surveys=2, responses=4) as handle:
        run = run_tap(oauth_config(handle, client_secret="wrong-secret-value"))
    assert run.returncode != 0
    assert "rejected the OAuth client credentials (invalid_client" in run.error_lines()[-1]
    assert "wrong-secret-value" not in run.stderr
    assert "Traceback" not in run.stderr
