"""``response_deletion_checks`` and ``live_response_ids``: which loaded responses were deleted in Qualtrics.

The export API never lists deleted responses, so an upserting target keeps them forever. What Qualtrics does
show cheaply is each survey's ``responseCounts.deleted`` (``GET /surveys/{id}``, read once per selected survey
and run, shared with ``surveys``). When it differs from the value at the survey's last complete check (0 when
there was none; it can go down as well as up), the survey is checked:

1. one export of response IDs only (``questionIds: []``, ``surveyMetadataIds: ["_recordId",
   "recordedDate"]``), of the responses recorded before the run's window end;
2. a ``live_response_ids`` row for each (``checked_at`` = the run's start), written before
3. one ``response_deletion_checks`` row for the survey (``checked_at``, ``recorded_before`` = the window end).

A survey exported through a saved filter (``filter_ids``) is checked on every run, through the same filter:
a response that left the filter is then marked like a deleted one (``filter_id`` on the check says so).

A response of a checked survey that was recorded before ``recorded_before`` and has no ``live_response_ids``
row with ``checked_at`` at or after the check's was deleted (docs/querying.md has the views). A check whose
export fails writes no ``response_deletion_checks`` row, so its partial ``live_response_ids`` rows only refresh
responses that are live anyway; the survey is checked again next run. The state keeps one number per survey
(the deleted count at its last complete check), never per-response data.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §25.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.exports.engine import ResponseExporter, read_export_file
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.http.errors import QualtricsAuthError, error_reason
from tap_qualtrics.model.timestamps import api_timestamp, normalize_or_none
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.parent_written import ParentWrittenStream

#: survey ID -> ``responseCounts.deleted`` at the survey's last complete check
CHECKED_KEY = "checked_deleted_counts"
#: ``live_response_ids`` rows handed to the writer at once (memory stays flat on any survey size)
ROWS_PER_WRITE = 1000
SCOPES = ("read:surveys", "read:survey_responses")


def response_ids_export_body(recorded_before: str) -> dict[str, Any]:
    """Every response recorded before ``recorded_before``, with its ID and recorded date only (embedded
    data still comes: an empty ``embeddedDataIds`` is not known to be accepted)."""
    return {
        "format": "ndjson",
        "compress": True,
        "questionIds": [],
        "surveyMetadataIds": ["_recordId", "recordedDate"],
        "endDate": api_timestamp(recorded_before),
    }


class ResponseDeletionChecksStream(QualtricsStream):
    """One row per complete check of a survey's live responses (made when its deleted count changed)."""

    name = "response_deletion_checks"
    primary_keys = ("survey_id",)
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = SCOPES

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        live_ids = next(
            (c for c in self.child_streams if isinstance(c, LiveResponseIdsStream) and c.selected),
            None,
        )
        if live_ids is not None:
            live_ids.write_schema()
        state = self.stream_state
        checked: dict[str, Any] = dict(state.get(CHECKED_KEY) or {})
        checks = 0
        selected = list(self.selected_surveys())
        filters = self.run.settings.filter_ids
        for survey_id in selected:
            filter_id = filters.get(survey_id)
            try:
                deleted = self.response_counts(survey_id)[2]
                # a filtered survey is checked every run: responses leave its filter unannounced
                if filter_id is None and (deleted is None or deleted == checked.get(survey_id, 0)):
                    continue
                record = self._check(survey_id, deleted, live_ids, filter_id)
            except QualtricsAuthError:
                raise
            except Exception as error:  # noqa: BLE001 - one survey's failure must not stop the others
                reason = self.run.redact(error_reason(error))
                self.logger.error(
                    "Deleted responses of survey %s were not checked this run: %s",
                    survey_id,
                    reason,
                )
                self.run.failures.record_stream(self.name, f"for survey {survey_id}: {reason}")
                continue
            checks += 1
            if deleted is not None:
                checked[survey_id] = deleted
            state[CHECKED_KEY] = dict(sorted(checked.items()))
            yield record
        # surveys no longer selected leave the state (one re-selected is checked again if it has deletions)
        state[CHECKED_KEY] = {s: checked[s] for s in sorted(selected) if s in checked}
        self.logger.info("Checked the live responses of %d survey(s) for deletions", checks)

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """None: ``live_response_ids`` rows are written during the check, before its record."""
        return ()

    def _check(
        self,
        survey_id: str,
        deleted: int | None,
        live_ids: LiveResponseIdsStream | None,
        filter_id: str | None,
    ) -> Record:
        checked_at = self.run.started_at_text
        recorded_before = self.run.export_window_end
        exporter = ResponseExporter(self, self.run.export_timing)
        live = 0
        body = response_ids_export_body(recorded_before)
        if filter_id is not None:
            body["filterId"] = filter_id
        with exporter.fetch_body(survey_id, body, "response-ID export") as spool:
            if live_ids is not None:
                live_ids.start_counting({"survey_id": survey_id})
            try:
                for rows in _chunks(_live_rows(read_export_file(spool), survey_id, checked_at)):
                    live += len(rows)
                    if live_ids is not None:
                        live_ids.write_rows(rows)
            finally:
                if live_ids is not None:
                    live_ids.stop_counting()
        self.logger.info(
            "Survey %s: %d live response(s) recorded before %s (%d deleted in Qualtrics' count)",
            survey_id,
            live,
            recorded_before,
            deleted,
        )
        return {
            "survey_id": survey_id,
            "checked_at": checked_at,
            "recorded_before": recorded_before,
            "deleted_count": deleted,
            "live_response_count": live,
            "filter_id": filter_id,
        }


class LiveResponseIdsStream(ParentWrittenStream):
    """Each response a check found, with the check's time; written by ``response_deletion_checks``."""

    name = "live_response_ids"
    primary_keys = ("survey_id", "response_id")
    schema = StreamSchema(SCHEMAS)
    parent_stream_type = ResponseDeletionChecksStream
    # No state of its own: the checks' state says which survey was checked.
    state_partitioning_keys: ClassVar[list[str]] = []
    required_scopes: ClassVar[tuple[str, ...]] = SCOPES


def _live_rows(
    exported: Iterable[Mapping[str, Any]], survey_id: str, checked_at: str
) -> Iterator[dict[str, Any]]:
    for response in exported:
        values = response.get("values")
        values = values if isinstance(values, Mapping) else {}
        response_id = response.get("responseId") or values.get("_recordId")
        if not response_id:
            msg = "the response-ID export holds a response without an ID"
            raise ValueError(msg)
        yield {
            "survey_id": survey_id,
            "response_id": str(response_id),
            "recorded_date": normalize_or_none(values.get("recordedDate")),
            "checked_at": checked_at,
        }


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= ROWS_PER_WRITE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
