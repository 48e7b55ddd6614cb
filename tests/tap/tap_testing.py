"""Helpers for the tap's tests: sandboxes over real HTTP, and the tap run as a real subprocess."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # a plain checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from qualtrics_sandbox.server import running_sandbox  # noqa: E402
from tap_qualtrics.model.timestamps import parse_timestamp  # noqa: E402

#: Settings that keep test runs fast: no waits between polls or retries, no safety lag.
FAST_SETTINGS: dict[str, Any] = {
    "export_poll_interval_seconds": 0,
    "retry_delay": 0,
    "export_safety_lag_seconds": 0,
    "request_timeout": 30,
}


@contextmanager
def sandbox(**kwargs: Any) -> Iterator[Any]:
    """A small sandbox account on loopback (export jobs finish on the second poll)."""
    options: dict[str, Any] = {"seed": 7, "surveys": 4, "responses": 12, "users": 12, "export_polls": 1}
    options.update(kwargs)
    with running_sandbox(**options) as handle:
        yield handle


def token_config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return {"api_token": handle.api_token, "base_url": handle.base_url, **FAST_SETTINGS, **overrides}


def oauth_config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": handle.client_id,
        "client_secret": handle.client_secret,
        "base_url": handle.base_url,
        **FAST_SETTINGS,
        **overrides,
    }


@dataclass
class TapRun:
    """The outcome of one ``tap-qualtrics`` process."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def response_bookmarks(self) -> dict[str, str | None]:
        partitions = self.final_state["bookmarks"].get("responses", {}).get("partitions", [])
        return {p["context"]["survey_id"]: p.get("replication_key_value") for p in partitions}

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def run_tap_process(
    config: dict[str, Any],
    workdir: Path,
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 120,
    wrapper: tuple[str, ...] = (),
) -> TapRun:
    """Run ``python -m tap_qualtrics`` in ``workdir`` (which must stay empty: nothing goes to the CWD)."""
    inputs = workdir.parent / f"{workdir.name}-inputs"
    inputs.mkdir(exist_ok=True)
    command = [*wrapper, sys.executable, "-m", "tap_qualtrics"]
    for name, document in (("config", config), ("state", state), ("catalog", catalog)):
        if document is not None:
            path = inputs / f"{name}.json"
            path.write_text(json.dumps(document))
            command += [f"--{name}", str(path)]
    command += list(args)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("TAP_QUALTRICS_LOGLEVEL", None)
    completed = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    return TapRun(completed.returncode, completed.stdout, completed.stderr, messages)


def stamp_mutations_after(handle: Any, window_edge: str) -> None:
    """Make the sandbox stamp the coming changes just after the first run's window edge.

    Changes made right after a run can share the wall-clock second of the next run's start, and the
    window edge is whole seconds. Stamping them at the edge (as if they happened during the first run)
    is the case the window exists for, and keeps the test free of sleeps.
    """
    edge = parse_timestamp(window_edge)
    handle.account.now_fn = lambda: edge + datetime.timedelta(milliseconds=5)
    # The next run's window must end after the edge: it starts at least one second after it.
    remaining = edge.timestamp() + 1.0 - time.time()
    if remaining > 0:  # practically never: a run takes longer than that
        time.sleep(remaining)


def selected_catalog(streams: Iterable[str]) -> dict[str, Any]:
    """The tap's own catalog with only ``streams`` selected."""
    from tap_qualtrics.tap import TapQualtrics

    wanted = set(streams)
    catalog = TapQualtrics(config={}, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog
