"""Helpers for the tap's tests: a small sandbox over real HTTP, configs, catalogs, the mutation clock."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from qualtrics_sandbox.server import running_sandbox
from support.paths import REPO
from support.taprun import FAST_SETTINGS
from tap_qualtrics.model.timestamps import parse_timestamp

__all__ = [
    "FAST_SETTINGS",
    "REPO",
    "every_stream_selected",
    "give_every_stream_records",
    "oauth_config",
    "sandbox",
    "selected_catalog",
    "stamp_mutations_after",
    "token_config",
]


@contextmanager
def sandbox(**kwargs: Any) -> Iterator[Any]:
    """A small sandbox account on loopback (export jobs finish on the second poll)."""
    options: dict[str, Any] = {
        "seed": 7,
        "surveys": 4,
        "responses": 12,
        "users": 12,
        "export_polls": 1,
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


def oauth_config(handle: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": handle.client_id,
        "client_secret": handle.client_secret,
        "base_url": handle.base_url,
        **FAST_SETTINGS,
        **overrides,
    }


def stamp_mutations_after(handle: Any, window_edge: str) -> None:
    """Make the sandbox stamp the coming changes just after the first run's window edge.

    Changes made right after a run can share the wall-clock second of the next run's start, and the
    window edge is whole seconds. Stamping them at the edge (as if they happened during the first run)
    is the case the window exists for, and keeps the test free of sleeps.
    """
    edge = parse_timestamp(window_edge)
    handle.pin_mutation_clock(edge + datetime.timedelta(milliseconds=5))
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


def every_stream_selected() -> dict[str, Any]:
    """The catalog with every stream selected, as a user selects streams. (The SDK test suite's own
    select-all comes after the tap has built its stream maps, so the streams not selected by default,
    responses_in_progress and its answer rows, would be checked against a schema without properties.)"""
    from tap_qualtrics.tap import TapQualtrics

    catalog: dict[str, Any] = TapQualtrics(config={}, validate_config=False).catalog_dict
    return selected_catalog(entry["tap_stream_id"] for entry in catalog["streams"])


def give_every_stream_records(handle: Any) -> None:
    """Two responses in progress and one deleted response per survey: the generated data holds few of the
    first, and none of the second (response_deletion_checks and live_response_ids have rows only then)."""
    for survey_id in handle.truth()["surveys"]:
        handle.mutate({"survey_id": survey_id, "start": 2, "delete": 1})
