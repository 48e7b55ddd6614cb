"""Long answer rows from Qualtrics' wide responses: the per-survey column map and the decomposition.

A JSON export's ``values`` object is keyed by import IDs (``QID5``, ``QID8#2_1_3``, ``2_QID9_1``,
``QID4_DO``, ``source``...), unreadable without the survey. :func:`build_column_map` reads the legacy survey
(``GET /surveys/{id}``: its ``exportColumnMap``, keyed by export tags such as ``Q5``, ``Q8#2_1_3`` or
``Q9_1(2)``) and the definition ONCE per survey, and derives for every ``values`` key what it is: question,
sub-question, choice, side-by-side column, loop iteration and kind. :meth:`ColumnMap.decompose` then turns
one response into ``response_answers`` and ``response_embedded_data`` rows with dictionary lookups only;
everything that does not depend on the response is precomputed (row templates, hash prefixes, recode
tables), because this runs for every response of every export.

Pure: no HTTP, no Singer. The rules (keys, kinds, display order, seen-but-unanswered cells, what the map does
not cover) are documented in docs/answer-model.md; keep the two in step.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §10, §17.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, cast

import msgspec

from tap_qualtrics.model.columns import (
    FILE_PARTS,
    KIND_ANSWER,
    KIND_DISPLAY_ORDER,
    KIND_EMBEDDED_DATA,
    KIND_METADATA,
    KIND_NPS_GROUP,
    KIND_TEXT_ENTRY,
    KIND_UNKNOWN,
    KINDS,
    META_PARTS,
    MULTI_SELECTORS,
    SOURCE_DEFINITION,
    SOURCE_MAP,
    SOURCE_RULE,
    TEXT_QUESTION_TYPES,
    TIMING_PARTS,
    ExportColumn,
    predict_columns,
)
from tap_qualtrics.model.structure import Unit, embedded_field_names, question_units

__all__ = [
    "KINDS",
    "KIND_ANSWER",
    "KIND_DISPLAY_ORDER",
    "KIND_EMBEDDED_DATA",
    "KIND_METADATA",
    "KIND_NPS_GROUP",
    "KIND_TEXT_ENTRY",
    "KIND_UNKNOWN",
    "LAST_MODIFIED_KEY",
    "METADATA_KEYS",
    "SOURCE_DEFINITION",
    "SOURCE_MAP",
    "SOURCE_RULE",
    "AnswerRow",
    "ColumnMap",
    "ExportColumn",
    "build_column_map",
]

#: Response metadata keys of JSON exports, in export order (as real exports write them); ``LastModifiedDate``
#: comes with ``sortByLastModifiedDate`` (sandbox). These are columns of ``responses``, not answers.
METADATA_KEYS: tuple[str, ...] = (
    "startDate",
    "endDate",
    "status",
    "ipAddress",
    "progress",
    "duration",
    "finished",
    "recordedDate",
    "_recordId",
    "recipientLastName",
    "recipientFirstName",
    "recipientEmail",
    "externalDataReference",
    "locationLatitude",
    "locationLongitude",
    "distributionChannel",
    "userLanguage",
)
LAST_MODIFIED_KEY = "LastModifiedDate"
#: Other spellings of metadata; recognised, but not listed as columns of every survey.
OTHER_METADATA_KEYS = frozenset({"externalReference", "lastModifiedDate", "_lastModifiedDate"})

_PART_CHOICES = {
    "Timing": {suffix: cid for cid, suffix in TIMING_PARTS.items()},
    "Meta": {suffix: cid for cid, suffix in META_PARTS.items()},
}
_FILE_SUFFIXES = frozenset(FILE_PARTS)

_LOOP_SUFFIX = re.compile(r"^(?P<base>.*)\((?P<loop>\d+)\)$")
_QUESTION_KEY = re.compile(
    r"^(?:(?P<loop>\d+)_)?(?P<qid>QID\d+)(?:#(?P<col>\d+))?(?:_(?P<rest>.+))?$"
)
_RANK_KEY = re.compile(r"^G(?P<group>\d+)_(?P<choice>x?\d+)_RANK$")
_GROUP_KEY = re.compile(r"^(?P<group>\d+)_GROUP$")
_CARRIED = re.compile(r"^x\d+$")
_NUMERIC_TEXT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?\Z")
#: what ``ColumnMap.answer_rows`` does with one key, flat (see ``ColumnMap._plan``): a mode (``_SKIP``, ``_EMBED``,
#: ``_ORDER``, ``_ANSWER``), the hash input, the column's structure, how to read its values
Plan = tuple[Any, ...]
_JSON = msgspec.json.Encoder(
    decimal_format="number"
)  # lists and objects as text; exact numbers stay numbers
_MAX_RULE_COLUMNS = 10_000  # keys resolved at run time that are remembered per survey

# plan modes
_SKIP, _EMBED, _ANSWER, _ORDER = range(4)
_SKIP_PLAN: Plan = (_SKIP, b"", None, None, None, None, None, None, None, False)
_EMBED_PLAN: Plan = (_EMBED, b"", None, None, None, None, None, None, None, False)
_UNREAD: Any = object()  # not in the cache yet
_ANSWERED, _SEEN_UNANSWERED = False, True  # an answer row's ``is_seen_unanswered``
_MAX_NUMBERS_KEPT = 4096  # value texts whose numeric copy is remembered per survey


def _builtin_md5() -> Callable[[bytes], Any]:
    """MD5 for row IDs (a name, not security): CPython's own implementation hashes a short key in a third
    of the time OpenSSL's takes to set up (one hash per answer row); same digests."""
    try:
        builtin = importlib.import_module("_md5")  # CPython's own hash module
    except ImportError:  # an interpreter built without it
        return functools.partial(hashlib.md5, usedforsecurity=False)
    return cast("Callable[[bytes], Any]", builtin.md5)


_row_md5 = _builtin_md5()


class AnswerRow(msgspec.Struct, gc=False):
    """One ``response_answers`` row (docs/answer-model.md), in the order its RECORD message writes it.

    A struct, not a dictionary: built from its fields in one call and written with its field names already
    encoded, which is most of the cost of a row (a response has hundreds)."""

    survey_id: str
    response_id: str
    answer_id: str
    question_id: str | None
    parent_question_id: str | None
    sub_question_id: str | None
    choice_id: str | None
    loop_id: str | None
    column: str
    kind: str
    value: str | None
    value_number: int | float | Decimal | None
    label: str | None
    text: str | None
    is_seen_unanswered: bool
    last_modified_date: str | None


class ColumnMap:
    """One survey's export columns and the precomputed plan that decomposes its responses."""

    def __init__(
        self, survey_id: str, columns: Iterable[ExportColumn], units: Mapping[str, Unit]
    ) -> None:
        self.survey_id = survey_id
        self.columns: dict[str, ExportColumn] = {}
        for column in columns:
            self.columns.setdefault(column.column, column)
        self._units = units
        self._plans: dict[str, Plan] = {
            key: self._plan(column) for key, column in self.columns.items()
        }
        self._numbers: dict[
            str, int | float | Decimal | None
        ] = {}  # value text -> its numeric copy
        #: keys met in responses that the map did not list, resolved by rule (docs/answer-model.md)
        self.rule_columns: dict[str, ExportColumn] = {}

    # -- export_columns --------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """``export_columns`` rows, in export order (position 1..n)."""
        return [
            column.record(self.survey_id, n)
            for n, column in enumerate(self.columns.values(), start=1)
        ]

    def column(self, key: str) -> ExportColumn:
        """The column of a ``values`` key: from the map, else by the documented rules."""
        found = self.columns.get(key) or self.rule_columns.get(key)
        return found if found is not None else _resolve_by_rule(key, self._units)

    # -- decomposition ------------------------------------------------------------------------------

    def decompose(
        self,
        response_id: str,
        values: Mapping[str, Any],
        labels: Mapping[str, Any] | None = None,
        displayed_fields: Iterable[str] | None = None,
        last_modified_date: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``(response_answers rows, response_embedded_data rows)`` of one response, as dictionaries (the
        rows of :meth:`answer_rows`, for the SDK's record path and for readers)."""
        answers, embedded = self.answer_rows(
            response_id, values, labels, displayed_fields, last_modified_date
        )
        return [msgspec.structs.asdict(row) for row in answers], embedded

    def answer_rows(
        self,
        response_id: str,
        values: Mapping[str, Any],
        labels: Mapping[str, Any] | None = None,
        displayed_fields: Iterable[str] | None = None,
        last_modified_date: str | None = None,
    ) -> tuple[list[AnswerRow], list[dict[str, Any]]]:
        """``(response_answers rows, response_embedded_data rows)`` of one response."""
        answers: list[AnswerRow] = []
        embedded: list[dict[str, Any]] = []
        labels = labels if labels is not None else {}
        plans = self._plans
        numbers = self._numbers
        prefix = f"{self.survey_id}|{response_id}|".encode()
        md5 = _row_md5
        row = AnswerRow
        survey_id = self.survey_id
        for key, value in values.items():
            plan = plans.get(key)
            if plan is None:
                plan = self._plan_by_rule(key)
            (
                mode,
                tail,
                question_id,
                parent_id,
                sub_id,
                choice_id,
                loop_id,
                kind,
                recodes,
                is_text,
            ) = plan
            if mode == _SKIP or value is None:
                continue
            if mode == _EMBED:
                embedded.append(
                    {
                        "survey_id": survey_id,
                        "response_id": response_id,
                        "field": key,
                        "value": value if value.__class__ is str else _text(value),
                        "last_modified_date": last_modified_date,
                    }
                )
                continue
            label = labels.get(key)
            if mode == _ORDER:
                # ``recodes`` here: whether the items are rows (sub-questions), not choices
                order = value if value.__class__ is list else [value]
                names = label if label.__class__ is list and len(label) == len(order) else None
                for position, shown in enumerate(order, start=1):
                    item = shown if shown.__class__ is str else _text(shown)
                    answers.append(
                        row(
                            survey_id,
                            response_id,
                            md5(prefix + tail + item.encode()).hexdigest(),
                            question_id,
                            parent_id,
                            item if recodes else sub_id,
                            None if recodes else item,
                            loop_id,
                            key,
                            kind,
                            str(position),
                            position,
                            _label(names[position - 1]) if names is not None else None,
                            None,
                            _ANSWERED,
                            last_modified_date,
                        )
                    )
                continue
            if value.__class__ is list:
                names = label if label.__class__ is list and len(label) == len(value) else None
                for index, item in enumerate(value):
                    raw = item if item.__class__ is str else _text(item)
                    answers.append(
                        row(
                            survey_id,
                            response_id,
                            md5(prefix + tail + raw.encode()).hexdigest(),
                            question_id,
                            parent_id,
                            sub_id,
                            recodes.get(raw) if recodes is not None else choice_id,
                            loop_id,
                            key,
                            kind,
                            raw,
                            None if is_text else _number(item),
                            _label(names[index]) if names is not None else None,
                            raw if is_text else None,
                            _ANSWERED,
                            last_modified_date,
                        )
                    )
                continue
            cls = value.__class__
            if cls is int:  # the commonest value: a recode or a count
                raw = str(value)
                number: int | float | Decimal | None = value
            elif cls is str:
                raw = value
                if is_text:
                    number = None
                else:  # the same few texts over and over (scale points, recodes)
                    number = numbers.get(raw, _UNREAD)
                    if number is _UNREAD:
                        number = _number(raw)
                        if len(numbers) < _MAX_NUMBERS_KEPT:
                            numbers[raw] = number
            else:
                raw = str(value) if cls is float else _text(value)
                number = None if is_text else _number(value)
            answers.append(
                row(
                    survey_id,
                    response_id,
                    md5(prefix + tail).hexdigest(),
                    question_id,
                    parent_id,
                    sub_id,
                    recodes.get(raw) if recodes is not None else choice_id,
                    loop_id,
                    key,
                    kind,
                    raw,
                    None if is_text else number,
                    label if label is None or label.__class__ is str else _label(label),
                    raw if is_text else None,
                    _ANSWERED,
                    last_modified_date,
                )
            )
        if displayed_fields:
            emitted: set[str] = set()
            for key in displayed_fields:
                value = values.get(key)
                if (value is not None and value != []) or key in emitted:
                    continue
                plan = plans.get(key)
                if plan is None:
                    plan = self._plan_by_rule(key)
                mode, tail, question_id, parent_id, sub_id, choice_id, loop_id, kind, _, _ = plan
                if mode != _ANSWER:
                    continue
                emitted.add(key)
                answers.append(
                    row(
                        survey_id,
                        response_id,
                        md5(prefix + tail).hexdigest(),
                        question_id,
                        parent_id,
                        sub_id,
                        choice_id,
                        loop_id,
                        key,
                        kind,
                        None,
                        None,
                        None,
                        None,
                        _SEEN_UNANSWERED,
                        last_modified_date,
                    )
                )
        return answers, embedded

    def embedded_rows(
        self, response_id: str, values: Mapping[str, Any], last_modified_date: str | None = None
    ) -> list[dict[str, Any]]:
        """Only the ``response_embedded_data`` rows of one response (as :meth:`decompose` gives them)."""
        plans = self._plans
        rows = []
        for key, value in values.items():
            plan = plans.get(key)
            if plan is None:
                plan = self._plan_by_rule(key)
            if plan[0] == _EMBED and value is not None:
                rows.append(
                    {
                        "survey_id": self.survey_id,
                        "response_id": response_id,
                        "field": key,
                        "value": value if value.__class__ is str else _text(value),
                        "last_modified_date": last_modified_date,
                    }
                )
        return rows

    # -- plans ------------------------------------------------------------------------------------------

    def _plan_by_rule(self, key: str) -> Plan:
        column = _resolve_by_rule(key, self._units)
        plan = self._plan(column)
        if len(self.rule_columns) < _MAX_RULE_COLUMNS:
            self.rule_columns[key] = column
            self._plans[key] = plan
        return plan

    def _plan(self, column: ExportColumn) -> Plan:
        """What ``answer_rows`` needs per key, flat: mode, hash input, the column's structure, how to read
        values (the choice recode table, or for display order whether its items are rows; whether text)."""
        if column.kind == KIND_METADATA:
            return _SKIP_PLAN
        if column.kind == KIND_EMBEDDED_DATA:
            return _EMBED_PLAN
        structure = (
            column.question_id,
            column.parent_question_id,
            column.sub_question_id,
            column.choice_id,
            column.loop_id,
            column.kind,
        )
        tail = f"{column.column}|".encode()
        unit = self._units.get(column.question_id or "")
        if (
            column.kind == KIND_DISPLAY_ORDER
        ):  # rows (``_DO`` of a matrix) or choices (``_ADO``, others)
            rows = unit is not None and bool(unit.rows) and not column.column.endswith("_ADO")
            return (_ORDER, tail, *structure, rows, False)
        coded = (
            column.kind == KIND_ANSWER
            and column.choice_id is None
            and unit is not None
            and unit.choices
        )
        recodes = unit.recode_to_choice() if coded and unit is not None else None
        return (_ANSWER, tail, *structure, recodes, column.kind == KIND_TEXT_ENTRY)


# ---------------------------------------------------------------------------------------------------
# building the map


def build_column_map(
    survey_id: str, legacy: Mapping[str, Any] | None, definition: Mapping[str, Any] | None
) -> ColumnMap:
    """The survey's column map from its definition, completed by its legacy survey (``exportColumnMap``).

    The definition decides which columns a question has (:func:`~tap_qualtrics.model.columns.predict_columns`,
    the shapes real exports write); the legacy map gives their export tags, and the columns of questions the
    definition lacks or whose type the rules do not know. Order: metadata, questions in export order, the
    survey's embedded-data fields, ``LastModifiedDate``.
    """
    legacy = legacy if isinstance(legacy, Mapping) else {}
    definition = definition if isinstance(definition, Mapping) else {}
    units = question_units(definition, legacy)
    mapped = _question_columns(legacy.get("exportColumnMap"), units)
    tags = {column.column: column.export_tag for column in mapped}
    for column in mapped:
        for key in column.breakout:
            tags.setdefault(key, column.export_tag)
    predicted = predict_columns(definition, units)
    columns = [
        ExportColumn(column=key, kind=KIND_METADATA, source=SOURCE_RULE) for key in METADATA_KEYS
    ]
    for question_id, question_columns in predicted.items():
        if question_columns is None:
            columns.extend(c for c in mapped if c.parent_question_id == question_id)
            continue
        columns.extend(
            replace(c, export_tag=tags.get(c.column) or _first_tag(c.breakout, tags))
            for c in question_columns
        )
    columns.extend(c for c in mapped if c.parent_question_id not in predicted)
    metadata = set(METADATA_KEYS) | OTHER_METADATA_KEYS | {LAST_MODIFIED_KEY}
    columns.extend(
        ExportColumn(column=name, kind=KIND_EMBEDDED_DATA, source=SOURCE_RULE)
        for name in embedded_field_names(definition, legacy)
        if name not in metadata and not _QUESTION_KEY.match(name)
    )
    columns.append(ExportColumn(column=LAST_MODIFIED_KEY, kind=KIND_METADATA, source=SOURCE_RULE))
    return ColumnMap(survey_id, columns, units)


def _first_tag(keys: Iterable[str], tags: Mapping[str, str | None]) -> str | None:
    return next((tags[key] for key in keys if tags.get(key)), None)


def _question_columns(export_column_map: Any, units: Mapping[str, Unit]) -> list[ExportColumn]:
    """Columns of the map, with a display-order column after each randomized question's columns."""
    if not isinstance(export_column_map, Mapping):
        return []
    out: list[ExportColumn] = []
    seen: set[str] = set()
    group: tuple[str | None, str | None] | None = None
    for map_key, entry in export_column_map.items():
        if not isinstance(entry, Mapping) or not entry.get("question"):
            continue
        column = _from_map_entry(str(map_key), entry, units)
        if column.column in seen:
            continue  # several map keys for one values key (multi-select breakouts): the first names it
        this_group = (column.loop_id, column.parent_question_id)
        if group is not None and this_group != group:
            out.extend(_display_order_column(group, units, seen))
        group = this_group
        seen.add(column.column)
        out.append(column)
    if group is not None:
        out.extend(_display_order_column(group, units, seen))
    return out


def _display_order_column(
    group: tuple[str | None, str | None], units: Mapping[str, Unit], seen: set[str]
) -> list[ExportColumn]:
    loop_id, question_id = group
    unit = units.get(question_id or "")
    if unit is None or not unit.is_randomized:
        return []
    key = _looped(f"{question_id}_DO", loop_id)
    if key in seen:
        return []
    seen.add(key)
    return [
        ExportColumn(
            column=key,
            kind=KIND_DISPLAY_ORDER,
            source=SOURCE_RULE,
            question_id=question_id,
            parent_question_id=question_id,
            loop_id=loop_id,
            is_multi_valued=True,
        )
    ]


def _from_map_entry(
    map_key: str, entry: Mapping[str, Any], units: Mapping[str, Unit]
) -> ExportColumn:
    """The values key and structure of one ``exportColumnMap`` entry (docs/answer-model.md, "the map")."""
    base, loop_id = map_key, None
    looped = _LOOP_SUFFIX.match(map_key)
    if looped:
        base, loop_id = looped["base"], looped["loop"]
    qid = str(entry["question"])
    side_by_side_id = _last_part(entry.get("column"))
    sub_question_id = _last_part(entry.get("subQuestion"))
    choice_id = _last_part(entry.get("choice"))
    is_text_entry = bool(entry.get("textEntry"))
    parent = units.get(qid)
    qtype = parent.type if parent is not None else None
    tag = parent.export_tag if parent is not None else None
    remainder = base[len(tag) :] if tag and base.startswith(tag) else None
    grouped = bool(remainder and _GROUP_KEY.match(remainder[1:]))
    kind = KIND_ANSWER
    unit = units.get(f"{qid}#{side_by_side_id}") if side_by_side_id is not None else parent
    listed = (  # a multiple-answer row is one list; the map lists it once per scale point
        unit is not None
        and unit.sub_selector == "MultipleAnswer"
        and choice_id is not None
        and not is_text_entry
    )
    if listed:
        choice_id = None
    if side_by_side_id is not None:
        key = f"{qid}#{side_by_side_id}_{sub_question_id}"
        if choice_id is not None:
            key += f"_{choice_id}"
        if is_text_entry:
            key += "_TEXT"
    elif sub_question_id is not None:
        key = f"{qid}_{sub_question_id}"
        if choice_id is not None:
            key += f"_{choice_id}"
        if is_text_entry:
            key += "_TEXT"
    elif choice_id is not None and is_text_entry:
        key = f"{qid}_{choice_id}_TEXT"
    elif choice_id is not None:
        if (
            qtype == "MC"
        ):  # one map key per choice of a multi-select: the values key is the question's list
            key, choice_id = qid, None
        elif qtype in _PART_CHOICES:
            suffixes = TIMING_PARTS if qtype == "Timing" else META_PARTS
            key = f"{qid}_{suffixes.get(choice_id, choice_id)}"
        else:
            key = f"{qid}_{choice_id}"
    elif remainder == "_TEXT" and qtype == "MC" and parent is not None and _text_choice(parent):
        # `<tag>_TEXT` names the other-specify text of a single-answer question; the export keys it by choice
        choice_id = _text_choice(parent)
        key = f"{qid}_{choice_id}_TEXT"
    elif remainder == "_NPS_GROUP":
        key, kind = f"{qid}_NPS_GROUP", KIND_NPS_GROUP
    elif grouped and remainder:  # pick-group-rank: the items put in group g
        key, sub_question_id = f"{qid}{remainder}", remainder[1:].split("_", 1)[0]
    elif qtype in TEXT_QUESTION_TYPES:
        key = f"{qid}_TEXT"
    elif remainder:
        key = f"{qid}{remainder}"
    else:
        key = qid
    if kind == KIND_ANSWER and (
        is_text_entry or qtype in TEXT_QUESTION_TYPES or base.endswith("_TEXT")
    ):
        kind = KIND_TEXT_ENTRY
    multi = (
        (
            kind == KIND_ANSWER
            and key == qid
            and parent is not None
            and parent.type == "MC"
            and parent.selector in MULTI_SELECTORS
        )
        or grouped
        or listed
    )
    return ExportColumn(
        column=_looped(key, loop_id),
        kind=kind,
        source=SOURCE_MAP,
        export_tag=map_key,
        question_id=f"{qid}#{side_by_side_id}" if side_by_side_id is not None else qid,
        parent_question_id=qid,
        sub_question_id=sub_question_id,
        choice_id=choice_id,
        side_by_side_id=side_by_side_id,
        loop_id=loop_id,
        is_multi_valued=multi,
    )


def _text_choice(unit: Unit) -> str | None:
    return next((c.choice_id for c in unit.choices if c.is_text_entry), None)


def _resolve_by_rule(key: str, units: Mapping[str, Unit]) -> ExportColumn:
    """A ``values`` key the map does not list: metadata, a question key read by its shape, embedded data,
    or ``unknown`` (a question key whose question or shape the survey does not explain: kept raw)."""
    if key in OTHER_METADATA_KEYS or key == LAST_MODIFIED_KEY or key in METADATA_KEYS:
        return ExportColumn(column=key, kind=KIND_METADATA, source=SOURCE_RULE)
    match = _QUESTION_KEY.match(key)
    if match is None:
        return ExportColumn(column=key, kind=KIND_EMBEDDED_DATA, source=SOURCE_RULE)
    loop_id, qid, side_by_side_id, rest = (
        match["loop"],
        match["qid"],
        match["col"],
        match["rest"] or "",
    )
    unit_id = f"{qid}#{side_by_side_id}" if side_by_side_id else qid
    unit = units.get(unit_id)
    common: dict[str, Any] = {
        "column": key,
        "source": SOURCE_RULE,
        "question_id": unit_id,
        "parent_question_id": qid,
        "side_by_side_id": side_by_side_id,
        "loop_id": loop_id,
    }
    if unit is None and units:  # the survey has no such question
        return ExportColumn(kind=KIND_UNKNOWN, **common)
    if rest in ("DO", "ADO"):
        return ExportColumn(kind=KIND_DISPLAY_ORDER, is_multi_valued=True, **common)
    if rest == "NPS_GROUP":
        return ExportColumn(kind=KIND_NPS_GROUP, **common)
    if rest in _FILE_SUFFIXES:
        return ExportColumn(kind=KIND_ANSWER, **common)
    ranked = _RANK_KEY.match(rest)
    if ranked and (unit is None or _is_choice(unit, ranked["choice"])):
        return ExportColumn(
            kind=KIND_ANSWER, sub_question_id=ranked["group"], choice_id=ranked["choice"], **common
        )
    grouped = _GROUP_KEY.match(rest)
    if grouped:
        return ExportColumn(
            kind=KIND_ANSWER, sub_question_id=grouped["group"], is_multi_valued=True, **common
        )
    qtype = unit.type if unit is not None else None
    parts = rest.split("_") if rest else []
    is_text = qtype in TEXT_QUESTION_TYPES or qtype == "Meta"
    if parts and parts[-1] == "TEXT":
        parts, is_text = parts[:-1], True
    sub_question_id = None
    if (
        parts
        and unit is not None
        and (unit.rows or unit.type == "Matrix")  # a matrix's carried-forward choices are its rows
        and (_is_row(unit, parts[0]) or _CARRIED.match(parts[0]))
    ):
        sub_question_id = parts.pop(0)
    remaining = "_".join(parts)
    choice_id = _PART_CHOICES.get(qtype or "", {}).get(remaining, remaining) or None
    if (
        unit is not None
        and choice_id is not None
        and not (_is_choice(unit, choice_id) or _CARRIED.match(choice_id) or qtype in _PART_CHOICES)
    ):  # a part the question does not have: kept raw, never guessed
        return ExportColumn(kind=KIND_UNKNOWN, sub_question_id=sub_question_id, **common)
    multi = (
        not parts and unit is not None and unit.type == "MC" and unit.selector in MULTI_SELECTORS
    )
    return ExportColumn(
        kind=KIND_TEXT_ENTRY if is_text else KIND_ANSWER,
        sub_question_id=sub_question_id,
        choice_id=choice_id,
        is_multi_valued=multi and not is_text,
        **common,
    )


def _is_choice(unit: Unit, choice_id: str) -> bool:
    return any(c.choice_id == choice_id for c in unit.choices)


def _is_row(unit: Unit, row_id: str) -> bool:
    return any(r.choice_id == row_id for r in unit.rows)


def _looped(key: str, loop_id: str | None) -> str:
    return f"{loop_id}_{key}" if loop_id else key


def _last_part(reference: Any) -> str | None:
    """``"QID17.columns.2.choices.3"`` -> ``"3"``."""
    if reference is None or reference == "":
        return None
    return str(reference).rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------------------
# values


def _text(value: Any) -> str:
    """A raw value as text: numbers as JSON spells them, booleans ``true``/``false``, objects as JSON."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):
        return _JSON.encode(value).decode()
    return str(value)


def _label(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    return _text(value)


def _number(value: Any) -> int | float | Decimal | None:
    """The numeric copy: JSON numbers, and numbers written as plain decimal text (recodes)."""
    cls = value.__class__
    if cls is int:
        return int(value)
    if cls is float:
        return float(value) if math.isfinite(value) else None
    if cls is str:
        if _NUMERIC_TEXT.match(value) is None:
            return None
        return int(value) if "." not in value else float(value)
    if cls is Decimal:
        return Decimal(value) if value.is_finite() else None
    return None
