"""Removed rows of the streams read in full each run reach the target: ACTIVATE_VERSION after a complete read.

A stream such as ``users`` or ``mailing_list_contacts`` is re-read in full on every run, so a row that is
gone from Qualtrics (a deleted user, a member removed from a list) simply stops being emitted, and an
upserting target keeps it forever. The Singer answer is table versions: every record of the run carries
the run's version, and ACTIVATE_VERSION tells the target that rows of older versions are gone
(target-postgres sets ``_sdc_deleted_at`` on them, or deletes them with ``hard_delete``).

The SDK sends ACTIVATE_VERSION when a stream *starts*, once per partition; a target then marks every row
deleted until it is emitted again, and a run that fails halfway leaves live rows marked. Here it is sent
once per stream, when the top-level stream it is read under has finished, and only when the stream and
the streams it is read through were read completely (no directory, list or survey refused, no page
failed). A run that stops early sends none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from singer_sdk import Stream

    from tap_qualtrics.run import SyncRun

logger = logging.getLogger("tap-qualtrics")


def activate_after_read(top: Stream, run: SyncRun, version: int) -> None:
    """``top`` and its children have finished: ACTIVATE_VERSION for each selected full-table stream among
    them that was read completely; a warning naming the others."""
    skipped = []
    for stream, lineage in _with_descendants(top, ()):
        if not (stream.selected and getattr(stream, "read_in_full", False)):
            continue
        if run.incomplete_streams.intersection(lineage):
            skipped.append(stream.name)
            continue
        # a SCHEMA first: a target knows no stream it saw no SCHEMA for (a child with no parent records)
        stream._write_schema_message()  # noqa: SLF001
        stream._write_activate_version_message(version)  # noqa: SLF001 - honours stream maps and aliases
    if skipped:
        logger.warning(
            "Rows removed from %s are not marked as deleted this run: not every part was read.",
            ", ".join(skipped),
        )


def _with_descendants(
    stream: Stream, ancestors: tuple[str, ...]
) -> Iterator[tuple[Stream, tuple[str, ...]]]:
    """Each stream with its own and its parents' names: a list not read means its members were not read."""
    lineage = (*ancestors, stream.name)
    yield stream, lineage
    for child in stream.child_streams:
        yield from _with_descendants(child, lineage)
