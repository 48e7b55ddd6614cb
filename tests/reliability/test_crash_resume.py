"""Crash safety: SIGKILL the tap at random points of a multi-survey sync, resume from the last STATE
it emitted, repeat; what an upserting target holds equals the truth exactly. Many seeds."""

from __future__ import annotations

import json
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.reliability import (
    SENTINEL_ACCESS_PREFIX,
    SENTINEL_CREDENTIALS,
    catalog_for,
    config_for,
    leaked_secrets,
    response_bookmarks,
    run_tap,
    truth_responses,
    upsert,
)
from support.tap import sandbox
from support.taprun import TAP_COMMAND, tap_process_env, write_inputs

SEEDS = range(20)
COUNTS: dict[str, int] = {"killed": 0, "runs": 0, "records": 0}


def _run_until_killed(
    config: dict[str, Any], state: dict[str, Any] | None, kill_after: int | None, workdir: Path
) -> tuple[list[dict[str, Any]], bool, str]:
    """Run the tap as a process; SIGKILL it once it has written ``kill_after`` lines.

    Returns the messages a target would have received, whether the process was killed, and stderr.
    """
    workdir.mkdir()
    command = [*TAP_COMMAND, *write_inputs(workdir, config, state, catalog_for())]
    env = tap_process_env()
    stderr_path = workdir / "stderr.txt"
    messages: list[dict[str, Any]] = []
    killed = False
    with (
        stderr_path.open("wb") as stderr,
        subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr
        ) as process,
    ):
        assert process.stdout is not None
        for count, line in enumerate(process.stdout, start=1):
            if line.startswith(b"{"):
                messages.append(json.loads(line))
            if kill_after is not None and count >= kill_after:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
        process.wait(timeout=60)
        if not killed:
            assert process.returncode == 0, stderr_path.read_text()[-3000:]
    return messages, killed, stderr_path.read_text()


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_and_resumed_sync_holds_the_truth(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    with sandbox(
        seed=200 + seed, surveys=4, responses=25, users=10, credentials=SENTINEL_CREDENTIALS
    ) as handle:
        config = config_for(handle, oauth=seed % 2 == 1)
        reference = run_tap(config)  # how many lines a whole run writes (nothing is kept from it)
        assert reference.ok, reference.failure_summary or reference.error_text[-2000:]
        total_lines = len(reference.stdout.splitlines())
        target: dict[tuple[str, str], dict[str, Any]] = {}
        state: dict[str, Any] | None = None
        kills = rng.randint(1, 2)
        for attempt in range(kills + 1):
            kill_after = rng.randint(1, total_lines - 1) if attempt < kills else None
            messages, killed, stderr = _run_until_killed(
                config, state, kill_after, tmp_path / f"run{attempt}"
            )
            records = [
                m["record"]
                for m in messages
                if m["type"] == "RECORD" and m["stream"] == "responses"
            ]
            upsert(target, records)
            states = [m["value"] for m in messages if m["type"] == "STATE"]
            if states:
                # Bookmarks never move backwards and never pass a record the target did not get.
                for survey_id, value in response_bookmarks(states[-1]).items():
                    previous = response_bookmarks(state).get(survey_id)
                    assert previous is None or value is None or value >= previous
                state = states[-1]
            text = stderr + json.dumps(messages)
            assert (
                leaked_secrets(
                    text,
                    [SENTINEL_CREDENTIALS[k] for k in ("api_token", "client_id", "client_secret")],
                )
                == []
            )
            assert SENTINEL_ACCESS_PREFIX not in text
            COUNTS["runs"] += 1
            COUNTS["killed"] += int(killed)
            COUNTS["records"] += len(records)
            if not killed:
                break
        else:
            pytest.fail(
                "the last run was killed"
            )  # pragma: no cover - the last run has no kill point
        truth = truth_responses(handle.truth())

    assert set(target) == set(truth)
    assert {k: r["last_modified_date"][:23] for k, r in target.items()} == {
        k: ts.rstrip("Z") for k, ts in truth.items()
    }


def test_crash_counts_are_meaningful() -> None:
    if COUNTS["runs"] == 0:
        pytest.skip("run together with the crash tests")
    print(f"\ncrash suite: {COUNTS}")
    assert COUNTS["killed"] >= len(SEEDS)
