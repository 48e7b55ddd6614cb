"""A host that never answers (wrong base_url port, no route) ends the whole run after one request's retries,
with one sentence; each retry is logged once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from support.taprun import TapRun, run_tap_process

from tap_qualtrics.settings import API_PATH
from tap_qualtrics.tap import TapQualtrics

MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1


def _config(base_url: str, *, oauth: bool = False) -> dict[str, object]:
    credentials = (
        {"client_id": "client-0123", "client_secret": "secret-0123"}
        if oauth
        else {"api_token": "token-0123456789"}
    )
    return {**credentials, "base_url": base_url, "max_retries": MAX_RETRIES, "retry_delay": 0}


@contextmanager
def closing_listener() -> Iterator[tuple[int, list[int]]]:
    """A loopback port that accepts each connection and closes it at once, counting them."""
    accepted: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def _run(tmp_path: Path, config: dict[str, object], args: tuple[str, ...] = ()) -> TapRun:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    return run_tap_process(config, workdir, args=args)


def _bare(line: str) -> str:
    return line.split("| ", 3)[-1]


def _sentence(port: int, why: str) -> str:
    return (
        f"Could not reach Qualtrics at http://127.0.0.1:{port} ({why}; tried {ATTEMPTS} times): "
        "check base_url or data_center, and that this machine can reach that host."
    )


@pytest.mark.parametrize("args", [(), ("--test",)], ids=["sync", "--test"])
def test_a_closed_port_ends_the_run_after_one_requests_retries(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = _run(tmp_path, _config(f"http://127.0.0.1:{port}"), args)
    assert run.returncode == 1
    assert [_bare(line) for line in run.error_lines()] == [_sentence(port, "connection refused")]
    retries = [line for line in run.stderr.splitlines() if "Retrying " in line]
    # one request (the first stream's first), retried max_retries times, each retry logged once
    assert len({_bare(line).split(" in ")[0] for line in retries}) == 1
    assert [line.split("(attempt ")[1][:6] for line in retries] == ["2 of 3", "3 of 3"]
    assert "Traceback" not in run.stderr
    assert [m for m in run.messages if m["type"] == "RECORD"] == []


@pytest.mark.parametrize("oauth", [False, True], ids=["api_token", "oauth"])
@pytest.mark.parametrize("args", [(), ("--test",)], ids=["sync", "--test"])
def test_the_host_is_tried_max_retries_plus_one_times_in_all(
    tmp_path: Path, oauth: bool, args: tuple[str, ...]
) -> None:
    with closing_listener() as (port, accepted):
        run = _run(tmp_path, _config(f"http://127.0.0.1:{port}{API_PATH}", oauth=oauth), args)
    assert run.returncode == 1
    assert len(accepted) == ATTEMPTS
    assert [_bare(line) for line in run.error_lines()] == [
        _sentence(port, "connection closed without an answer")
    ]
    assert len([line for line in run.stderr.splitlines() if "Retrying " in line]) == MAX_RETRIES
    assert "secret-0123" not in run.stderr and "token-0123456789" not in run.stderr


def test_waits_do_not_double_until_the_host_has_answered() -> None:
    """Before any answer a failed connection is likely a wrong base_url: retried every retry_delay seconds.
    After one, the usual doubling backoff applies (Retry-After aside)."""
    config = {"api_token": "token-0123456789", "base_url": "http://127.0.0.1:9", "retry_delay": 3}
    stream = TapQualtrics(config=config).streams["users"]
    refused = requests.exceptions.ConnectionError("refused")

    def first_waits() -> list[float]:
        waits = stream.backoff_wait_generator()
        next(waits)
        return [waits.send(refused) for _ in range(3)]

    assert first_waits() == [3, 3, 3]
    stream.run.reachability.note_answer()
    assert first_waits() == [3, 6, 12]
