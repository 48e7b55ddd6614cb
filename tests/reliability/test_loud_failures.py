"""Faults that cannot be retried away end loudly with one sentence, and every bookmark the run emitted
stays correct; faults that can (an expired OAuth token) end with exactly the truth."""

from __future__ import annotations

from typing import Any

import pytest
from support.reliability import (
    SENTINEL_ACCESS_PREFIX,
    SENTINEL_CREDENTIALS,
    catalog_for,
    config_for,
    issued_access_tokens,
    leaked_secrets,
    response_bookmarks,
    run_tap,
    truth_responses,
)
from support.tap import sandbox

from tap_qualtrics.streams.responses import ResponsesStream

SECRETS = [SENTINEL_CREDENTIALS[k] for k in ("api_token", "client_id", "client_secret")]


def _after_survey_list(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run ``action`` once the responses stream has listed its surveys (i.e. mid-run)."""
    original = ResponsesStream._selected_survey_ids

    def listed_then_act(self: ResponsesStream) -> list[str]:
        chosen = original(self)
        action(chosen)
        return chosen

    monkeypatch.setattr(ResponsesStream, "_selected_survey_ids", listed_then_act)


def _check_bookmarks_match_records(outcome: Any, truth: dict[tuple[str, str], str]) -> None:
    """Every bookmark emitted is either a window end (survey complete) or the last record emitted."""
    records = outcome.records("responses")
    for state in outcome.states:
        for survey_id, value in response_bookmarks(state).items():
            if value is None:
                continue
            mine = {r["response_id"] for r in records if r["survey_id"] == survey_id}
            expected = {rid for sid, rid in truth if sid == survey_id and truth[(sid, rid)] < value}
            assert expected <= mine, (
                f"bookmark {value} of {survey_id} passes responses never emitted"
            )


def test_export_that_never_completes_times_out_and_keeps_its_bookmark() -> None:
    with sandbox(seed=501, surveys=2, responses=6, export_polls=10**9) as handle:
        survey_id = min(handle.truth()["surveys"])
        config = config_for(handle, oauth=False, export_timeout_seconds=1, survey_ids=[survey_id])
        config["export_poll_interval_seconds"] = 0
        outcome = run_tap(config, catalog=catalog_for(["responses"]))
        handle.set_faults({"export_polls": 1})
        again = run_tap(config, state=outcome.states[-1], catalog=catalog_for(["responses"]))
        truth = truth_responses(handle.truth())

    assert outcome.failed_surveys == [survey_id]
    assert "not ready within 1 s (export_timeout_seconds)" in outcome.failure_summary
    assert outcome.records("responses") == []
    assert response_bookmarks(outcome.states[-1]).get(survey_id) is None
    assert again.ok
    assert {(r["survey_id"], r["response_id"]) for r in again.records("responses")} == {
        k for k in truth if k[0] == survey_id
    }


def test_survey_deleted_mid_run_fails_alone_with_404(monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox(seed=502, surveys=4, responses=6) as handle:
        doomed: list[str] = []

        def delete_second(chosen: list[str]) -> None:
            doomed.append(chosen[1])
            with handle.account.lock:
                del handle.account.surveys[chosen[1]]

        _after_survey_list(monkeypatch, delete_second)
        outcome = run_tap(config_for(handle, oauth=False), catalog=catalog_for(["responses"]))
        truth = truth_responses(handle.truth())

    assert outcome.error is None
    assert outcome.failed_surveys == doomed
    assert "HTTP 404" in outcome.failure_summary and doomed[0] in outcome.failure_summary
    assert {(r["survey_id"], r["response_id"]) for r in outcome.records("responses")} == set(truth)
    assert response_bookmarks(outcome.states[-1]).get(doomed[0]) is None
    _check_bookmarks_match_records(outcome, truth)


@pytest.mark.parametrize("seed", range(3))
def test_oauth_token_expiring_mid_run_is_refreshed(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    with sandbox(
        seed=510 + seed, surveys=3, responses=6, credentials=SENTINEL_CREDENTIALS
    ) as handle:
        _after_survey_list(monkeypatch, lambda _: handle.advance_clock(7200))
        outcome = run_tap(config_for(handle, oauth=True))
        truth = truth_responses(handle.truth())
        stats = handle.stats()
        tokens = issued_access_tokens(handle)

    assert outcome.ok, outcome.failure_summary or outcome.error_text[-2000:]
    assert stats["oauth_token_requests"] == 2
    assert {(r["survey_id"], r["response_id"]) for r in outcome.records("responses")} == set(truth)
    assert leaked_secrets(outcome.all_text(), [*SECRETS, *tokens]) == []
    assert SENTINEL_ACCESS_PREFIX not in outcome.all_text()


def test_api_token_revoked_mid_run_stops_with_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox(seed=503, surveys=3, responses=6, credentials=SENTINEL_CREDENTIALS) as handle:
        _after_survey_list(
            monkeypatch, lambda _: setattr(handle.app.auth, "api_token", "revoked-token-000")
        )
        outcome = run_tap(config_for(handle, oauth=False))

    assert outcome.error is not None
    message = str(outcome.error)
    assert message == "Qualtrics rejected the API token (DCD_7) — check api_token and data_center."
    assert outcome.records("responses") == []
    for state in outcome.states:  # the surveys stream finished before; responses never moved
        assert all(value is None for value in response_bookmarks(state).values())
    assert leaked_secrets(outcome.all_text(), SECRETS) == []


def test_missing_scope_is_one_sentence_naming_the_endpoint() -> None:
    with sandbox(seed=504, surveys=2, responses=4, credentials=SENTINEL_CREDENTIALS) as handle:
        config = config_for(
            handle, oauth=True, oauth_scopes=["read:surveys", "read:survey_responses"]
        )
        outcome = run_tap(config, catalog=catalog_for(["users"]))
        tokens = issued_access_tokens(handle)

    assert outcome.error is not None
    message = str(outcome.error)
    assert "GET /API/v3/users with HTTP 403 (ATP_4" in message
    assert message.endswith("check the OAuth client's scopes.")
    assert "\n" not in message
    assert leaked_secrets(outcome.all_text(), [*SECRETS, *tokens]) == []
