"""Transient faults on every endpoint, over many seeds: the union of runs equals the truth exactly,
no run emits a response twice, a failed survey keeps its bookmark, and no secret reaches any output."""

from __future__ import annotations

from typing import Any

import pytest
from support.reliability import (
    SENTINEL_ACCESS_PREFIX,
    SENTINEL_CREDENTIALS,
    config_for,
    issued_access_tokens,
    leaked_secrets,
    response_bookmarks,
    run_tap,
    truth_responses,
    upsert,
)
from support.tap import sandbox

from tap_qualtrics.model.timestamps import normalize_timestamp

SEEDS = range(20)
MAX_RUNS = 6
#: Totals over the whole suite, printed at the end (``pytest -s``) and checked to be non-trivial.
COUNTS: dict[str, int] = {"faults": 0, "runs": 0, "records": 0, "surveys_failed": 0}
#: endpoint -> fault statuses it answered with (429, 500, 503, 504, connection_reset) over the suite
FAULTED: dict[str, set[str]] = {}


def _storm(seed: int) -> dict[str, Any]:
    return {
        "http_429": 0.05,
        "http_5xx": 0.04,
        "connection_reset": 0.05,
        "export_failed": 0.08,  # cut into shorter windows by the tap, so mostly absorbed in the same run
        "export_truncated": 0.15,  # a damaged file fails its survey: the next run resumes from STATE
        "retry_after_seconds": 0,
        "seed": seed,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_storm_delivers_exactly_the_truth(seed: int) -> None:
    oauth = seed % 2 == 1
    with sandbox(
        seed=100 + seed, surveys=4, responses=10, users=30, credentials=SENTINEL_CREDENTIALS
    ) as handle:
        handle.set_faults(_storm(seed))
        expected = truth_responses(handle.truth())  # no changes during the storm
        config = config_for(handle, oauth=oauth, max_retries=8)
        target: dict[tuple[str, str], dict[str, Any]] = {}
        state: dict[str, Any] | None = None
        outputs = []
        for _ in range(MAX_RUNS):
            outcome = run_tap(config, state=state)
            outputs.append(outcome.all_text())
            assert outcome.error is None, outcome.error_text[-2000:]
            emitted = outcome.records("responses")
            keys = [(r["survey_id"], r["response_id"]) for r in emitted]
            assert len(keys) == len(set(keys)), "a response was emitted twice in one run"
            before = response_bookmarks(state)
            after = response_bookmarks(outcome.states[-1])
            upsert(target, emitted)
            for survey_id in outcome.failed_surveys:
                # A failed survey keeps the bookmark it came with, or (when the export was cut into
                # shorter windows and a later one failed) moves it only over responses emitted so far.
                kept, came_with = after.get(survey_id), before.get(survey_id)
                if kept != came_with:
                    assert kept is not None and (came_with is None or kept > came_with)
                    passed_over = {
                        key
                        for key, modified in expected.items()
                        if key[0] == survey_id and normalize_timestamp(modified) < kept
                    }
                    assert passed_over <= set(target), (
                        "a bookmark moved past a response not emitted"
                    )
                assert survey_id in outcome.failure_summary
            COUNTS["surveys_failed"] += len(outcome.failed_surveys)
            COUNTS["runs"] += 1
            COUNTS["records"] += len(emitted)
            state = outcome.states[-1]
            if outcome.ok:
                break
            assert "keep their bookmarks" in outcome.failure_summary
        else:
            pytest.fail(f"still failing after {MAX_RUNS} runs: {outcome.failure_summary}")
        full_truth = handle.truth()
        truth = truth_responses(full_truth)
        stats = handle.stats()
        fired = stats["faults_fired"]
        tokens = issued_access_tokens(handle)

    COUNTS["faults"] += sum(fired.values())
    for kind, count in fired.items():
        COUNTS[kind] = COUNTS.get(kind, 0) + count
    for endpoint, statuses in stats["statuses"].items():
        FAULTED.setdefault(endpoint, set()).update(s for s in statuses if s != "200")
    assert sum(fired.values()) > 0
    assert set(target) == set(truth)
    assert {k: r["last_modified_date"][:23] for k, r in target.items()} == {
        k: ts.rstrip("Z") for k, ts in truth.items()
    }
    assert set(response_bookmarks(state)) == set(full_truth["surveys"])
    assert all(response_bookmarks(state).values())
    secrets = [SENTINEL_CREDENTIALS[k] for k in ("api_token", "client_id", "client_secret")]
    for text in outputs:
        assert leaked_secrets(text, [*secrets, *tokens]) == []
        assert SENTINEL_ACCESS_PREFIX not in text
    if oauth:
        assert tokens, "the OAuth runs requested no token"


def test_storm_counts_are_meaningful() -> None:
    """Runs last in this module: the storm suite injected faults and compared records."""
    if COUNTS["runs"] == 0:
        pytest.skip("run together with the storm tests")
    print(f"\nstorm suite: {COUNTS}\nfault statuses per endpoint: {FAULTED}")
    assert COUNTS["faults"] >= 20 * 5
    assert COUNTS["export_failed"] > 0 and COUNTS["connection_reset"] > 0
    assert COUNTS["export_truncated"] > 0
    # some surveys failed and were completed by a later run from the STATE the failed run left
    assert COUNTS["surveys_failed"] > 0 and COUNTS["runs"] > len(SEEDS)
    for endpoint in (  # the export endpoints see dozens of requests per seed: every one is hit
        "POST /surveys/{surveyId}/export-responses",
        "GET /surveys/{surveyId}/export-responses/{exportProgressId}",
        "GET /surveys/{surveyId}/export-responses/{fileId}/file",
    ):
        assert FAULTED.get(endpoint), f"no fault was injected on {endpoint}"
    assert sum(1 for statuses in FAULTED.values() if statuses) >= 5
