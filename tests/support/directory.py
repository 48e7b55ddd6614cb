"""Helpers for the account-stream (XM Directory) tests: a sandbox whose data is an hour old, and the tap
run in-process (:func:`support.taprun.run_tap_in_process`) with the account streams selected.

In-process runs are fast and let a test read the run's failure ledger; the exit code and the last
words of a run are checked with a real subprocess where that is the point (see
tests/directory/test_directory_permissions.py).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

from qualtrics_sandbox.server import running_sandbox
from support.paths import REPO
from support.taprun import FAST_SETTINGS, TapRun, run_tap_in_process
from tap_qualtrics.model.timestamps import normalize_timestamp, parse_timestamp
from tap_qualtrics.tap import TapQualtrics

__all__ = [
    "ACCOUNT_STREAMS",
    "FAST_SETTINGS",
    "FIRST_RUN_LAG",
    "REPO",
    "TapRun",
    "assert_no_side_effect_endpoint",
    "catalog_selecting",
    "norm",
    "requests_by_endpoint",
    "sandbox",
    "stamp_changes_after",
    "sync",
    "token_config",
]

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
) -> TapRun:
    """Run one sync in this process (an exception propagates); ``streams`` selects streams (None: the
    default catalog)."""
    catalog = None if streams is None else catalog_selecting(config, streams)
    return run_tap_in_process(config, state=state, catalog=catalog)


def stamp_changes_after(handle: Any, window_edge: str) -> None:
    """Stamp the coming sandbox changes just after a first run's window edge: as if they happened
    during that run, inside its safety lag (``FIRST_RUN_LAG``), the case the window exists for."""
    edge = parse_timestamp(window_edge)
    handle.pin_mutation_clock(edge + datetime.timedelta(milliseconds=5))


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
