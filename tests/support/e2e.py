"""Helpers for the end-to-end tests: the real Meltano running the tap against a sandbox in this process.

``meltano_setup`` is scripts/meltano_setup.py and ``local_postgres`` scripts/local_postgres.py (``scripts`` is
on the tests' ``pythonpath``).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import local_postgres
import meltano_setup

from support.paths import REPO

__all__ = [
    "FAST_TAP_ENV",
    "REPO",
    "SDC_PREFIX",
    "MeltanoProject",
    "expected_postgres_type",
    "local_postgres",
    "meltano_setup",
    "plain",
    "records_by_stream",
    "truth_timestamp",
    "without_sdc",
]

#: Settings that keep runs fast and let a run see a mutation made just before it.
FAST_TAP_ENV = {
    "TAP_QUALTRICS_EXPORT_SAFETY_LAG_SECONDS": "0",
    "TAP_QUALTRICS_EXPORT_POLL_INTERVAL_SECONDS": "0",
    "TAP_QUALTRICS_RETRY_DELAY": "0",
    "TAP_QUALTRICS_REQUEST_TIMEOUT": "30",
}
SDC_PREFIX = "_sdc_"


@dataclass
class MeltanoProject:
    """One isolated use of the project's Meltano: its own system database and state, one sandbox."""

    workdir: Path
    env: dict[str, str]

    @classmethod
    def for_sandbox(cls, sandbox: Any, workdir: Path, **extra: str) -> MeltanoProject:
        env = {
            "TAP_QUALTRICS_BASE_URL": sandbox.base_url,
            "TAP_QUALTRICS_API_TOKEN": sandbox.api_token,
            **FAST_TAP_ENV,
            # Runs of other test sessions or of `make demo` never see this run's state or job history.
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            "MELTANO_STATE_BACKEND_URI": (workdir / "state").as_uri(),
            **extra,
        }
        return cls(workdir, env)

    def meltano(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = meltano_setup.run_meltano(list(args), self.env, timeout=300)
        assert result.returncode == 0, f"meltano {' '.join(args)} failed:\n{result.stderr[-6000:]}"
        return result

    def run(self, *plugins: str) -> str:
        """``meltano run <plugins>``; returns its log."""
        return self.meltano("run", *plugins).stderr

    def selected_streams(self) -> dict[str, dict[str, Any]]:
        """The streams Meltano hands the tap as selected: name -> {"key_properties", "schema"}."""
        catalog = json.loads(self.meltano("invoke", "--dump=catalog", "tap-qualtrics").stdout)
        streams = {}
        for entry in catalog["streams"]:
            root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
            if root.get("selected", root.get("selected-by-default", False)):
                streams[entry["tap_stream_id"]] = {
                    "key_properties": root.get("table-key-properties")
                    or entry.get("key_properties")
                    or [],
                    "schema": entry["schema"],
                }
        return streams


def expected_postgres_type(prop: dict[str, Any]) -> str:
    """The PostgreSQL type (``udt_name``) target-postgres 0.8 gives a JSON Schema property."""
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    types.discard("null")
    if "anyOf" in prop and not types:
        return "text"
    if (
        "array" in types
    ):  # a PostgreSQL array of the item type; an array without items is one jsonb value
        items = prop.get("items")
        if isinstance(items, dict):
            return (
                "_" + expected_postgres_type({"type": items["type"]})
                if "type" in items
                else "_jsonb"
            )
        return "_jsonb" if isinstance(items, list) else "jsonb"
    if "object" in types:
        return "jsonb"
    if "string" in types:
        return {"date-time": "timestamp", "date": "date", "time": "time", "uuid": "uuid"}.get(
            prop.get("format", ""), "text"
        )
    if "number" in types:
        return "numeric"
    if "integer" in types:
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and high is not None:
            if low >= -(2**15) and high < 2**15:
                return "int2"
            if low >= -(2**31) and high < 2**31:
                return "int4"
        return "int8"
    if "boolean" in types:
        return "bool"
    return "text"


def plain(value: Any) -> Any:
    """A value read back from a database or a Singer message, in one comparable form."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "isoformat") and hasattr(
        value, "hour"
    ):  # naive UTC datetime from the database
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def records_by_stream(singer_output: str) -> dict[str, list[dict[str, Any]]]:
    """The RECORD messages of a tap's stdout, per stream, in :func:`plain` form (numbers exact, then float)."""
    records: dict[str, list[dict[str, Any]]] = {}
    for line in singer_output.splitlines():
        if line.startswith("{"):
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "RECORD":
                records.setdefault(message["stream"], []).append(plain(message["record"]))
    return records


def without_sdc(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if not key.startswith(SDC_PREFIX)}


def truth_timestamp(text: str) -> str:
    """The sandbox's ``2024-01-02T03:04:05.123Z`` in the tap's microsecond form."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return f"{head}.{fraction.ljust(6, '0')}Z"
