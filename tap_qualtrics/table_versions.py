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

A shard (the ``shard`` setting, :mod:`tap_qualtrics.shards`) reads only part of the streams that hang off
surveys and directories (mailing lists and members, distribution contacts, in-progress responses), while
ACTIVATE_VERSION acts on the whole table: one shard's would mark every other shard's rows deleted. So a
shard sends none for them; it records each complete read in its state instead
(``last_complete_read``: the read's table version and the shard count), and once every shard has read
such a stream completely, the orchestrator activates the oldest of their versions
(``tap_qualtrics_orchestration``; docs/shards.md). The account-wide streams, which shard 0 reads whole,
are activated by shard 0 as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from singer_sdk import Stream

    from tap_qualtrics.run import SyncRun

logger = logging.getLogger("tap-qualtrics")


#: a shard's state entry for a stream it reads only part of: its last complete read (see above)
COMPLETE_READ_KEY = "last_complete_read"


def note_complete_reads(top: Stream, run: SyncRun, version: int) -> None:
    """A shard: each stream among ``top`` and its children that this shard reads only part of, and read
    completely, records ``version`` in its state (call before the stream's last STATE is written)."""
    shard = run.settings.shard
    if shard is None:
        return
    noted = []
    for stream, complete in _full_reads(top, run):
        if complete and _split_across_shards(stream, run):
            stream.stream_state[COMPLETE_READ_KEY] = {
                "table_version": version,
                "shard_count": shard.count,
            }
            noted.append(stream.name)
    if noted:
        logger.info(
            "%s read %s completely; their ACTIVATE_VERSION waits for the other shards (docs/shards.md).",
            str(shard).capitalize(),
            ", ".join(noted),
        )


def activate_after_read(top: Stream, run: SyncRun, version: int) -> None:
    """``top`` and its children have finished: ACTIVATE_VERSION for each selected full-table stream among
    them that was read completely (and, by a shard, whole); a warning naming the others."""
    skipped = []
    for stream, complete in _full_reads(top, run):
        if not complete:
            skipped.append(stream.name)
            continue
        if _split_across_shards(stream, run):
            continue  # note_complete_reads
        # a SCHEMA first: a target knows no stream it saw no SCHEMA for (a child with no parent records)
        stream._write_schema_message()  # noqa: SLF001
        stream._write_activate_version_message(version)  # noqa: SLF001 - honours stream maps and aliases
    if skipped:
        logger.warning(
            "Rows removed from %s are not marked as deleted this run: not every part was read.",
            ", ".join(skipped),
        )


def _full_reads(top: Stream, run: SyncRun) -> Iterator[tuple[Stream, bool]]:
    """Each selected stream read in full among ``top`` and its children, and whether it was read
    completely (a list not read means its members were not read)."""
    for stream, lineage in _with_descendants(top, ()):
        if stream.selected and getattr(stream, "read_in_full", False):
            yield stream, not run.incomplete_streams.intersection(lineage)


def _split_across_shards(stream: Stream, run: SyncRun) -> bool:
    """Whether this run reads only part of the stream: a shard's part of a stream that is not account-wide."""
    return run.settings.shard is not None and not getattr(stream, "account_wide", False)


def _with_descendants(
    stream: Stream, ancestors: tuple[str, ...]
) -> Iterator[tuple[Stream, tuple[str, ...]]]:
    """Each stream with its own and its parents' names."""
    lineage = (*ancestors, stream.name)
    yield stream, lineage
    for child in stream.child_streams:
        yield from _with_descendants(child, lineage)
