"""One survey's failed export does not stop the others, keeps its bookmark, and fails the run at the end."""

from __future__ import annotations

import copy
import datetime
import socket
from collections.abc import Callable

from support.tap import sandbox, selected_catalog, token_config
from support.taprun import TapRun

from tap_qualtrics.model.timestamps import format_timestamp, parse_timestamp

MISSING_SURVEY = "SV_doesNotExist000"


def test_unknown_survey_fails_alone(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=31, surveys=4, responses=8) as handle:
        truth = handle.truth()
        real = list(truth["surveys"])[:2]
        run = run_tap(token_config(handle, survey_ids=[*real, MISSING_SURVEY]))

    assert run.returncode != 0
    last_error = run.error_lines()[-1]
    assert MISSING_SURVEY in last_error and "keep their bookmarks" in last_error
    assert "Traceback" not in run.stderr

    emitted = {(r["survey_id"], r["response_id"]) for r in run.records("responses")}
    assert emitted == {(sid, rid) for sid in real for rid in truth["surveys"][sid]["responses"]}
    bookmarks = run.response_bookmarks()
    assert bookmarks[real[0]] and bookmarks[real[1]]
    assert bookmarks.get(MISSING_SURVEY) is None
    # The rest of the run went on: surveys (filtered) and users are complete.
    assert sorted(r["survey_id"] for r in run.records("surveys")) == sorted(real)
    assert sorted(r["user_id"] for r in run.records("users")) == sorted(truth["users"])


def _moved_back(state: dict, days: int) -> dict:
    """The state with every response bookmark ``days`` earlier, so the next window is never empty."""
    moved = copy.deepcopy(state)
    for partition in moved["bookmarks"]["responses"]["partitions"]:
        earlier = parse_timestamp(partition["replication_key_value"]) - datetime.timedelta(
            days=days
        )
        partition["replication_key_value"] = format_timestamp(earlier)
    return moved


def test_failed_exports_keep_their_bookmarks(run_tap: Callable[..., TapRun]) -> None:
    with sandbox(seed=32, surveys=3, responses=8) as handle:
        config = token_config(handle)
        first = run_tap(config)
        assert first.returncode == 0, first.stderr[-3000:]
        state = _moved_back(first.final_state, days=1)
        handle.set_faults({"export_failed": 1.0})
        second = run_tap(config, state=state)

    assert second.returncode != 0
    assert second.records("responses") == []
    before = {
        p["context"]["survey_id"]: p["replication_key_value"]
        for p in state["bookmarks"]["responses"]["partitions"]
    }
    assert second.response_bookmarks() == before
    summary = second.error_lines()[-1]
    for survey_id in before:
        assert survey_id in summary
    assert "failed" in summary


def test_transient_faults_still_deliver_the_truth(run_tap: Callable[..., TapRun]) -> None:
    """429s (with Retry-After), 5xx and dropped connections are retried; nothing is lost or doubled."""
    with sandbox(seed=33, surveys=4, responses=10, users=120) as handle:
        handle.set_faults(
            {
                "http_429": 0.1,
                "http_5xx": 0.1,
                "connection_reset": 0.1,
                "retry_after_seconds": 0,
                "seed": 5,
            }
        )
        run = run_tap(token_config(handle, max_retries=10))
        truth = handle.truth()
        fired = handle.stats()["faults_fired"]

    assert run.returncode == 0, run.stderr[-3000:]
    assert sum(fired.values()) > 0
    responses = [(r["survey_id"], r["response_id"]) for r in run.records("responses")]
    assert len(responses) == len(set(responses))
    assert set(responses) == {
        (sid, rid) for sid, s in truth["surveys"].items() for rid in s["responses"]
    }
    assert sorted(r["user_id"] for r in run.records("users")) == sorted(truth["users"])


def test_each_retry_is_logged_once(run_tap: Callable[..., TapRun]) -> None:
    """One WARNING line per retry, naming the request and the attempt; the retry library's own INFO and
    ERROR lines (the same event again) are off."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    config = {"api_token": "token-0", "base_url": f"http://127.0.0.1:{dead_port}", "max_retries": 2}
    run = run_tap({**config, "retry_delay": 0}, catalog=selected_catalog(["users"]))
    assert run.returncode != 0
    retries = [line for line in run.stderr.splitlines() if "Retrying GET /API/v3/users" in line]
    assert [line.split("(attempt ")[1][:6] for line in retries] == ["2 of 3", "3 of 3"]
    assert "Backing off" not in run.stderr and "Giving up" not in run.stderr
