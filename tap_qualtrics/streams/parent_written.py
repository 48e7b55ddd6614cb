"""Streams whose rows their parent writes during its own pass, instead of one SDK child sync per parent record.

A child synced the SDK's way writes a SCHEMA message and a log line per parent record, and its records follow
the parent's record. The rows here must come *before* the record that vouches for them (a response's answer
rows before the response; a check's response IDs before the check), so the parent writes them itself: the
SCHEMA once, the rows straight to the tap's writer, counted per partition in the ``record_count`` metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from singer_sdk import metrics
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream


class ParentWrittenStream(QualtricsStream):
    """A child stream fed by its parent (``write_rows``); it never syncs records of its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written = 0
        self._counter: metrics.Counter | None = None

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Nothing of its own: the parent writes the rows."""
        return ()

    def write_schema(self) -> None:
        """The SCHEMA message (once per run, before any row)."""
        self._write_schema_message()

    def start_counting(self, context: Context) -> None:
        """Count this partition's rows in a ``record_count`` metric (logged when :meth:`stop_counting` runs)."""
        self.stop_counting()
        self._counter = self.get_record_counter()
        self._counter.with_context(dict(context))

    def stop_counting(self) -> None:
        counter, self._counter = self._counter, None
        if counter is not None:
            counter.exit()

    def write_rows(self, rows: Sequence[Mapping[str, Any] | msgspec.Struct]) -> None:
        """RECORD messages for ``rows`` (already in this stream's schema: dictionaries, or structs whose fields
        are its properties), in the order given."""
        limit = self.ABORT_AT_RECORD_COUNT
        if limit is not None:  # dry runs (--test, the SDK test suite) cap every stream
            rows = rows[: max(0, limit - self._written)]
        if not rows:
            return
        self._written += len(rows)
        if self._counter is not None:
            self._counter.increment(len(rows))
        writer = self.record_writer
        if writer is None:
            for row in rows:
                self._write_record_message(
                    msgspec.structs.asdict(row) if isinstance(row, msgspec.Struct) else dict(row)
                )
            return
        writer.write_records(self.name, rows, self._stream_version)
