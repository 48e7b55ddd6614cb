"""Helpers for the account-stream tests: the tap run in-process against a sandbox over real HTTP.

In-process runs are fast and let a test read the run's failure ledger; the exit code and the last
words of a run are checked with a real subprocess where that is the point (see
test_directory_permissions.py).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # a plain checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from qualtrics_sandbox.server import running_sandbox  # noqa: E402
from tap_qualtrics.tap import TapQualtrics  # noqa: E402
from tap_qualtrics.model.timestamps import normalize_timestamp, parse_timestamp  # noqa: E402

ACCOUNT_STREAMS = (
    "directories",
    "contacts",
    "mailing_lists",
    "mailing_list_contacts",
    "distributions",
    "distribution_contacts",
    "groups",
    "divisions",
)
FAST_SETTINGS: dict[str, Any] = {
    "export_poll_interval_seconds": 0,
    "retry_delay": 0,
    "export_safety_lag_seconds": 0,
    "request_timeout": 30,
}


#: First runs keep this much lag, so changes stamped just after their window edge are already in the
#: past when the second run (no lag) starts: no waiting for the wall clock's next second.
FIRST_RUN_LAG = {"export_safety_lag_seconds": 2}


@contextlib.contextmanager
def sandbox(**kwargs: Any) -> Iterator[Any]:
    """A small sandbox whose data was generated an hour ago (nothing falls into a first run's lag)."""
    built = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    options: dict[str, Any] = {
        "seed": 8,
        "surveys": 4,
        "responses": 6,
        "users": 10,
        "export_polls": 1,
        "now": built,
    }
    options.update(kwargs)
    with running_sandbox(**options) as handle:
        yield handle


def token_config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "api_token": handle.api_token,
        "base_url": handle.base_url,
        **FAST_SETTINGS,
        **overrides,
    }


@dataclass
class Run:
    """What one in-process sync wrote, and the failures it recorded."""

    messages: list[dict[str, Any]]
    failures: Any
    tap: TapQualtrics = field(repr=False)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def final_state(self) -> dict[str, Any]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"][-1]

    def bookmarks(self, stream: str, key: str) -> dict[str, str | None]:
        partitions = self.final_state["bookmarks"].get(stream, {}).get("partitions", [])
        return {p["context"][key]: p.get("replication_key_value") for p in partitions}


def catalog_selecting(
    config: dict[str, Any], streams: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    """The discovered catalog with only ``streams`` selected."""
    catalog = TapQualtrics(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def sync(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: tuple[str, ...] | list[str] | None = ACCOUNT_STREAMS,
) -> Run:
    """Run one sync in this process; ``streams`` selects streams (None: the default catalog)."""
    catalog = None if streams is None else catalog_selecting(config, streams)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap = TapQualtrics(config=config, state=state, catalog=catalog)
        tap.sync_all()
    messages = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return Run(messages, tap.run.failures, tap)


def stamp_changes_after(handle: Any, window_edge: str) -> None:
    """Stamp the coming sandbox changes just after a first run's window edge: as if they happened
    during that run, inside its safety lag (``FIRST_RUN_LAG``), the case the window exists for."""
    edge = parse_timestamp(window_edge)
    handle.account.now_fn = lambda: edge + datetime.timedelta(milliseconds=5)


def norm(value: str | None) -> str | None:
    return normalize_timestamp(value)


def requests_by_endpoint(handle: Any) -> dict[str, int]:
    return dict(handle.stats()["requests"])


def assert_no_side_effect_endpoint(handle: Any) -> None:
    """Nothing with a side effect was called: no /links, nothing unmatched, nothing but GET/POST
    reads (the only POSTs are contact search and the response exports)."""
    endpoints = requests_by_endpoint(handle)
    assert not [e for e in endpoints if "/links" in e or "unmatched" in e], endpoints
    assert not [e for e in endpoints if e.split()[0] not in ("GET", "POST")], endpoints
    posts = {e for e in endpoints if e.startswith("POST ")}
    assert posts <= {
        "POST /directories/{directoryId}/contacts/search",
        "POST /surveys/{surveyId}/export-responses",
        "POST /oauth2/token",
    }, posts
    assert handle.truth()["links_side_effects"] == 0
