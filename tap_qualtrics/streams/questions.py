"""``questions``: every question of each survey emitted by ``surveys``, from its definition.

A child of ``surveys``: questions are re-synced with their survey, i.e. when the survey changed. The
parent hands over the definition it already fetched; it is stripped from the context before the sync
(contexts are logged and must stay small).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.model.structure import question_records
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.surveys import DEFINITION_KEY, LEGACY_KEY, SurveysStream


class QuestionsStream(QualtricsStream):
    """Questions of the surveys synced in this run (trashed ones flagged ``is_trashed``)."""

    name = "questions"
    primary_keys = ("survey_id", "question_id")
    schema = StreamSchema(SCHEMAS)
    parent_stream_type = SurveysStream
    # One state entry for the stream, not one per survey: questions have no bookmark of their own.
    state_partitioning_keys: ClassVar[list[str]] = []
    required_scopes: ClassVar[tuple[str, ...]] = ("read:surveys",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handed_over_definition: Mapping[str, Any] | None = None

    @override
    def preprocess_context(self, context: Context) -> Context:
        """Keep the parent's definition aside; the frozen context holds only the survey ID."""
        slim = dict(context)
        self._handed_over_definition = slim.pop(DEFINITION_KEY, None)
        slim.pop(LEGACY_KEY, None)  # for the other children of surveys
        return slim

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context:
            return
        survey_id = context["survey_id"]
        handed_over, self._handed_over_definition = self._handed_over_definition, None
        definition = handed_over or self.request_result("GET", f"/survey-definitions/{survey_id}")
        yield from question_records(survey_id, definition)
