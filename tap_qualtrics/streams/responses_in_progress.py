"""``responses_in_progress``: each selected survey's current in-progress responses, re-read in full every run.

Qualtrics exports in-progress responses only in a separate export (``exportResponsesInProgress``), never
in the normal one. So each run exports every selected survey's in-progress set whole, with the same
columns and answer decomposition as ``responses`` (children ``response_in_progress_answers`` and
``response_in_progress_embedded_data``), and the three streams are read in full
(:mod:`tap_qualtrics.table_versions`): their records carry the run's table version, and ACTIVATE_VERSION
follows once every survey's in-progress export was read. A response that finished, was closed or was
deleted since the last run is simply not emitted again, and the target marks its rows (and its answer
rows) deleted. A survey whose in-progress export fails is reported, the run goes on with the others, and
no ACTIVATE_VERSION is sent for the three streams that run, since their rows of that survey were not read.

Real in-progress exports differ from normal ones (docs/qualtrics-api.md §24): the rows are sessions named
``FS_...`` with an empty ``recordedDate``, and a session that finishes is recorded under a new ``R_...`` ID.
Nothing links a row here to its later ``responses`` row, and nothing here is a bookmark: the stream is full
table, and its ``last_modified_date`` is the session's last activity (``LastModifiedDate`` when the export
has one, else ``endDate``, else null). The export asks only for what is known to work with in-progress
exports (format, compression, the flag): no dates, no sorting, no continuation.

Cost: one export start per selected survey per run (Qualtrics allows 100 a minute), on top of those of
``responses``; hence not selected by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.exports.engine import (
    ExportWindow,
    read_export_file,
)
from tap_qualtrics.exports.pipeline import ExportPipeline
from tap_qualtrics.http.errors import QualtricsAuthError, error_reason
from tap_qualtrics.model.response_records import LAST_MODIFIED_KEYS, response_record
from tap_qualtrics.model.timestamps import normalize_or_none
from tap_qualtrics.streams.response_answers import ResponseChildStream
from tap_qualtrics.streams.response_children import ROLE_ANSWERS, ROLE_EMBEDDED_DATA
from tap_qualtrics.streams.response_exports import ResponseExportStream
from tap_qualtrics.streams.responses import MalformedExportError

#: The export options of an in-progress export: nothing that is not known to work with the flag.
IN_PROGRESS_EXPORT: Mapping[str, Any] = {
    "format": "ndjson",
    "compress": True,
    "exportResponsesInProgress": True,
}
#: What the export pipeline keys a survey's export by: always the whole in-progress set.
WHOLE_SET = ExportWindow(start=None, end="in progress")


class ResponsesInProgressStream(ResponseExportStream):
    """The responses in progress in each selected survey: the current set, re-exported in full each run."""

    name = "responses_in_progress"
    read_in_full = True
    #: One more export start per selected survey per run: chosen, not implied by selecting everything.
    selected_by_default = False
    exported_noun = "in-progress responses"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        children = self._response_children()
        children.begin()
        if not context:
            return  # no survey selected: the SDK still asks once without a partition
        survey_id = context["survey_id"]
        pipeline = self._export_pipeline()
        self._prefetch_after(context, pipeline)
        try:
            with children.counting(context), pipeline.take(survey_id, WHOLE_SET) as spool:
                yield from self._spool_records(spool, survey_id)
        except QualtricsAuthError:
            pipeline.close()
            raise  # the credentials are refused: no other survey can succeed either
        except GeneratorExit:  # the SDK stopped early (a dry run's record limit)
            pipeline.close()
            raise
        except Exception as error:  # noqa: BLE001 - one survey's failure must not stop the others
            self._fail(survey_id, error)
        finally:
            if self._is_last_partition(context):
                pipeline.close()

    # -- exports: one per survey, several in flight ------------------------------------------------------

    @override
    def _fetch_export(self, survey_id: str, window: ExportWindow) -> IO[bytes]:
        """A survey's in-progress export (on an export thread when concurrent); ``window`` is :data:`WHOLE_SET`."""
        assert self._exporter is not None  # noqa: S101 - created with the pipeline
        body = {**IN_PROGRESS_EXPORT, **self.export_options(survey_id)}
        return self._exporter.fetch_body(survey_id, body, "in-progress export")

    def _prefetch_after(self, context: Context, pipeline: ExportPipeline) -> None:
        """Keep the exports of the next ``max_concurrent_exports`` surveys in flight."""
        for later in self._surveys_ahead(context, pipeline):
            pipeline.prefetch(later["survey_id"], WHOLE_SET)

    # -- records -------------------------------------------------------------------------------------------

    def _spool_records(self, spool: IO[bytes], survey_id: str) -> Iterator[Record]:
        children = self._response_children()
        # metadata keys of the current response that do not fit their columns
        untyped: list[str] = []
        for exported in read_export_file(spool):
            untyped.clear()
            record = in_progress_record(survey_id, exported, untyped)
            if record is None:
                msg = "the in-progress export holds a response without a responseId"
                raise MalformedExportError(msg)
            if untyped:
                self.logger.warning(
                    "In-progress response %s of %s: %s does not fit its column; loaded as NULL (the "
                    "exported value stays in values)",
                    record["response_id"],
                    survey_id,
                    ", ".join(untyped),
                )
            children.write(record)  # the response's answer rows go out before it
            yield record
        children.report(survey_id)

    def _fail(self, survey_id: str, error: Exception) -> None:
        """The survey's in-progress set was not read: the run goes on, and nothing is activated."""
        reason = self.run.redact(error_reason(error))
        self.logger.error(
            "In-progress responses of survey %s were not synced this run: %s", survey_id, reason
        )
        self.run.incomplete_streams.add(self.name)  # and so its children (table_versions.py)
        self.run.failures.record_stream(self.reported_name, f"for survey {survey_id}: {reason}")

    @property
    def reported_name(self) -> str:
        """The streams a user selected: this one, or its children when it runs only for them."""
        if self.selected:
            return self.name
        return ", ".join(child.name for child in self.child_streams if child.selected)


def in_progress_record(
    survey_id: str, exported: Mapping[str, Any], untyped: list[str] | None = None
) -> dict[str, Any] | None:
    """A ``responses_in_progress`` record: :func:`response_record`, whose ``last_modified_date`` is the
    session's last activity (``LastModifiedDate``, else ``endDate``, else null), never the recorded date
    (an in-progress response has none in Qualtrics)."""
    record = response_record(survey_id, exported, untyped)
    if record is None:
        return None
    values = record["values"]
    last_modified = next((values[key] for key in LAST_MODIFIED_KEYS if values.get(key)), None)
    record["last_modified_date"] = normalize_or_none(last_modified) or record["end_date"]
    return record


class _InProgressChildStream(ResponseChildStream):
    """A child of ``responses_in_progress``: re-read in full with it, keyed like its ``responses`` twin."""

    parent_stream_type = ResponsesInProgressStream
    replication_key = None  # type: ignore[assignment]
    read_in_full = True
    selected_by_default = False


class ResponseInProgressAnswersStream(_InProgressChildStream):
    """The answer rows of each in-progress response (the columns of ``response_answers``)."""

    name = "response_in_progress_answers"
    primary_keys = ("answer_id",)
    role = ROLE_ANSWERS


class ResponseInProgressEmbeddedDataStream(_InProgressChildStream):
    """The embedded-data rows of each in-progress response (the columns of ``response_embedded_data``)."""

    name = "response_in_progress_embedded_data"
    primary_keys = ("survey_id", "response_id", "field")
    role = ROLE_EMBEDDED_DATA
