"""``response_answers`` and ``response_embedded_data``: each response decomposed in the export pass of ``responses``.

Both are children of ``responses`` (selecting either runs the response export) but are not synced once per
parent record the SDK's way; :class:`tap_qualtrics.streams.response_children.ResponseChildren` feeds them from the
export pass of ``responses`` (why: that module's docstring and docs/answer-model.md §6).

The rows are built to their schema, so they go to the tap's writer directly, skipping the SDK's per-record
conformance and serialization (~30-70 us per row, hundreds of rows per response), unless stream maps,
flattening or property deselection need the SDK's record path. Their ``record_count`` metrics are counted
per survey, as the SDK counts a stream's records per partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from singer_sdk import Stream, StreamSchema, metrics
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.response_children import ROLE_ANSWERS, ROLE_EMBEDDED_DATA
from tap_qualtrics.streams.responses import ResponsesStream


class ResponseChildStream(QualtricsStream):
    """A stream whose rows ``ResponseChildren`` writes while its parent is exported: ``responses`` here,
    ``responses_in_progress`` for the in-progress twins (tap_qualtrics/streams/responses_in_progress.py)."""

    parent_stream_type: type[Stream] | None = ResponsesStream
    #: Incremental on the same key as ``responses``: each row carries its response's last-modified date, and a
    #: run writes the rows of exactly the responses it exports (those modified since the survey's bookmark).
    #: The catalog says so (INCREMENTAL, key ``last_modified_date``). The bookmark itself is kept by
    #: ``responses`` alone: these streams are never synced the SDK's way, so they write no state.
    replication_key = "last_modified_date"
    # No bookmark of its own: the rows follow the responses bookmark.
    state_partitioning_keys: ClassVar[list[str]] = []
    required_scopes: ClassVar[tuple[str, ...]] = ("read:surveys", "read:survey_responses")
    schema = StreamSchema(SCHEMAS)
    #: how ResponseChildren recognises the stream
    role: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written = 0
        self._counter: metrics.Counter | None = None

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Nothing of its own: the rows are written in the export pass of ``responses``."""
        return ()

    def write_schema(self) -> None:
        """The SCHEMA message (once per run, before any row)."""
        self._write_schema_message()

    def start_counting(self, context: Context) -> None:
        """Count this survey's rows in a ``record_count`` metric (logged when :meth:`stop_counting` runs)."""
        self.stop_counting()
        self._counter = self.get_record_counter()
        self._counter.with_context(dict(context))

    def stop_counting(self) -> None:
        counter, self._counter = self._counter, None
        if counter is not None:
            counter.exit()

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        """RECORD messages for ``rows`` (already in this stream's schema); the caller has ordered them before
        the response's own record."""
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
                self._write_record_message(row)
            return
        writer.write_records(self.name, rows, self._stream_version)


class ResponseAnswersStream(ResponseChildStream):
    """One row per answered (or seen-but-unanswered) cell of each response."""

    name = "response_answers"
    primary_keys = ("answer_id",)
    role = ROLE_ANSWERS


class ResponseEmbeddedDataStream(ResponseChildStream):
    """One row per embedded-data value of each response."""

    name = "response_embedded_data"
    primary_keys = ("survey_id", "response_id", "field")
    role = ROLE_EMBEDDED_DATA
