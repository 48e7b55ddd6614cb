"""SIGTERM and SIGINT end the tap at once and non-zero (a scheduler must see a partial run as a failure),
abandoning exports in flight, leaving no temporary file, and never writing a STATE past a record that was not
written. The real process, signalled while it works."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.reliability import response_bookmarks, truth_responses
from support.tap import sandbox, selected_catalog, token_config
from support.taprun import TAP_COMMAND, tap_process_env, write_inputs

PROGRESS = "GET /surveys/{surveyId}/export-responses/{exportProgressId}"
GRACE_SECONDS = 30  # an orchestrator's usual grace period; the tap needs a small fraction of it


def _start(config: dict[str, Any], workdir: Path) -> subprocess.Popen[str]:
    inputs = write_inputs(workdir, config, catalog=selected_catalog(["responses"]))
    spool = workdir / "tmp"
    spool.mkdir()
    env = tap_process_env(TMPDIR=str(spool))  # where export files are spooled
    command = [*TAP_COMMAND, *inputs]
    with (workdir / "stderr.log").open(
        "w"
    ) as log:  # a file: a pipe nobody reads could stall the tap
        return subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )


def _finish(process: subprocess.Popen[str], workdir: Path) -> tuple[str, str]:
    """The rest of stdout (through the same reader that may already hold part of it), and the log."""
    assert process.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(process.stdout.read()), daemon=True)
    reader.start()
    reader.join(GRACE_SECONDS)
    if (
        reader.is_alive()
    ):  # still working after the grace period: an orchestrator would SIGKILL it now
        process.kill()
        reader.join()
        process.stdout.close()
        pytest.fail(f"the tap did not exit within {GRACE_SECONDS} s of the signal")
    process.stdout.close()
    process.wait(timeout=GRACE_SECONDS)
    return out[0], (workdir / "stderr.log").read_text()


def _wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + GRACE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def _messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_exports_ends_the_run_at_once_and_non_zero(
    signum: int, tmp_path: Path
) -> None:
    # exports that never complete: before, the tap waited for every one in flight (and exited 0)
    with sandbox(seed=541, surveys=3, responses=5, export_polls=10**9) as handle:
        config = {**token_config(handle), "export_timeout_seconds": 3600}
        process = _start(config, tmp_path)
        _wait_until(lambda: handle.stats()["requests"].get(PROGRESS, 0) >= 3, "exports in flight")
        process.send_signal(signum)
        stdout, stderr = _finish(process, tmp_path)
        polls_when_done = handle.stats()["requests"].get(PROGRESS, 0)
        polls_later = handle.stats()["requests"].get(PROGRESS, 0)
    assert process.returncode == 128 + signum
    name = signal.Signals(signum).name
    assert f"Stopped by {name} before the sync finished" in stderr
    assert polls_later == polls_when_done  # nothing is still polling
    assert list((tmp_path / "tmp").iterdir()) == []  # no export file left behind
    assert stdout == "" or stdout.endswith("\n")  # no message cut in two
    for message in _messages(stdout):
        if message["type"] == "STATE":
            assert all(v is None for v in response_bookmarks(message["value"]).values())


def test_a_signal_while_records_are_written_leaves_a_state_that_covers_only_written_records(
    tmp_path: Path,
) -> None:
    with sandbox(seed=542, surveys=1, responses=1500, questions=60) as handle:
        truth = truth_responses(handle.truth())
        process = _start(token_config(handle), tmp_path)
        assert process.stdout is not None
        head = []
        for line in process.stdout:  # the first block of records is out: many more are being built
            head.append(line)
            if line.startswith('{"type":"RECORD"'):
                break
        process.send_signal(signal.SIGTERM)
        rest, stderr = _finish(process, tmp_path)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    output = "".join(head) + rest
    assert output.endswith("\n")  # no message cut in two
    messages = _messages(output)
    written = {
        (m["record"]["survey_id"], m["record"]["response_id"])
        for m in messages
        if m["type"] == "RECORD"
    }
    assert 0 < len(written) < len(truth)  # stopped in the middle
    seen: set[tuple[str, str]] = set()
    for message in messages:
        if message["type"] == "RECORD":
            seen.add((message["record"]["survey_id"], message["record"]["response_id"]))
        elif message["type"] == "STATE":
            for survey_id, bookmark in response_bookmarks(message["value"]).items():
                if bookmark is None:
                    continue
                below = {
                    key
                    for key, modified in truth.items()
                    if key[0] == survey_id and modified < bookmark
                }
                assert below <= seen, "a STATE covers responses not written before it"
