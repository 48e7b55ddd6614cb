"""``questions``: every question of each survey emitted by ``surveys``, from its definition.

A child of ``surveys``: questions are re-synced with their survey, i.e. when the survey changed. The
parent hands over the definition it already fetched; it is stripped from the context before the sync
(contexts are logged and must stay small).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tap_qualtrics._compat import override
from tap_qualtrics.model.structure import question_records
from tap_qualtrics.streams.survey_structure import SurveyStructureStream


class QuestionsStream(SurveyStructureStream):
    """Questions of the surveys synced in this run (trashed ones flagged ``is_trashed``)."""

    name = "questions"
    primary_keys = ("survey_id", "question_id")

    @override
    def structure_records(
        self, survey_id: str, definition: Mapping[str, Any], legacy: Mapping[str, Any] | None
    ) -> Iterator[dict[str, Any]]:
        return question_records(survey_id, definition)
