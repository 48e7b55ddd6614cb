"""Feeding the answer rows of a response export from its export pass: ``response_answers`` and
``response_embedded_data`` from ``responses``, ``response_in_progress_answers`` and
``response_in_progress_embedded_data`` from ``responses_in_progress``.

The SDK syncs a child stream once per parent record, and each child sync writes a SCHEMA message and a log
line: for 200,000 responses, 200,000 of each. :class:`ResponseChildren`, owned by the exporting stream (the
owner; its children are found among the owner's own child streams), does instead:

* write the SCHEMA of each selected child once, when the owner starts syncing;
* decompose each response right before the owner yields it (:meth:`ColumnMap.answer_rows`) and write its
  rows at once to the tap's one writer: a response's rows always precede the response itself and the STATE
  that covers it, so a run resumed from any STATE has every row of every response before its bookmark, and
  no second export is needed;
* count each child's rows per survey in its ``record_count`` metric;
* build a survey's column map from its definition and legacy survey (``GET /survey-definitions/{id}`` and
  ``GET /surveys/{id}`` per exported survey, only when ``response_answers`` is selected; embedded data is
  recognised by rule) inside that survey's export, so a failure there fails the survey like a failed export;
* name, in one warning per survey, the keys that neither the survey nor a rule explains (kept raw, kind
  ``unknown``) and the question keys read by rule only.

Children are recognised by their ``role``, so this module imports no stream class.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tap_qualtrics.model.answers import (
    KIND_EMBEDDED_DATA,
    KIND_METADATA,
    KIND_UNKNOWN,
    ColumnMap,
    build_column_map,
)

ROLE_ANSWERS = "answers"
ROLE_EMBEDDED_DATA = "embedded_data"
MAPS_KEPT = 4  # column maps kept per run (surveys are exported one after another)

logger = logging.getLogger("tap-qualtrics.answers")


class ResponseChildren:
    """Decomposes the responses a stream exports (``responses``, ``responses_in_progress``) and writes the rows
    of its selected children (recognised by ``role``)."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        children = list(owner.child_streams)
        self._answers = _selected_child(children, ROLE_ANSWERS)
        self._embedded = _selected_child(children, ROLE_EMBEDDED_DATA)
        self.active = self._answers is not None or self._embedded is not None
        self._maps: OrderedDict[str, ColumnMap] = OrderedDict()
        self._reported: dict[str, set[str]] = {}  # survey -> keys already named in a warning
        self._started = False

    def begin(self) -> None:
        """Write the selected children's SCHEMA messages (once per run)."""
        if self._started:
            return
        self._started = True
        for child in (self._answers, self._embedded):
            if child is not None:
                child.write_schema()

    @contextmanager
    def counting(self, context: Mapping[str, Any]) -> Iterator[None]:
        """Count the rows written for one survey (the ``record_count`` metric of each selected child)."""
        children = [child for child in (self._answers, self._embedded) if child is not None]
        for child in children:
            child.start_counting(context)
        try:
            yield
        finally:
            for child in children:
                child.stop_counting()

    def write(self, record: Mapping[str, Any]) -> None:
        """The rows of one exported response's record, written before the record itself."""
        if not self.active:
            return
        survey_id = record["survey_id"]
        column_map = self._maps.get(survey_id)
        if column_map is None:
            column_map = self._column_map(survey_id)
        values = record.get("values") or {}
        if self._answers is None:
            embedded = column_map.embedded_rows(
                record["response_id"], values, record.get("last_modified_date")
            )
            if embedded:
                self._embedded.write_rows(embedded)
            return
        answers, embedded = column_map.answer_rows(
            record["response_id"],
            values,
            record.get("labels"),
            record.get("displayed_fields"),
            record.get("last_modified_date"),
        )
        self._answers.write_rows(answers)
        if self._embedded is not None:
            self._embedded.write_rows(embedded)

    def _column_map(self, survey_id: str) -> ColumnMap:
        """The survey's map: from its legacy survey when answers are selected; embedded data needs none (keys
        that are neither metadata nor question keys are embedded data)."""
        legacy = definition = None
        if self._answers is not None:
            legacy = self._owner.request_result("GET", f"/surveys/{survey_id}")
            definition = self._owner.request_result("GET", f"/survey-definitions/{survey_id}")
        column_map = build_column_map(survey_id, legacy, definition)
        self._maps[survey_id] = column_map
        while len(self._maps) > MAPS_KEPT:
            self._maps.popitem(last=False)
        return column_map

    def report(self, survey_id: str) -> None:
        """One warning for the survey's export so far: the keys kept raw (``unknown``) and the question keys
        read by rule, each named once per run."""
        column_map = self._maps.get(survey_id)
        if column_map is None or self._answers is None:
            return
        reported = self._reported.setdefault(survey_id, set())
        unknown: list[str] = []
        by_rule: list[str] = []
        for key, column in column_map.rule_columns.items():
            if key in reported or column.kind in (KIND_METADATA, KIND_EMBEDDED_DATA):
                continue
            reported.add(key)
            (unknown if column.kind == KIND_UNKNOWN else by_rule).append(key)
        if unknown:
            logger.warning(
                "Survey %s: %d exported key(s) that the survey's definition does not explain were loaded "
                "raw into response_answers (kind 'unknown'): %s",
                survey_id,
                len(unknown),
                ", ".join(unknown),
            )
        if by_rule:
            logger.warning(
                "Survey %s: %d exported key(s) not predicted from the survey's definition were read by their "
                "shape: %s",
                survey_id,
                len(by_rule),
                ", ".join(by_rule),
            )


def _selected_child(children: list[Any], role: str) -> Any:
    return next((c for c in children if getattr(c, "role", None) == role and c.selected), None)
