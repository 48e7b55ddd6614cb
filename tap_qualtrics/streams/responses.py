"""``responses``: every selected survey's responses through the export API, incremental per survey.

Partitions are the selected surveys of the *live* survey list, every run: a survey's responses change
without its ``lastModified`` changing, so responses are never gated on the ``surveys`` bookmark.

Each survey exports ``[bookmark, window end)`` sorted by last-modified date, so the bookmark follows the
records as they are emitted (an interrupted run resumes where it stopped) and moves to the window end
once the whole window was emitted. A survey whose export fails keeps its bookmark; the others go on, and
the run reports the failures when it ends.

A window too big for one export (Qualtrics fails it, or a first sync of a survey holds more than
``max_responses_per_export`` responses) is exported as consecutive shorter windows (tap_qualtrics/exports/windows.py),
one after another, still sorted; the bookmark moves to the end of each one as it completes.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §11-§17.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, ClassVar

from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.exports.engine import (
    ExportFailedError,
    ExportWindow,
    SplittableExportError,
    export_lines,
    parse_response,
)
from tap_qualtrics.exports.pipeline import ExportPipeline
from tap_qualtrics.exports.windows import split_window
from tap_qualtrics.http.errors import QualtricsAuthError, error_reason
from tap_qualtrics.model.coerce import exported_response_count
from tap_qualtrics.model.response_records import (
    raw_response_record,
    response_record,
    with_parsed_answers,
)
from tap_qualtrics.model.timestamps import api_timestamp, normalize_or_none
from tap_qualtrics.streams.response_exports import ResponseExportStream

#: surveys named in a log line (the rest are counted)
NAMED = 10
#: partition state: the export options its bookmark was made with (absent: the whole export)
OPTIONS_KEY = "export_options"


class UnsortedExportError(Exception):
    """The export was not in last-modified order, so the bookmark cannot follow the records."""


class MalformedExportError(Exception):
    """A response lacks what the bookmark needs (its ID or dates): fail the survey, never skip it."""


class ResponsesStream(ResponseExportStream):
    """Survey responses (finished ones, as the export API returns them), one partition per survey."""

    name = "responses"
    replication_key = "last_modified_date"
    #: a completed survey sends a STATE only if none was sent in this many seconds (:meth:`_complete_window`)
    STATE_INTERVAL_SECONDS: ClassVar[float] = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: surveys without a bookmark yet: their first export is checked against max_responses_per_export
        self._first_syncs: set[str] = set()
        self._state_written_at = float("-inf")
        #: survey ID -> whether it skips this run as quiet (decided once per run)
        self._quiet_decisions: dict[str, bool] = {}

    @property
    @override
    def is_sorted(self) -> bool:
        """Exports are requested with ``sortByLastModifiedDate``: bookmarks advance per record."""
        return True

    @property
    @override
    def check_sorted(self) -> bool:
        """No: the tap checks the order itself (:meth:`_spool_records`: a survey whose sorted export is out
        of order fails alone, bookmark restored, where the SDK's check would stop the run), and a filtered
        survey's export is unsorted (exported whole every run)."""
        return False

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        self._response_children().begin()
        if not context:
            return  # no survey selected: the SDK still asks once without a partition
        survey_id = context["survey_id"]
        skipped = self._defer(context) or self._skips(context)
        self._report_run(context)
        if skipped:
            return
        kept = self._restart_if_options_changed(context)
        filtered = self.filter_id(survey_id) is not None
        # a filtered survey is exported whole every run (Qualtrics cannot sort a filtered export)
        start = None if filtered else self.starting_timestamp(context)
        end = self.run.export_window_end
        if start is not None and start >= end:
            self.logger.info("Responses of %s are up to date (bookmark %s)", survey_id, start)
            return
        pipeline = self._export_pipeline()
        self._note_first_sync(context)
        self._prefetch_after(context, pipeline)
        emitted = 0
        try:
            with self._response_children().counting(context):
                for record in self._window_records(pipeline, context, start, end):
                    emitted += 1
                    yield record
        except QualtricsAuthError:
            pipeline.close()
            raise  # the credentials are refused: no other survey can succeed either
        except GeneratorExit:  # the SDK stopped early (a dry run's record limit)
            pipeline.close()
            raise
        except Exception as error:  # noqa: BLE001 - one survey's failure must not stop the others
            self._fail(context, survey_id, error, restore_bookmark_to=start, kept=kept)
            return
        finally:
            if self._is_last_partition(context):
                pipeline.close()
        self._complete_window(context, end, emitted)

    # -- the time box (max_run_minutes) --------------------------------------------------------------------

    @override
    def ordered(self, partitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stalest first: surveys without a bookmark, then the oldest bookmarks (the list's order among
        equals), so a run that stops early (``max_run_minutes``) is followed by one that starts where it
        left off."""
        return sorted(partitions, key=lambda p: self.stored_bookmark(p) or "")

    def _defer(self, context: Context) -> bool:
        """Whether this survey waits for the next run: the time box is spent and its export not started."""
        survey_id = context["survey_id"]
        box = self.run.time_box
        in_flight = self._pipeline is not None and self._pipeline.started(survey_id)
        deferred = box.spent() and not in_flight
        if deferred:
            box.deferred.append(survey_id)
        return deferred

    # -- quiet surveys (quiet_after_empty_exports) -----------------------------------------------------------

    def _skips(self, context: Mapping[str, Any]) -> bool:
        """Whether this quiet survey skips its export this run (:mod:`tap_qualtrics.quiet_surveys`)."""
        survey_id = context["survey_id"]
        decided = self._quiet_decisions.get(survey_id)
        if decided is not None:
            return decided
        skips = False
        if (
            self.filter_id(survey_id) is None
            and self.stored_bookmark(context) is not None
            and not self._options_changed(context)
        ):
            try:
                skips = self.run.settings.quiet.skips(
                    dict(self.stored_partition_state(context)),
                    lambda: self.response_counts(survey_id),
                    self.run.started_at,
                )
            except QualtricsAuthError:
                raise
            except Exception:  # noqa: BLE001 - no counts: export as usual (which reports any failure)
                skips = False
        self._quiet_decisions[survey_id] = skips
        return skips

    def _report_run(self, context: Context) -> None:
        """At the last survey: how many surveys were exported, skipped as quiet, or deferred."""
        if not self._is_last_partition(context):
            return
        skipped = [s for s, skips in self._quiet_decisions.items() if skips]
        box = self.run.time_box
        rule = self.run.settings.quiet
        self.logger.info(
            "Responses: %d survey(s) selected, %d to export this run, %d skipped as quiet (no response in "
            "their last %d exports, response counts unchanged, exported less than %d h ago)%s, %d deferred",
            len(self.partitions or []),
            len(self.partitions or []) - len(skipped) - len(box.deferred),
            len(skipped),
            rule.after_empty_exports,
            rule.max_skip_hours,
            f": {', '.join(skipped[:NAMED])}{', ...' if len(skipped) > NAMED else ''}"
            if skipped
            else "",
            len(box.deferred),
        )
        if box.deferred:
            self.logger.warning(box.summary())

    # -- concurrent exports ------------------------------------------------------------------------------

    @override
    def _fetch_export(self, survey_id: str, window: ExportWindow) -> IO[bytes]:
        """A survey's export of the whole run window (on an export thread when concurrent).

        On a survey's first sync one more request reads its response count (streams sync in name order, so
        ``surveys`` has not read it yet): a survey with more than ``max_responses_per_export`` is cut into
        shorter windows before Qualtrics spends time failing the export.
        """
        assert self._exporter is not None  # noqa: S101 - created with the pipeline
        filter_id = self.filter_id(survey_id)
        if filter_id is not None:
            body = filtered_export_body(window.end, filter_id, self.export_options(survey_id))
            return self._exporter.fetch_body(survey_id, body, "filtered response export")
        if survey_id in self._first_syncs:
            limit = self.run.settings.max_responses_per_export
            count = self._response_count(survey_id)
            if count > limit:
                msg = f"the survey holds {count} responses, more than max_responses_per_export ({limit})"
                raise SplittableExportError(msg, pieces=math.ceil(count / limit))
        return self._exporter.fetch(survey_id, window, self.export_options(survey_id))

    def _response_count(self, survey_id: str) -> int:
        """The responses the survey's export holds (its counts are read once per run, shared with the other
        streams): auditable + generated - deleted, not auditable alone (test and preview responses are
        exported too)."""
        return exported_response_count(self.response_counts(survey_id))

    def _note_first_sync(self, context: Mapping[str, Any]) -> None:
        if self.stored_bookmark(context) is None:
            self._first_syncs.add(context["survey_id"])

    def _prefetch_after(self, context: Context, pipeline: ExportPipeline) -> None:
        """Keep the exports of the next ``max_concurrent_exports`` surveys in flight."""
        ahead = self._surveys_ahead(context, pipeline)
        if not ahead or self.run.time_box.spent():
            return  # exports one at a time, or no new export once the time box is spent
        end = self.run.export_window_end
        for later in ahead:
            if self._skips(later):
                continue
            self._note_first_sync(later)
            start = self._planned_start(later)
            if start is None or start < end:
                pipeline.prefetch(later["survey_id"], _export_window(start, end))

    def _planned_start(self, context: Mapping[str, Any]) -> str | None:
        """The start :meth:`starting_timestamp` will give this partition, read without writing state."""
        if self.filter_id(context["survey_id"]) is not None:
            return None
        value = None if self._options_changed(context) else self.stored_bookmark(context)
        start_date = self.config.get("start_date")
        if start_date:
            value = self.compare_start_date(value, start_date) if value else start_date
        return normalize_or_none(value)

    # -- records -------------------------------------------------------------------------------------------

    def _window_records(
        self, pipeline: ExportPipeline, context: Context, start: str | None, end: str
    ) -> Iterator[Record]:
        """The records of ``[start, end)``: one export, or consecutive shorter ones when it is too big."""
        survey_id = context["survey_id"]
        whole = _export_window(start, end)
        windows = [whole]
        while windows:
            window = windows.pop(0)
            try:
                if window is whole:  # perhaps prefetched; pieces are exported here, one at a time
                    spool = pipeline.take(survey_id, window)
                else:
                    assert self._exporter is not None  # noqa: S101 - created with the pipeline
                    spool = self._exporter.fetch(survey_id, window, self.export_options(survey_id))
            except SplittableExportError as error:
                if self.filter_id(survey_id) is not None:
                    msg = f"{error} (a filtered export cannot be cut into shorter windows)"
                    raise ExportFailedError(msg) from None
                windows[:0] = self._shorter_windows(survey_id, window, error)
                continue
            with spool:  # what precedes the piece came with an earlier piece or an earlier run
                yield from self._spool_records(
                    spool,
                    survey_id,
                    _later(start, window.start),
                    sorted_export=self.filter_id(survey_id) is None,
                )
            if windows:
                self._advance_bookmark(context, window.end)

    def _shorter_windows(
        self, survey_id: str, window: ExportWindow, error: SplittableExportError
    ) -> list[ExportWindow]:
        pieces = split_window(window, error.pieces, self._created.get(survey_id))
        since = "up" if window.start is None else f"from {window.start}"
        span = f"responses modified {since} to {window.end}"
        if len(pieces) == 1:
            msg = f"{error} for {span}, a window too short to cut further"
            raise ExportFailedError(msg) from None
        self.logger.warning(
            "The response export of %s for %s cannot be done in one piece (%s); exporting it as %d "
            "consecutive windows",
            survey_id,
            span,
            error,
            len(pieces),
        )
        return pieces

    # -- export options (export_subsets) -------------------------------------------------------------------

    def _options_signature(self, survey_id: str) -> str:
        options: dict[str, Any] = dict(self.export_options(survey_id))
        filter_id = self.filter_id(survey_id)
        if filter_id is not None:
            options["filterId"] = filter_id
        return json.dumps(options, sort_keys=True) if options else ""

    def _options_changed(self, context: Mapping[str, Any]) -> bool:
        """The survey has a bookmark, made with other export options than this run's."""
        stored = self.stored_partition_state(context).get(OPTIONS_KEY, "")
        return self.stored_bookmark(context) is not None and stored != self._options_signature(
            context["survey_id"]
        )

    def _restart_if_options_changed(self, context: Context) -> str | None:
        """A survey whose export options changed is synced again from ``start_date`` (its rows are then all
        of one kind); returns the bookmark it had, which a failure restores."""
        if not self._options_changed(context):
            return None
        state = self.get_context_state(context)
        kept = state.pop("replication_key_value", None)
        # the SDK wrote where this sync starts before asking for records: from start_date now
        state["starting_replication_value"] = self.config.get("start_date")
        self.logger.warning(
            "The export options of survey %s (export_subsets, filter_ids) changed since its bookmark %s: its "
            "responses "
            "are synced again from %s",
            context["survey_id"],
            kept,
            self.config.get("start_date") or "the beginning",
        )
        return str(kept) if kept is not None else None

    def _note_options(self, state: dict[str, Any], survey_id: str) -> dict[str, Any]:
        """The bookmark in ``state`` was made with this run's export options: say which."""
        signature = self._options_signature(survey_id)
        if signature:
            state[OPTIONS_KEY] = signature
        else:
            state.pop(OPTIONS_KEY, None)
        return state

    def _advance_bookmark(self, context: Context, window_end: str) -> None:
        """Every response modified before ``window_end`` was emitted: a resumed run starts there."""
        value = normalize_or_none(window_end)
        current = self.get_context_state(context).get("replication_key_value")
        if value and (current is None or str(current) < value):
            self._note_options(self.write_bookmark(context, value), context["survey_id"])

    def _spool_records(
        self, spool: Any, survey_id: str, start: str | None, *, sorted_export: bool = True
    ) -> Iterator[Record]:
        children = self._response_children()
        # Records that go straight to the writer keep their answers as the exported JSON text (the answer
        # rows get them parsed); the SDK's record path needs them parsed.
        raw = self.record_writer is not None
        latest = start
        # metadata keys of the current response that do not fit their columns
        untyped: list[str] = []
        for line in export_lines(spool):
            untyped.clear()
            record = raw_response_record(survey_id, line, untyped) if raw else None
            from_line = record is not None
            if record is None:
                untyped.clear()
                exported = parse_response(line)
                if exported is None:
                    continue
                record = response_record(survey_id, exported, untyped)
                if record is None:
                    raise MalformedExportError("the export holds a response without a responseId")
            last_modified = record["last_modified_date"]
            if last_modified is None:
                msg = f"response {record['response_id']} in the export has no last-modified or recorded date"
                raise MalformedExportError(msg)
            if start is not None and last_modified < start:
                continue  # before the bookmark: emitted by an earlier run (the request bound is floored)
            if sorted_export and latest is not None and last_modified < latest:
                msg = f"the export is not sorted by last-modified date ({last_modified} after {latest})"
                raise UnsortedExportError(msg)
            latest = last_modified
            if untyped:
                self.logger.warning(
                    "Response %s of %s: %s does not fit its column; loaded as NULL (the exported value "
                    "stays in values)",
                    record["response_id"],
                    survey_id,
                    ", ".join(untyped),
                )
            # the response's answer rows go out before it (and the STATE after it)
            if children.active:
                children.write(with_parsed_answers(record) if from_line else record)
            yield record
        children.report(survey_id)

    def _complete_window(self, context: Context, end: str, emitted: int) -> None:
        """Every record of the window was emitted: the bookmark moves to the window end, and a STATE is sent
        if none was in the last ``STATE_INTERVAL_SECONDS``.

        Each STATE holds every survey's bookmark, so one per survey made a run write surveys x state bytes
        (561 MB at 2,000 surveys). A STATE left out here is only later: the SDK writes the stream's final
        one, and a run stopped before it resumes from an earlier one, exporting a little more (targets
        upsert)."""
        survey_id = context["survey_id"]
        state = self._note_options(self.write_bookmark(context, end), survey_id)
        self.run.settings.quiet.note_export(
            state, emitted, lambda: self.response_counts(survey_id), self.run.started_at_text
        )
        now = time.monotonic()
        if now - self._state_written_at >= self.STATE_INTERVAL_SECONDS:
            self._state_written_at = now
            self.finalize_state_progress_markers(state)
        else:
            self.state_manager.finalize_state(state)

    def _fail(
        self,
        context: Context,
        survey_id: str,
        error: Exception,
        *,
        restore_bookmark_to: str | None,
        kept: str | None = None,
    ) -> None:
        reason = self.run.redact(error_reason(error))
        self.logger.error("Responses of survey %s were not synced this run: %s", survey_id, reason)
        self.run.failures.record(survey_id, reason)
        if kept is not None:
            state = self.get_context_state(context)
            if state.get(OPTIONS_KEY, "") != self._options_signature(survey_id):
                # a restart for new export options failed before a window was done: the old bookmark stays
                state["replication_key_value"] = kept
                return
        if isinstance(error, UnsortedExportError):
            # Records emitted so far may have skipped others: fall back to where this run started.
            state = self.get_context_state(context)
            if restore_bookmark_to is None:
                state.pop("replication_key_value", None)
            else:
                state["replication_key_value"] = restore_bookmark_to


def _later(bookmark: str | None, window_start: str | None) -> str | None:
    """The later of two starts, as a normalized timestamp (records before it are not this piece's)."""
    piece = normalize_or_none(window_start) if window_start else None
    if bookmark is None or piece is None:
        return bookmark or piece
    return max(bookmark, piece)


def _export_window(start: str | None, end: str) -> ExportWindow:
    return ExportWindow(start=api_timestamp(start) if start else None, end=api_timestamp(end))


def filtered_export_body(end: str, filter_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """A survey's export through a saved filter: the whole filtered set recorded before ``end``, unsorted
    (Qualtrics refuses ``filterId`` with ``sortByLastModifiedDate`` or continuation)."""
    return {"format": "ndjson", "compress": True, "endDate": end, "filterId": filter_id, **options}
