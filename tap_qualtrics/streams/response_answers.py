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

from typing import ClassVar

from singer_sdk import Stream, StreamSchema

from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.parent_written import ParentWrittenStream
from tap_qualtrics.streams.response_children import ROLE_ANSWERS, ROLE_EMBEDDED_DATA
from tap_qualtrics.streams.responses import ResponsesStream


class ResponseChildStream(ParentWrittenStream):
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
