"""What the streams fed by a survey's response export share: ``responses`` and ``responses_in_progress``.

* one partition ``{"survey_id": ...}`` per selected survey of the *live* survey list, listed once per run
  and stream (a survey's responses change without its ``lastModified`` changing);
* records built JSON-ready in schema order (``TYPE_CONFORMANCE_LEVEL`` root only), written straight to the
  tap's writer when the SDK's record path would not change them (:mod:`tap_qualtrics.output`);
* the answer decomposition: the stream's children (answers, embedded data) are written in the export pass
  by :class:`~tap_qualtrics.streams.response_children.ResponseChildren`, never by one child sync per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.exports.engine import ExportWindow, ResponseExporter
from tap_qualtrics.exports.pipeline import ExportPipeline
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.account import to_timestamp
from tap_qualtrics.streams.response_children import ResponseChildren

RESPONSE_SCOPES = ("read:surveys", "read:survey_responses")


class ResponseExportStream(QualtricsStream):
    """Base of the streams whose records come from response exports, one partition per selected survey."""

    primary_keys = ("survey_id", "response_id")
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = RESPONSE_SCOPES
    # Records are built JSON-ready; walking every answer of every response again costs a third of a sync.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY
    #: what the stream exports, in log lines
    exported_noun: ClassVar[str] = "responses"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._partitions: list[dict[str, Any]] | None = None
        #: survey ID -> creation date from the survey list (where shorter windows start cutting)
        self._created: dict[str, str] = {}
        self._children: ResponseChildren | None = None
        self._pipeline: ExportPipeline | None = None
        self._exporter: ResponseExporter | None = None

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        """``{"survey_id": ...}`` for every selected survey of the live list (listed once per run)."""
        if self._partitions is None:
            self._partitions = self.ordered(
                [{"survey_id": survey_id} for survey_id in self._selected_survey_ids()]
            )
        return self._partitions

    def ordered(self, partitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The order the surveys are exported in: the survey list's."""
        return partitions

    def _selected_survey_ids(self) -> list[str]:
        surveys = self.selected_surveys()
        for survey_id, element in surveys.items():
            if not element:
                self.logger.warning(
                    "Survey %s from survey_ids is not in the survey list; exporting its %s anyway",
                    survey_id,
                    self.exported_noun,
                )
            created = to_timestamp(element.get("creationDate"))
            if created:
                self._created[survey_id] = created
        return list(surveys)

    def export_options(self, survey_id: str) -> dict[str, list[str]]:
        """The survey's ``export_subsets`` entry as export options (``{}``: the whole export)."""
        return self.run.settings.export_subsets.options_for(survey_id)

    def filter_id(self, survey_id: str) -> str | None:
        """The saved filter the survey's responses are exported through (``filter_ids``), if any."""
        return self.run.settings.filter_ids.get(survey_id)

    # -- exports: one per survey, several in flight ------------------------------------------------------

    def _export_pipeline(self) -> ExportPipeline:
        """The run's exports of this stream, :meth:`_fetch_export` on up to ``max_concurrent_exports``
        threads."""
        if self._pipeline is None:
            _ = self.run.rate_budget  # created here, before any export thread can race to create it
            self._exporter = ResponseExporter(self, self.run.export_timing)
            self._pipeline = ExportPipeline(
                self._fetch_export, self.run.settings.max_concurrent_exports
            )
        return self._pipeline

    def _fetch_export(self, survey_id: str, window: ExportWindow) -> IO[bytes]:
        """One survey's export (on an export thread when concurrent)."""
        raise NotImplementedError

    def _surveys_ahead(self, context: Context, pipeline: ExportPipeline) -> list[dict[str, Any]]:
        """This survey's partition and the next ``max_concurrent_exports``: the exports to keep in flight
        (none when exports run one at a time)."""
        if not pipeline.concurrent:
            return []
        partitions = self.partitions or []
        try:
            index = partitions.index(dict(context))
        except ValueError:
            return []
        return partitions[index : index + 1 + self.run.settings.max_concurrent_exports]

    def _is_last_partition(self, context: Context) -> bool:
        partitions = self.partitions or []
        return not partitions or partitions[-1] == dict(context)

    # -- children: the answer decomposition -----------------------------------------------------------------

    def _response_children(self) -> ResponseChildren:
        if self._children is None:
            self._children = ResponseChildren(self)
        return self._children

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """None: the children's rows are written in this stream's export pass (streams/response_children.py),
        not by one child sync per response."""
        return ()

    @override
    def _write_record_message(self, record: Record) -> None:
        """The tap's one record-writing seam: records are built JSON-ready in schema order, so they go to the
        tap's writer directly when the SDK's record path would not change them (:mod:`tap_qualtrics.output`)."""
        writer = self.record_writer
        if writer is None:
            super()._write_record_message(record)
            return
        writer.write_records(self.name, (record,), self._stream_version)
        self.state_manager.is_flushed = False
