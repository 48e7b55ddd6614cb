"""Reading a survey definition (``GET /survey-definitions/{id}``): questions and where they sit.

Deleted questions stay in ``Questions`` but move to the block of type ``Trash``; a question's block and
its position come from the blocks' ``BlockElements``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tap_qualtrics.model.text import html_to_text

TRASH_BLOCK_TYPE = "Trash"


@dataclass(frozen=True)
class Placement:
    """Where a question sits: its block, 1-based position in that block, and whether it is trashed."""

    block_id: str | None = None
    position: int | None = None
    is_trashed: bool = False


def question_placements(blocks: Any) -> dict[str, Placement]:
    """QID -> placement, from the definition's ``Blocks`` (a mapping by block ID, or a list)."""
    block_list = (
        blocks.values() if isinstance(blocks, Mapping) else blocks if isinstance(blocks, list) else []
    )
    placements: dict[str, Placement] = {}
    for block in block_list:
        if not isinstance(block, Mapping):
            continue
        trashed = block.get("Type") == TRASH_BLOCK_TYPE
        position = 0
        for element in block.get("BlockElements") or []:
            if not isinstance(element, Mapping) or element.get("Type") != "Question":
                continue
            position += 1
            question_id = element.get("QuestionID")
            if question_id and (question_id not in placements or placements[question_id].is_trashed):
                placements[question_id] = Placement(block.get("ID"), position, trashed)
    return placements


def question_records(survey_id: str, definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One ``questions`` record per question of the definition, trashed ones flagged."""
    questions = definition.get("Questions")
    if not isinstance(questions, Mapping):
        return
    placements = question_placements(definition.get("Blocks"))
    for question_id, question in questions.items():
        if not isinstance(question, Mapping):
            continue
        question_id = str(question.get("QuestionID") or question_id)
        placement = placements.get(question_id, Placement())
        html = question.get("QuestionText")
        yield {
            "survey_id": survey_id,
            "question_id": question_id,
            "data_export_tag": question.get("DataExportTag"),
            "type": question.get("QuestionType"),
            "selector": question.get("Selector"),
            "sub_selector": question.get("SubSelector"),
            "question_text": html_to_text(html) if isinstance(html, str) else None,
            "question_text_html": html if isinstance(html, str) else None,
            "description": question.get("QuestionDescription"),
            "block_id": placement.block_id,
            "position": placement.position,
            "is_trashed": placement.is_trashed,
            "choices": _object(question.get("Choices")),
            "choice_order": _id_list(question.get("ChoiceOrder")),
            "answers": _object(question.get("Answers")),
            "answer_order": _id_list(question.get("AnswerOrder")),
            "recode_values": _object(question.get("RecodeValues")),
            "validation": _object(question.get("Validation")),
            "configuration": _object(question.get("Configuration")),
            "display_logic": _object(question.get("DisplayLogic")),
        }


def _object(value: Any) -> dict[str, Any] | None:
    """Objects pass; Qualtrics sometimes sends an empty list for an empty object."""
    if isinstance(value, Mapping):
        return dict(value)
    return None


def _id_list(value: Any) -> list[str] | None:
    """Choice orders mix numbers and strings; IDs are text."""
    if not isinstance(value, list):
        return None
    return [str(item) for item in value if not isinstance(item, (dict, list))]
