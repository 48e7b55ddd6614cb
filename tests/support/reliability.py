"""Helpers for the reliability suites: in-process tap runs with every output captured, the sandbox's
truth as an upserting target would hold it, and a scan of all output for secret bytes."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jsonschema.validators import validator_for

from support.tap import selected_catalog
from support.taprun import TapRun, run_tap_in_process

#: Sentinel credentials: any of these bytes in any output is a leak.
SENTINEL_TOKEN = "SentinelApiToken0123456789abcdefXYZ"
SENTINEL_CLIENT_ID = "sentinelclientid0123456789"
SENTINEL_SECRET = "SentinelClientSecret0123456789abcdefXYZ"
SENTINEL_ACCESS_PREFIX = "SentinelAccess-"
SENTINEL_CREDENTIALS = {
    "api_token": SENTINEL_TOKEN,
    "client_id": SENTINEL_CLIENT_ID,
    "client_secret": SENTINEL_SECRET,
    "access_token_prefix": SENTINEL_ACCESS_PREFIX,
}
#: The streams whose records the suites compare with the truth (others are deselected: faster runs).
COMPARED_STREAMS = ("surveys", "responses", "users")

FAST: dict[str, Any] = {
    "export_poll_interval_seconds": 0,
    "retry_delay": 0,
    "export_safety_lag_seconds": 0,
    "request_timeout": 20,
}


def config_for(handle: Any, *, oauth: bool, **overrides: Any) -> dict[str, Any]:
    credentials = (
        {"client_id": handle.client_id, "client_secret": handle.client_secret}
        if oauth
        else {"api_token": handle.api_token}
    )
    return {**credentials, "base_url": handle.base_url, **FAST, **overrides}


def catalog_for(streams: Iterable[str] = COMPARED_STREAMS) -> dict[str, Any]:
    """The tap's own catalog with only ``streams`` selected."""
    return selected_catalog(streams)


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> TapRun:
    """One sync in this process (``catalog`` None: the compared streams), with DEBUG logging of every
    library captured (urllib3 included) and whatever error it ends with kept, not raised."""
    return run_tap_in_process(
        config,
        state=state,
        catalog=catalog or catalog_for(),
        log_level=logging.DEBUG,
        raise_errors=False,
    )


def truth_responses(truth: dict[str, Any]) -> dict[tuple[str, str], str]:
    """``(survey_id, response_id) -> last modified`` of every finished response."""
    return {
        (sid, rid): ts for sid, s in truth["surveys"].items() for rid, ts in s["responses"].items()
    }


def upsert(
    target: dict[tuple[str, str], dict[str, Any]], records: Iterable[dict[str, Any]]
) -> None:
    """What a target keyed on the primary key holds after loading ``records``."""
    for record in records:
        target[(record["survey_id"], record["response_id"])] = record


def response_bookmarks(state: dict[str, Any] | None) -> dict[str, str | None]:
    if not state:
        return {}
    partitions = state.get("bookmarks", {}).get("responses", {}).get("partitions", [])
    return {p["context"]["survey_id"]: p.get("replication_key_value") for p in partitions}


class SchemaCheck:
    """A stream's JSON Schema applied to many records, fast enough for hundreds of thousands of rows.

    For a flat schema (every property only typed, at most with ``format: date-time``) whether a record
    is valid depends only on its shape: its keys, the JSON type of each value, and whether each date-time
    value parses. One record of each shape goes through ``jsonschema``; the others are the same case.
    ``format: date-time`` is checked here (``jsonschema`` ignores formats without extra packages).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._validator = validator_for(schema)(schema)
        properties = schema.get("properties", {})
        self._datetimes = frozenset(
            name for name, spec in properties.items() if spec.get("format") == "date-time"
        )
        self._flat = all(
            set(spec) <= {"type", "description", "format"}
            and spec.get("format", "date-time") == "date-time"
            for spec in properties.values()
        )

    def errors(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Every way the records break the schema (one message per distinct shape when flat)."""
        seen: set[tuple] = set()
        found: list[str] = []
        for record in records:
            if self._flat:
                shape = tuple(
                    sorted(
                        (key, type(value).__name__, key in self._datetimes and _is_datetime(value))
                        for key, value in record.items()
                    )
                )
                if shape in seen:
                    continue
                seen.add(shape)
            found.extend(error.message for error in self._validator.iter_errors(record))
            found.extend(
                f"{key} is not a date-time: {record[key]!r}"
                for key in self._datetimes
                if record.get(key) is not None and not _is_datetime(record[key])
            )
        return found


def _is_datetime(value: Any) -> bool:
    """An RFC 3339 date-time with a time zone (``Z`` or an offset)."""
    if not isinstance(value, str) or len(value) < 20 or value[10] != "T":
        return False
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def leaked_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (or any 12-character piece of one) found in ``text``."""
    found = []
    for secret in secrets:
        pieces = {secret[i : i + 12] for i in range(max(len(secret) - 11, 1))}
        if any(piece in text for piece in pieces):
            found.append(secret[:6] + "…")
    return found


def issued_access_tokens(handle: Any) -> list[str]:
    """Every OAuth access token the sandbox issued so far."""
    return handle.app.auth.issued_access_tokens()
