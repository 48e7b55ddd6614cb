"""Reading a survey definition (``GET /survey-definitions/{id}``): questions, where they sit, and their
structure below the question (choices, sub-questions, side-by-side columns) and the blocks.

The one reader of the definition: the definition-derived streams (``questions``, ``question_choices``,
``sub_questions``, ``blocks``), the export column map (:mod:`tap_qualtrics.model.columns`) and the answer
decomposition (:mod:`tap_qualtrics.model.answers`) all take questions, blocks and the flow from here.
Pure functions of the definition, completed by the legacy survey (``GET /surveys/{id}``) where the
definition is silent (recodes, variable names). Units are read through :func:`question_units`, so every
stream agrees on every ID.

Deleted questions stay in ``Questions`` but move to the block of type ``Trash``; a question's block and
its position come from the blocks' ``BlockElements``.

Vocabulary (docs/answer-model.md):

* a *unit* is what answers are given to: an ordinary question (``QID5``), or one column of a side-by-side
  question, which Qualtrics itself names ``QID17#2`` (its ``AdditionalQuestions`` entry);
* a unit's *choices* are what an answer picks: ``Answers`` (the scale points) for two-dimensional questions
  (Matrix, side-by-side columns), ``Choices`` otherwise (MC options, slider statements, rank items, form
  fields, timing and meta parts);
* a unit's *rows* (sub-questions) are the ``Choices`` of a two-dimensional question (matrix statements).

The Qualtrics API facts this relies on: docs/qualtrics-api.md §9, §10.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tap_qualtrics.model.coerce import as_mapping
from tap_qualtrics.model.text import html_to_text

SIDE_BY_SIDE = "SBS"
TRASH_BLOCK_TYPE = "Trash"
KIND_ROW = "row"
KIND_SIDE_BY_SIDE_COLUMN = "side_by_side_column"
_TRUE_STRINGS = frozenset({"true", "1", "yes", "on"})


@dataclass(frozen=True, slots=True)
class Choice:
    """One choice (or row) of a unit, as the tables show it."""

    choice_id: str
    text_html: str | None
    recode: str | None
    variable_name: str | None
    position: int | None
    is_text_entry: bool

    @property
    def text(self) -> str | None:
        return html_to_text(self.text_html)


@dataclass(frozen=True, slots=True)
class Unit:
    """A question as far as answers are concerned (a side-by-side column is a unit of its own)."""

    question_id: str
    parent_question_id: str
    side_by_side_id: str | None
    type: str | None
    selector: str | None
    sub_selector: str | None
    export_tag: str | None
    text_html: str | None
    choices: tuple[Choice, ...]
    rows: tuple[Choice, ...]
    is_randomized: bool
    answers_randomized: bool = False

    def recode_to_choice(self) -> dict[str, str]:
        """Recode value (as text) -> choice ID: how a coded answer finds the choice it picked."""
        lookup: dict[str, str] = {}
        for choice in self.choices:
            lookup.setdefault(
                choice.recode if choice.recode is not None else choice.choice_id, choice.choice_id
            )
        return lookup


def question_units(
    definition: Mapping[str, Any] | None, legacy: Mapping[str, Any] | None = None
) -> dict[str, Unit]:
    """Every unit of the survey's questions (trashed ones included), keyed by unit question ID.

    Side-by-side questions give one unit for the question itself (no choices, its rows) and one unit per
    column (``QIDn#k``, the column's scale points and rows). Questions only the legacy survey lists (or all
    of them, without a definition) are read from the legacy survey, which lacks display orders.
    """
    questions = (definition or {}).get("Questions")
    legacy_questions = (legacy or {}).get("questions")
    legacy_questions = legacy_questions if isinstance(legacy_questions, Mapping) else {}
    units: dict[str, Unit] = {}
    for key, question in (questions if isinstance(questions, Mapping) else {}).items():
        if isinstance(question, Mapping):
            qid = str(question.get("QuestionID") or key)
            _add_question(units, qid, question, legacy_questions.get(qid))
    for qid, old in legacy_questions.items():
        if str(qid) not in units and isinstance(old, Mapping):
            _add_question(units, str(qid), _definition_from_legacy(str(qid), old), old)
    return units


def _add_question(units: dict[str, Unit], qid: str, question: Mapping[str, Any], old: Any) -> None:
    old = old if isinstance(old, Mapping) else {}
    units[qid] = _unit(qid, qid, None, question, old, old.get("choices"), old.get("subQuestions"))
    if question.get("QuestionType") != SIDE_BY_SIDE:
        return
    old_columns = as_mapping(old.get("columns"))
    for column_key, column in as_mapping(question.get("AdditionalQuestions")).items():
        if not isinstance(column, Mapping):
            continue
        column_id = str(column.get("SubQuestionID") or column_key)
        old_column = old_columns.get(column_id)
        old_column = old_column if isinstance(old_column, Mapping) else {}
        unit_id = str(column.get("QuestionID") or f"{qid}#{column_id}")
        units[unit_id] = _unit(
            unit_id,
            qid,
            column_id,
            column,
            old_column,
            old_column.get("choices"),
            old.get("subQuestions"),
        )


def _definition_from_legacy(qid: str, old: Mapping[str, Any]) -> dict[str, Any]:
    """A legacy question in the definition's shape (what :func:`_unit` reads), orders unknown."""
    kind = as_mapping(old.get("questionType"))
    choices = _legacy_as_definition_choices(old.get("choices"))
    rows = _legacy_as_definition_choices(old.get("subQuestions"))
    question: dict[str, Any] = {
        "QuestionID": qid,
        "QuestionType": kind.get("type"),
        "Selector": kind.get("selector"),
        "SubSelector": kind.get("subSelector"),
        "DataExportTag": old.get("questionName"),
        "QuestionText": old.get("questionText"),
        "Randomization": {"Type": "All"} if old.get("randomization") else None,
    }
    if kind.get("type") == SIDE_BY_SIDE:
        question["Choices"] = rows
        columns = as_mapping(old.get("columns"))
        question["AdditionalQuestions"] = {}
        for k, column in columns.items():
            if isinstance(column, Mapping):
                part = _definition_from_legacy(f"{qid}#{k}", column)
                part.update(
                    {"SubQuestionID": str(k), "Answers": part.get("Choices"), "Choices": rows}
                )
                question["AdditionalQuestions"][str(k)] = part
    elif rows:
        question["Choices"], question["Answers"] = rows, choices
    else:
        question["Choices"] = choices
    return question


def _legacy_as_definition_choices(items: Any) -> dict[str, Any]:
    return {
        str(cid): {"Display": item.get("choiceText"), "TextEntry": bool(item.get("textEntry"))}
        for cid, item in as_mapping(items).items()
        if isinstance(item, Mapping)
    }


def _unit(
    unit_id: str,
    parent_id: str,
    column_id: str | None,
    question: Mapping[str, Any],
    legacy: Mapping[str, Any],
    legacy_choices: Any,
    legacy_rows: Any,
) -> Unit:
    legacy_type = as_mapping(legacy.get("questionType"))
    variable_names = as_mapping(question.get("VariableNaming"))
    recodes = as_mapping(question.get("RecodeValues"))
    choices: tuple[Choice, ...] = ()
    rows: tuple[Choice, ...] = ()
    if question.get("QuestionType") == SIDE_BY_SIDE:  # the columns carry the choices
        rows = _choices(question.get("Choices"), question.get("ChoiceOrder"), {}, {}, legacy_rows)
    elif as_mapping(question.get("Answers")):  # two-dimensional: rows x scale points
        choices = _choices(
            question.get("Answers"),
            question.get("AnswerOrder"),
            recodes,
            variable_names,
            legacy_choices,
        )
        rows = _choices(question.get("Choices"), question.get("ChoiceOrder"), {}, {}, legacy_rows)
    else:
        choices = _choices(
            question.get("Choices"),
            question.get("ChoiceOrder"),
            recodes,
            variable_names,
            legacy_choices,
        )
    text = question.get("QuestionText")
    return Unit(
        question_id=unit_id,
        parent_question_id=parent_id,
        side_by_side_id=column_id,
        type=_text_or_none(question.get("QuestionType") or legacy_type.get("type")),
        selector=_text_or_none(question.get("Selector") or legacy_type.get("selector")),
        sub_selector=_text_or_none(question.get("SubSelector") or legacy_type.get("subSelector")),
        export_tag=_text_or_none(question.get("DataExportTag") or legacy.get("questionName")),
        text_html=text if isinstance(text, str) else None,
        choices=choices,
        rows=rows,
        is_randomized=_is_randomized(question.get("Randomization"))
        or bool(legacy.get("randomization")),
        answers_randomized=_is_randomized(question.get("AnswerRandomization")),
    )


def _choices(
    items: Any,
    order: Any,
    recodes: Mapping[str, Any],
    variable_names: Mapping[str, Any],
    legacy: Any,
) -> tuple[Choice, ...]:
    """Choices in display order (``ChoiceOrder``/``AnswerOrder``), then any the order does not list."""
    items = as_mapping(items)
    legacy = as_mapping(legacy)
    positions = {cid: n for n, cid in enumerate(dict.fromkeys(id_list(order) or []), start=1)}
    ids = [cid for cid in positions if cid in items] + [
        str(cid) for cid in items if str(cid) not in positions
    ]
    out = []
    for cid in ids:
        item = items.get(cid)
        item = item if isinstance(item, Mapping) else {}
        old = legacy.get(cid)
        old = old if isinstance(old, Mapping) else {}
        recode = recodes.get(cid, old.get("recode"))
        variable = variable_names.get(cid) or old.get("variableName") or item.get("VariableName")
        display = item.get("Display")
        out.append(
            Choice(
                choice_id=cid,
                text_html=display
                if isinstance(display, str)
                else _text_or_none(old.get("choiceText")),
                recode=_text_or_none(recode) if recode is not None else cid,
                variable_name=_text_or_none(variable),
                position=positions.get(cid),
                is_text_entry=_truthy(item.get("TextEntry")) or bool(old.get("textEntry")),
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# blocks and flow


def block_list(blocks: Any) -> list[Mapping[str, Any]]:
    """The block objects of the definition's ``Blocks`` (a mapping by block ID, or a list)."""
    values = (
        blocks.values()
        if isinstance(blocks, Mapping)
        else blocks
        if isinstance(blocks, list)
        else []
    )
    return [block for block in values if isinstance(block, Mapping)]


def block_question_ids(block: Mapping[str, Any]) -> list[str]:
    """The IDs of a block's questions, in block order (``BlockElements`` of type ``Question``)."""
    elements = block.get("BlockElements")
    return [
        str(e["QuestionID"])
        for e in (elements if isinstance(elements, list) else [])
        if isinstance(e, Mapping) and e.get("Type") == "Question" and e.get("QuestionID")
    ]


def flow_block_ids(flow: Any) -> Iterator[str]:
    """Block IDs in survey-flow order, through branches, groups and randomizers."""
    if isinstance(flow, Mapping):
        if flow.get("Type") in ("Block", "Standard", "Default") and flow.get("ID"):
            yield str(flow["ID"])
        yield from flow_block_ids(flow.get("Flow"))
    elif isinstance(flow, list):
        for element in flow:
            yield from flow_block_ids(element)


@dataclass(frozen=True)
class Placement:
    """Where a question sits: its block, 1-based position in that block, and whether it is trashed."""

    block_id: str | None = None
    position: int | None = None
    is_trashed: bool = False


def question_placements(blocks: Any) -> dict[str, Placement]:
    """QID -> placement, from the definition's ``Blocks`` (a mapping by block ID, or a list)."""
    placements: dict[str, Placement] = {}
    for block in block_list(blocks):
        trashed = block.get("Type") == TRASH_BLOCK_TYPE
        for position, question_id in enumerate(block_question_ids(block), start=1):
            if question_id not in placements or placements[question_id].is_trashed:
                placements[question_id] = Placement(block.get("ID"), position, trashed)
    return placements


# ---------------------------------------------------------------------------------------------------
# records of the definition-derived streams


def question_records(survey_id: str, definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """``questions`` rows: one per question of the definition, trashed ones flagged."""
    questions = definition.get("Questions")
    if not isinstance(questions, Mapping):
        return
    placements = question_placements(definition.get("Blocks"))
    for key, question in questions.items():
        if not isinstance(question, Mapping):
            continue
        question_id = str(question.get("QuestionID") or key)
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
            "choice_order": id_list(question.get("ChoiceOrder")),
            "answers": _object(question.get("Answers")),
            "answer_order": id_list(question.get("AnswerOrder")),
            "recode_values": _object(question.get("RecodeValues")),
            "validation": _object(question.get("Validation")),
            "configuration": _object(question.get("Configuration")),
            "display_logic": _object(question.get("DisplayLogic")),
        }


def choice_records(survey_id: str, units: Mapping[str, Unit]) -> Iterator[dict[str, Any]]:
    """``question_choices`` rows: every choice of every unit."""
    for unit in units.values():
        for choice in unit.choices:
            yield {
                "survey_id": survey_id,
                "question_id": unit.question_id,
                "choice_id": choice.choice_id,
                "parent_question_id": unit.parent_question_id,
                "side_by_side_id": unit.side_by_side_id,
                "text": choice.text,
                "text_html": choice.text_html,
                "recode": choice.recode,
                "variable_name": choice.variable_name,
                "position": choice.position,
                "is_text_entry": choice.is_text_entry,
            }


def sub_question_records(survey_id: str, units: Mapping[str, Unit]) -> Iterator[dict[str, Any]]:
    """``sub_questions`` rows: matrix rows / statements of each unit, and side-by-side columns."""
    columns: dict[str, list[Unit]] = {}
    for unit in units.values():
        if unit.side_by_side_id is not None:
            columns.setdefault(unit.parent_question_id, []).append(unit)
    for unit in units.values():
        if unit.type == SIDE_BY_SIDE:
            for position, column in enumerate(columns.get(unit.question_id, ()), start=1):
                yield _sub_question(
                    survey_id,
                    unit,
                    column.side_by_side_id or "",
                    KIND_SIDE_BY_SIDE_COLUMN,
                    {
                        "text_html": column.text_html,
                        "recode": None,
                        "position": position,
                        "is_text_entry": False,
                        "export_tag": column.export_tag,
                        "selector": column.selector,
                        "sub_selector": column.sub_selector,
                    },
                )
            continue
        for row in unit.rows:
            yield _sub_question(
                survey_id,
                unit,
                row.choice_id,
                KIND_ROW,
                {
                    "text_html": row.text_html,
                    "recode": row.recode,
                    "position": row.position,
                    "is_text_entry": row.is_text_entry,
                    "export_tag": None,
                    "selector": None,
                    "sub_selector": None,
                },
            )


def _sub_question(
    survey_id: str, unit: Unit, sub_id: str, kind: str, rest: dict[str, Any]
) -> dict[str, Any]:
    html = rest.pop("text_html")
    return {
        "survey_id": survey_id,
        "question_id": unit.question_id,
        "sub_question_id": sub_id,
        "parent_question_id": unit.parent_question_id,
        "kind": kind,
        "text": html_to_text(html),
        "text_html": html,
        **rest,
    }


def block_records(survey_id: str, definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """``blocks`` rows: each block with its questions in order, its place in the flow and its looping."""
    flow_positions = {
        bid: n
        for n, bid in enumerate(dict.fromkeys(flow_block_ids(definition.get("SurveyFlow"))), 1)
    }
    for block in block_list(definition.get("Blocks")):
        if not block.get("ID"):
            continue
        block_id = str(block["ID"])
        options = as_mapping(block.get("Options"))
        listed = block.get("BlockElements")
        elements: list[Any] = listed if isinstance(listed, list) else []
        looping = options.get("Looping")
        yield {
            "survey_id": survey_id,
            "block_id": block_id,
            "description": _text_or_none(block.get("Description")),
            "type": _text_or_none(block.get("Type")),
            "is_trashed": block.get("Type") == TRASH_BLOCK_TYPE,
            "flow_position": flow_positions.get(block_id),
            "question_ids": block_question_ids(block),
            "page_break_count": sum(
                1 for e in elements if isinstance(e, Mapping) and e.get("Type") == "Page Break"
            ),
            "randomize_questions": _text_or_none(options.get("RandomizeQuestions")),
            "block_locking": _text_or_none(options.get("BlockLocking")),
            "block_visibility": _text_or_none(options.get("BlockVisibility")),
            "loop_type": _text_or_none(looping)
            if looping not in (None, "", "None", False)
            else None,
            "loop_options": dict(options["LoopingOptions"])
            if isinstance(options.get("LoopingOptions"), Mapping)
            else None,
        }


def embedded_field_names(
    definition: Mapping[str, Any], legacy: Mapping[str, Any] | None = None
) -> list[str]:
    """Embedded-data fields the survey declares (legacy ``embeddedData``, then the flow), in order."""
    fields = (legacy or {}).get("embeddedData")
    names = [
        str(field["name"])
        for field in (fields if isinstance(fields, list) else [])
        if isinstance(field, Mapping) and field.get("name")
    ]
    names.extend(_flow_embedded_fields(definition.get("SurveyFlow")))
    return list(dict.fromkeys(names))


def _flow_embedded_fields(flow: Any) -> Iterator[str]:
    if isinstance(flow, Mapping):
        if flow.get("Type") == "EmbeddedData":
            for field in flow.get("EmbeddedData") or []:
                if isinstance(field, Mapping) and field.get("Field"):
                    yield str(field["Field"])
        yield from _flow_embedded_fields(flow.get("Flow"))
    elif isinstance(flow, list):
        for element in flow:
            yield from _flow_embedded_fields(element)


# ---------------------------------------------------------------------------------------------------


def id_list(value: Any) -> list[str] | None:
    """An order (``ChoiceOrder``, ``AnswerOrder``) as text IDs: orders mix numbers and strings."""
    if not isinstance(value, list):
        return None
    return [str(item) for item in value if not isinstance(item, (dict, list))]


def _object(value: Any) -> dict[str, Any] | None:
    """Objects pass; Qualtrics sometimes sends an empty list for an empty object."""
    if isinstance(value, Mapping):
        return dict(value)
    return None


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS


def _is_randomized(randomization: Any) -> bool:
    if not isinstance(randomization, Mapping):
        return bool(randomization) and randomization not in ("None", "false")
    kind = randomization.get("Type")
    return kind not in (None, "", "None", False)
