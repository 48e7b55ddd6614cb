"""Feeding ``response_answers`` and ``response_embedded_data`` from the export pass of ``responses``.

The SDK syncs a child stream once per parent record, and each child sync writes a SCHEMA message and a log
line: for 200,000 responses, 200,000 of each. :class:`ResponseChildren`, owned by the ``responses`` stream,
does instead:

* write the SCHEMA of each selected child once, when ``responses`` starts syncing;
* decompose each response right before ``responses`` yields it (:meth:`ColumnMap.decompose`) and write its
  rows at once, after flushing the records ``responses`` still buffers: a response's rows always precede the
  response itself and the STATE that covers it, so a run resumed from any STATE has every row of every
  response before its bookmark, and no second export is needed;
* build a survey's column map from its legacy survey (one ``GET /surveys/{id}`` per exported survey, only
  when ``response_answers`` is selected; embedded data is recognised by rule) inside that survey's export,
  so a failure there fails the survey like a failed export (bookmark kept, run reported as failed).

Children are recognised by their ``role``, so this module imports no stream class.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from tap_qualtrics.answers import KIND_EMBEDDED_DATA, KIND_METADATA, ColumnMap, build_column_map

ROLE_ANSWERS = "answers"
ROLE_EMBEDDED_DATA = "embedded_data"
MAPS_KEPT = 4  # column maps kept per run (surveys are exported one after another)

logger = logging.getLogger("tap-qualtrics.answers")


class ResponseChildren:
    """Decomposes the responses the ``responses`` stream exports and writes its selected children's rows."""

    def __init__(self, responses: Any, flush_parent: Callable[[], None]) -> None:
        self._responses = responses
        self._flush_parent = flush_parent
        children = list(responses.child_streams)
        self._answers = _selected_child(children, ROLE_ANSWERS)
        self._embedded = _selected_child(children, ROLE_EMBEDDED_DATA)
        self.active = self._answers is not None or self._embedded is not None
        self._maps: OrderedDict[str, ColumnMap] = OrderedDict()
        self._started = False

    def begin(self) -> None:
        """Write the selected children's SCHEMA messages (once per run)."""
        if self._started:
            return
        self._started = True
        for child in (self._answers, self._embedded):
            if child is not None:
                child.write_schema()

    def write(self, record: Mapping[str, Any]) -> None:
        """The rows of one ``responses`` record, written before the record itself."""
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
                self._flush_parent()
                self._embedded.write_rows(embedded)
            return
        known = len(column_map.rule_columns)
        answers, embedded = column_map.decompose(
            record["response_id"],
            values,
            record.get("labels"),
            record.get("displayed_fields"),
            record.get("last_modified_date"),
        )
        if len(column_map.rule_columns) != known:
            self._report_rule_columns(survey_id, column_map, known)
        self._flush_parent()  # the records of earlier responses, still buffered, go first
        self._answers.write_rows(answers)
        if self._embedded is not None:
            self._embedded.write_rows(embedded)

    def _column_map(self, survey_id: str) -> ColumnMap:
        """The survey's map: from its legacy survey when answers are selected; embedded data needs none (keys
        that are neither metadata nor question keys are embedded data)."""
        legacy = None
        if self._answers is not None:
            legacy = self._responses.request_result("GET", f"/surveys/{survey_id}")
        column_map = build_column_map(survey_id, legacy, None)
        self._maps[survey_id] = column_map
        while len(self._maps) > MAPS_KEPT:
            self._maps.popitem(last=False)
        return column_map

    @staticmethod
    def _report_rule_columns(survey_id: str, column_map: ColumnMap, known: int) -> None:
        for key, column in list(column_map.rule_columns.items())[known:]:
            if column.kind in (KIND_METADATA, KIND_EMBEDDED_DATA):
                continue
            logger.warning(
                "Survey %s: response key %s is not in the survey's export column map; read by rule as %s of %s",
                survey_id,
                key,
                column.kind,
                column.question_id,
            )


def _selected_child(children: list[Any], role: str) -> Any:
    return next((c for c in children if getattr(c, "role", None) == role and c.selected), None)
