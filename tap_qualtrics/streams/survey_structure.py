"""``question_choices``, ``sub_questions``, ``blocks``, ``export_columns``: a survey's structure, with its survey.

Children of ``surveys``, like ``questions``: emitted for every survey the ``surveys`` stream emits, i.e. when
the survey changed. The parent hands over the definition and the legacy survey it already fetched, so these
streams add no request; both are stripped from the context before the sync (contexts are logged and must
stay small). Rows come from :mod:`tap_qualtrics.model.structure` and :mod:`tap_qualtrics.model.answers`
(docs/answer-model.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.model.answers import build_column_map
from tap_qualtrics.model.structure import (
    block_records,
    choice_records,
    question_units,
    sub_question_records,
)
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.surveys import DEFINITION_KEY, LEGACY_KEY, SurveysStream


class SurveyStructureStream(QualtricsStream):
    """Rows derived from one survey's definition (and legacy survey), synced with the survey."""

    parent_stream_type = SurveysStream
    # One state entry for the stream, not one per survey: these rows have no bookmark of their own.
    state_partitioning_keys: ClassVar[list[str]] = []
    required_scopes: ClassVar[tuple[str, ...]] = ("read:surveys",)
    schema = StreamSchema(SCHEMAS)
    #: fetch the legacy survey when the parent did not hand it over (only the column map needs it)
    needs_legacy: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handed_over: tuple[Mapping[str, Any] | None, Mapping[str, Any] | None] = (None, None)

    @override
    def preprocess_context(self, context: Context) -> Context:
        """Keep the parent's definition and legacy survey aside; the frozen context holds the survey ID."""
        slim = dict(context)
        self._handed_over = (slim.pop(DEFINITION_KEY, None), slim.pop(LEGACY_KEY, None))
        return slim

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context:
            return
        survey_id = context["survey_id"]
        (definition, legacy), self._handed_over = self._handed_over, (None, None)
        if definition is None:
            definition = self.request_result("GET", f"/survey-definitions/{survey_id}")
        if legacy is None and self.needs_legacy:
            legacy = self.request_result("GET", f"/surveys/{survey_id}")
        yield from self.structure_records(survey_id, definition, legacy)

    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        """This stream's rows for one survey."""
        raise NotImplementedError


class QuestionChoicesStream(SurveyStructureStream):
    """Choices of every question (and of every side-by-side column)."""

    name = "question_choices"
    primary_keys = ("survey_id", "question_id", "choice_id")

    @override
    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        return choice_records(survey_id, question_units(definition, legacy))


class SubQuestionsStream(SurveyStructureStream):
    """Matrix rows / statements and side-by-side columns."""

    name = "sub_questions"
    primary_keys = ("survey_id", "question_id", "sub_question_id")

    @override
    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        return sub_question_records(survey_id, question_units(definition, legacy))


class BlocksStream(SurveyStructureStream):
    """Blocks with their questions in order, flow position and Loop & Merge options."""

    name = "blocks"
    primary_keys = ("survey_id", "block_id")

    @override
    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        return block_records(survey_id, definition)


class ExportColumnsStream(SurveyStructureStream):
    """What every key of the survey's exported responses is (the legacy ``exportColumnMap``, decoded)."""

    name = "export_columns"
    primary_keys = ("survey_id", "column")
    needs_legacy = True

    @override
    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        return iter(build_column_map(survey_id, legacy, definition).records())
