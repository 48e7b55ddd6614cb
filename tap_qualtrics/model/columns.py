"""Export columns: what one key of an exported response is, and which keys a survey's export has.

The keys of a JSON export's ``values`` (the "import IDs" of CSV exports) follow from the survey definition:
each question type writes its own shapes (``QID5``, ``QID5_3_TEXT``, ``QID8#2_1``, ``QID17_G0_4_RANK``...).
:func:`predict_columns` derives them question by question, in export order (survey flow, block elements, then
each question's own order). The rules were read off real exports (``tests/real/``) and are documented, with
their evidence, in docs/answer-model.md. A question type the rules do not know yields ``None``: the caller
falls back on the legacy ``exportColumnMap`` and, at run time, on reading keys by their shape.

Pure: no HTTP, no Singer.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §17.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tap_qualtrics.model.coerce import as_mapping
from tap_qualtrics.model.structure import (
    SIDE_BY_SIDE,
    TRASH_BLOCK_TYPE,
    Unit,
    block_list,
    block_question_ids,
    flow_block_ids,
    id_list,
)

# kinds of export columns
KIND_ANSWER = "answer"
KIND_TEXT_ENTRY = "text_entry"
KIND_DISPLAY_ORDER = "display_order"
KIND_NPS_GROUP = "nps_group"
KIND_METADATA = "metadata"
KIND_EMBEDDED_DATA = "embedded_data"
KIND_UNKNOWN = "unknown"
KINDS = (
    KIND_ANSWER,
    KIND_TEXT_ENTRY,
    KIND_DISPLAY_ORDER,
    KIND_NPS_GROUP,
    KIND_METADATA,
    KIND_EMBEDDED_DATA,
    KIND_UNKNOWN,
)

# where a column's meaning comes from
SOURCE_DEFINITION = "definition"
SOURCE_MAP = "export_column_map"
SOURCE_RULE = "rule"

# values-key suffixes of the parts of timing, meta-info and file-upload questions (choice ID -> suffix)
TIMING_PARTS = {"1": "FIRST_CLICK", "2": "LAST_CLICK", "3": "PAGE_SUBMIT", "4": "CLICK_COUNT"}
META_PARTS = {"1": "BROWSER", "2": "VERSION", "3": "OS", "4": "RESOLUTION"}
FILE_PARTS = ("FILE_ID", "FILE_NAME", "FILE_SIZE", "FILE_TYPE")
MULTI_SELECTORS = frozenset({"MAVR", "MAHR", "MACOL", "MSB"})
TEXT_QUESTION_TYPES = frozenset({"TE"})
FILE_QUESTION_TYPES = frozenset({"FileUpload", "Draw"})
_NO_ANSWER_TYPES = frozenset({"DB"})
#: matrix selectors whose keys real exports show: a key per row (a list for MultipleAnswer), or per cell
#: for text entry; others (constant sum and rank order matrices, profiles) are left to the map and rules
_ROW_SELECTORS = frozenset({"Likert", "Bipolar", "MaxDiff"})
_CELL_TEXT_SELECTORS = frozenset({"TE"})


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """What one export column (one key of ``values``) is.

    ``breakout`` lists the keys a list-valued column takes in CSV and XML exports, which write one column per
    choice (``QID4`` -> ``QID4_1``, ``QID4_2``...); empty when the column is the same in every format.
    """

    column: str
    kind: str
    source: str
    export_tag: str | None = None
    question_id: str | None = None
    parent_question_id: str | None = None
    sub_question_id: str | None = None
    choice_id: str | None = None
    side_by_side_id: str | None = None
    loop_id: str | None = None
    is_multi_valued: bool = False
    breakout: tuple[str, ...] = ()

    def record(self, survey_id: str, position: int | None) -> dict[str, Any]:
        """The ``export_columns`` row."""
        return {
            "survey_id": survey_id,
            "column": self.column,
            "position": position,
            "kind": self.kind,
            "source": self.source,
            "export_tag": self.export_tag,
            "question_id": self.question_id,
            "parent_question_id": self.parent_question_id,
            "sub_question_id": self.sub_question_id,
            "choice_id": self.choice_id,
            "side_by_side_id": self.side_by_side_id,
            "loop_id": self.loop_id,
            "is_multi_valued": self.is_multi_valued,
        }


def predict_columns(
    definition: Mapping[str, Any], units: Mapping[str, Unit]
) -> dict[str, list[ExportColumn] | None]:
    """Question ID -> its export columns in export order (``None``: a type the rules do not know).

    Questions are visited in survey-flow order (blocks the flow does not show follow, in definition order);
    questions of the trash block have no columns. A question in a Loop & Merge block has its columns once
    per iteration, prefixed ``<iteration>_``.
    """
    questions = definition.get("Questions")
    if not isinstance(questions, Mapping):
        return {}
    out: dict[str, list[ExportColumn] | None] = {}
    for block, question_ids in _blocks_in_export_order(definition):
        iterations = _loop_iterations(block, questions)
        for qid in question_ids:
            question = questions.get(qid)
            if qid in out or not isinstance(question, Mapping):
                continue
            columns = question_columns(qid, question, units, questions)
            if columns is None or not iterations:
                out[qid] = columns
                continue
            out[qid] = [_in_loop(column, it) for it in iterations for column in columns]
    return out


def question_columns(
    qid: str,
    question: Mapping[str, Any],
    units: Mapping[str, Unit],
    questions: Mapping[str, Any] | None = None,
) -> list[ExportColumn] | None:
    """The columns of one question (outside any loop), or ``None`` for a type the rules do not know."""
    unit = units.get(qid)
    if unit is None:
        return None
    qtype = unit.type
    if qtype in _NO_ANSWER_TYPES:
        return []
    carried = _carried_choices(question, questions or {})
    if qtype == "MC":
        return _choice_question(unit, carried)
    if qtype == "Matrix":
        if unit.selector not in _ROW_SELECTORS | _CELL_TEXT_SELECTORS:
            return None
        return _matrix(unit, qid, unit, carried)
    if qtype == SIDE_BY_SIDE:
        return _side_by_side(qid, units)
    if qtype in TEXT_QUESTION_TYPES:
        if unit.selector == "FORM":
            return [
                _col(f"{qid}_{c.choice_id}", KIND_TEXT_ENTRY, unit, choice_id=c.choice_id)
                for c in unit.choices
            ]
        return [_col(f"{qid}_TEXT", KIND_TEXT_ENTRY, unit)]
    if qtype in ("Slider", "CS", "RO"):
        ids = _choice_ids(unit, carried)
        columns = [_col(f"{qid}_{cid}", KIND_ANSWER, unit, choice_id=cid) for cid in ids]
        columns += _choice_texts(unit, carried)
        return columns + _display_orders(unit, qid)
    if qtype == "PGR":
        return _pick_group_rank(unit, question)
    if qtype == "Timing":
        return [
            _col(f"{qid}_{part}", KIND_ANSWER, unit, choice_id=cid)
            for cid, part in TIMING_PARTS.items()
        ]
    if qtype == "Meta":
        return [
            _col(f"{qid}_{part}", KIND_TEXT_ENTRY, unit, choice_id=cid)
            for cid, part in META_PARTS.items()
        ]
    if qtype in FILE_QUESTION_TYPES:
        return [_col(f"{qid}_{part}", KIND_ANSWER, unit) for part in FILE_PARTS]
    return None


# ---------------------------------------------------------------------------------------------------
# question types


def _choice_question(unit: Unit, carried: Carried | None) -> list[ExportColumn]:
    """MC: one column (a list for multi-select), ``_NPS_GROUP`` for NPS, other-specify texts, display order."""
    qid = unit.question_id
    ids = _choice_ids(unit, carried)
    columns: list[ExportColumn] = []
    if unit.selector == "NPS":
        columns.append(_col(f"{qid}_NPS_GROUP", KIND_NPS_GROUP, unit))
    multi = unit.selector in MULTI_SELECTORS
    columns.append(
        _col(
            qid,
            KIND_ANSWER,
            unit,
            is_multi_valued=multi,
            breakout=tuple(f"{qid}_{cid}" for cid in ids) if multi else (),
        )
    )
    return columns + _choice_texts(unit, carried) + _display_orders(unit, qid)


def _matrix(unit: Unit, prefix: str, rows_of: Unit, carried: Carried | None) -> list[ExportColumn]:
    """Matrix (and one side-by-side column): a column per row; a text per text-entry row; display orders.

    Single-answer rows hold the picked scale point (``QIDn_r``); multiple-answer rows a list of them (one
    column per scale point in CSV); text-entry matrices one text per cell (``QIDn_r_a_TEXT``).
    """
    if carried is not None:
        rows, text_rows = carried.ids, carried.text_ids
    else:
        rows = [r.choice_id for r in rows_of.rows]
        text_rows = [r.choice_id for r in rows_of.rows if r.is_text_entry]
    answers = [a.choice_id for a in unit.choices]
    multi = unit.sub_selector == "MultipleAnswer"
    columns: list[ExportColumn] = []
    for row in rows:
        if unit.selector in _CELL_TEXT_SELECTORS:
            columns.extend(
                _col(
                    f"{prefix}_{row}_{a}_TEXT",
                    KIND_TEXT_ENTRY,
                    unit,
                    sub_question_id=row,
                    choice_id=a,
                )
                for a in answers
            )
            continue
        columns.append(
            _col(
                f"{prefix}_{row}",
                KIND_ANSWER,
                unit,
                sub_question_id=row,
                is_multi_valued=multi,
                breakout=tuple(f"{prefix}_{row}_{a}" for a in answers) if multi else (),
            )
        )
    columns.extend(
        _col(f"{prefix}_{row}_TEXT", KIND_TEXT_ENTRY, unit, sub_question_id=row)
        for row in text_rows
    )
    if unit.side_by_side_id is None:
        columns += _display_orders(unit, prefix)
        if unit.answers_randomized:
            columns.append(_col(f"{prefix}_ADO", KIND_DISPLAY_ORDER, unit, is_multi_valued=True))
    return columns


def _side_by_side(qid: str, units: Mapping[str, Unit]) -> list[ExportColumn]:
    """Each column ``QIDn#k`` of a side-by-side question, as a matrix over the parent's rows."""
    parent = units[qid]
    columns: list[ExportColumn] = []
    for unit in units.values():
        if unit.parent_question_id == qid and unit.side_by_side_id is not None:
            columns += _matrix(unit, unit.question_id, parent, None)
    return columns + _display_orders(parent, qid)


def _pick_group_rank(unit: Unit, question: Mapping[str, Any]) -> list[ExportColumn]:
    """Pick, group and rank: per group ``QIDn_<g>_GROUP`` (the items put in it, a list), then
    ``QIDn_G<g>_<item>_RANK`` per group and item, then other-specify texts."""
    qid = unit.question_id
    groups = _group_count(question)
    ids = [c.choice_id for c in unit.choices]
    columns = [
        _col(
            f"{qid}_{g}_GROUP",
            KIND_ANSWER,
            unit,
            sub_question_id=str(g),
            is_multi_valued=True,
            breakout=tuple(f"{qid}_{g}_GROUP_{cid}" for cid in ids),
        )
        for g in range(groups)
    ]
    columns += [
        _col(f"{qid}_G{g}_{cid}_RANK", KIND_ANSWER, unit, sub_question_id=str(g), choice_id=cid)
        for g in range(groups)
        for cid in ids
    ]
    return columns + _choice_texts(unit, None) + _display_orders(unit, qid)


# ---------------------------------------------------------------------------------------------------
# pieces


def _col(key: str, kind: str, unit: Unit, **fields: Any) -> ExportColumn:
    return ExportColumn(
        column=key,
        kind=kind,
        source=SOURCE_DEFINITION,
        question_id=unit.question_id,
        parent_question_id=unit.parent_question_id,
        side_by_side_id=unit.side_by_side_id,
        **fields,
    )


def _choice_ids(unit: Unit, carried: Carried | None) -> list[str]:
    """The keys of a question's choices: its own, or the ``x``-keys of choices carried from another."""
    return carried.ids if carried is not None else [c.choice_id for c in unit.choices]


def _choice_texts(unit: Unit, carried: Carried | None) -> list[ExportColumn]:
    """Other-specify texts: ``QIDn_<choice>_TEXT`` (``QIDn_x<choice>_TEXT`` for carried-forward choices)."""
    qid = unit.question_id
    if carried is not None:
        return [
            _col(f"{qid}_{cid}_TEXT", KIND_TEXT_ENTRY, unit, choice_id=cid)
            for cid in carried.text_ids
        ]
    return [
        _col(f"{qid}_{c.choice_id}_TEXT", KIND_TEXT_ENTRY, unit, choice_id=c.choice_id)
        for c in unit.choices
        if c.is_text_entry
    ]


def _display_orders(unit: Unit, prefix: str) -> list[ExportColumn]:
    if not unit.is_randomized:
        return []
    return [_col(f"{prefix}_DO", KIND_DISPLAY_ORDER, unit, is_multi_valued=True)]


def _in_loop(column: ExportColumn, iteration: str) -> ExportColumn:
    return replace(
        column,
        column=f"{iteration}_{column.column}",
        loop_id=iteration,
        breakout=tuple(f"{iteration}_{key}" for key in column.breakout),
    )


def _group_count(question: Mapping[str, Any]) -> int:
    groups = question.get("Groups")
    number = question.get("NumberOfGroups")
    try:
        return int(number if number is not None else "")
    except (TypeError, ValueError):
        return len(groups) if isinstance(groups, (list, Mapping)) else 1


# ---------------------------------------------------------------------------------------------------
# carried-forward choices


@dataclass(frozen=True, slots=True)
class Carried:
    """Choices a question takes from another question (carry forward), keyed ``x<source choice ID>``:
    all of them, and those that take text."""

    ids: list[str]
    text_ids: list[str]


def _carried_choices(question: Mapping[str, Any], questions: Mapping[str, Any]) -> Carried | None:
    """The carried-forward choices of a question (all the source's choices can be carried), else None."""
    source = _carry_source(question, questions)
    if source is None:
        return None
    choices = source.get("Choices")
    ids = _ordered_ids(choices, source.get("ChoiceOrder"))
    items = choices if isinstance(choices, Mapping) else {}
    text_ids = [cid for cid in ids if _takes_text(items.get(cid))]
    return Carried([f"x{cid}" for cid in ids], [f"x{cid}" for cid in text_ids])


def _takes_text(choice: Any) -> bool:
    if not isinstance(choice, Mapping):
        return False
    flag = choice.get("TextEntry")
    return (
        flag is True
        or (isinstance(flag, (int, float)) and flag != 0)
        or str(flag).lower() == "true"
    )


def _carry_source(
    question: Mapping[str, Any], questions: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    dynamic = question.get("DynamicChoices")
    if not isinstance(dynamic, Mapping):
        return None
    locator = str(dynamic.get("Locator") or "")
    if not locator.startswith("q://"):
        return None
    source = questions.get(locator[4:].split("/", 1)[0])
    return source if isinstance(source, Mapping) else None


def _ordered_ids(items: Any, order: Any) -> list[str]:
    ids = [str(k) for k in items] if isinstance(items, Mapping) else []
    if isinstance(items, list):
        ids = [str(i) for i in range(len(items))]
    ordered = id_list(order) or []
    return [i for i in dict.fromkeys(ordered) if i in ids] + [i for i in ids if i not in ordered]


# ---------------------------------------------------------------------------------------------------
# flow, blocks and loops


def _blocks_in_export_order(
    definition: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any], list[str]]]:
    """(block, its question IDs) in survey-flow order, then blocks the flow does not show; never the trash."""
    by_id = {str(b.get("ID")): b for b in block_list(definition.get("Blocks"))}
    if not by_id:  # no blocks (a bare question list): the definition's own order
        questions = definition.get("Questions")
        yield {}, [str(k) for k in questions] if isinstance(questions, Mapping) else []
        return
    ordered = list(dict.fromkeys([*flow_block_ids(definition.get("SurveyFlow")), *by_id]))
    for block_id in ordered:
        block = by_id.get(block_id)
        if block is None or block.get("Type") == TRASH_BLOCK_TYPE:
            continue
        yield block, block_question_ids(block)


def _loop_iterations(block: Mapping[str, Any], questions: Mapping[str, Any]) -> list[str]:
    """Loop & Merge iteration IDs: the source question's choices for a loop over a question, else the
    static loop's rows."""
    options = as_mapping(block.get("Options"))
    looping = options.get("Looping")
    if looping in (None, "", "None", False):
        return []
    loop_options = as_mapping(options.get("LoopingOptions"))
    if looping == "Question":
        source = questions.get(str(loop_options.get("QID") or ""))
        if isinstance(source, Mapping):
            return _ordered_ids(source.get("Choices"), source.get("ChoiceOrder"))
    static = loop_options.get("Static")
    return [str(k) for k in static] if isinstance(static, Mapping) else []
