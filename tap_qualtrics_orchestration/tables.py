"""The Singer messages a sharded run sends to the target itself, before and after the shards.

Before: a SCHEMA message for every selected stream, so the target creates every table (and adds every new
column) once, before the shards load in parallel. target-postgres checks whether a table exists and then
creates it, outside any lock: two shards starting on an empty schema both try, and one fails on PostgreSQL's
catalog (``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``).

After: ACTIVATE_VERSION for the streams every shard reads part of (mailing lists and their members,
distribution contacts, in-progress responses). A shard does not send it for them: it would mark the other
shards' rows deleted. Each shard records its last complete read of such a stream in its state
(``last_complete_read``: table version, shard count; tap_qualtrics/table_versions.py). When every shard of
the current count has one, the oldest version is activated: a row older than it was not emitted by the
complete read of the shard that owns it, so it is gone from Qualtrics; every row still there was emitted
again with a newer version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tap_qualtrics.table_versions import COMPLETE_READ_KEY


def _root_metadata(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    for item in entry.get("metadata") or ():
        if item.get("breadcrumb") == []:
            metadata: Mapping[str, Any] = item.get("metadata") or {}
            return metadata
    return {}


def _selected(metadata: Mapping[str, Any]) -> bool:
    if metadata.get("inclusion") == "automatic":
        return True
    if metadata.get("inclusion") == "unsupported":
        return False
    return bool(metadata.get("selected", metadata.get("selected-by-default", False)))


def schema_messages(
    catalog: Mapping[str, Any], streams: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """SCHEMA messages of the catalog's selected streams (or of ``streams`` among them), each schema
    without its deselected properties, as the tap sends them."""
    messages = []
    for entry in catalog.get("streams") or ():
        name = entry.get("stream") or entry["tap_stream_id"]
        root = _root_metadata(entry)
        if not _selected(root) or (streams is not None and name not in streams):
            continue
        schema = dict(entry["schema"])
        properties = dict(schema.get("properties") or {})
        for item in entry.get("metadata") or ():
            breadcrumb = item.get("breadcrumb") or []
            is_property = len(breadcrumb) == 2 and breadcrumb[0] == "properties"  # noqa: PLR2004
            if is_property and not _selected(item.get("metadata") or {}):
                properties.pop(breadcrumb[1], None)
        schema["properties"] = properties
        messages.append(
            {
                "type": "SCHEMA",
                "stream": name,
                "schema": schema,
                "key_properties": list(
                    root.get("table-key-properties") or entry.get("key_properties") or []
                ),
            }
        )
    return messages


def activation_versions(
    states: Sequence[Mapping[str, Any] | None], count: int
) -> tuple[dict[str, int], list[str]]:
    """Stream -> the table version to activate: the oldest last complete read among ``states`` (one per
    shard, ``None`` for a shard with no state yet), for the streams every shard of ``count`` read
    completely while there were ``count`` shards; and the streams read in part still waiting for that."""
    if len(states) != count:
        raise ValueError(f"{count} shard states are needed, {len(states)} were given")
    reads: dict[str, list[int]] = {}
    for state in states:
        bookmarks = (state or {}).get("bookmarks") or {}
        for stream, entry in bookmarks.items():
            read = entry.get(COMPLETE_READ_KEY) if isinstance(entry, Mapping) else None
            if not isinstance(read, Mapping):
                continue
            versions = reads.setdefault(stream, [])
            if read.get("shard_count") == count:
                versions.append(int(read["table_version"]))
    ready = {stream: min(versions) for stream, versions in reads.items() if len(versions) == count}
    return dict(sorted(ready.items())), sorted(reads.keys() - ready.keys())


def activation_messages(
    catalog: Mapping[str, Any], versions: Mapping[str, int]
) -> list[dict[str, Any]]:
    """For each stream of ``versions`` still selected: its SCHEMA (a target knows no stream it saw no SCHEMA
    for), then ACTIVATE_VERSION."""
    messages: list[dict[str, Any]] = []
    for schema in schema_messages(catalog, list(versions)):
        stream = schema["stream"]
        messages += [
            schema,
            {"type": "ACTIVATE_VERSION", "stream": stream, "version": versions[stream]},
        ]
    return messages
