"""Reading the real-recordings corpus: fixtures, and the dialects in which real exports name their keys.

The tap predicts the keys of a JSON export's ``values``. The ground truth of the corpus comes in three forms:

* ``xml`` (a 2020 XML export): the JSON keys, except that a list-valued key is broken out into one key per
  choice (``QID4`` -> ``QID4_1``...) and a Loop & Merge key is written ``__QID31``, ``__QID31-1``...
  for iterations 1, 2... instead of ``1_QID31``, ``2_QID31``;
* ``csv-importid`` in the 2016 "Insights" syntax (parts joined by ``-``): broken out like XML, one
  ``QIDn-TEXT`` for a single-answer question whatever choice takes the text, and a column for descriptive
  text blocks;
* ``csv-importid`` in today's syntax: the JSON keys themselves.

Display-order columns are left out everywhere: exports carry them only when asked to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from support.paths import TESTS
from tap_qualtrics.model.answers import (
    KIND_DISPLAY_ORDER,
    KIND_EMBEDDED_DATA,
    KIND_METADATA,
    ColumnMap,
)
from tap_qualtrics.model.columns import MULTI_SELECTORS

#: The corpus of real recordings (see tests/real/SOURCES.md).
HERE = TESTS / "real"
FIXTURES = {path.name: path for path in sorted((HERE / "fixtures").iterdir()) if path.is_dir()}
_XML_LOOP = re.compile(r"^__(?P<key>.*?)(?:-(?P<n>\d+))?$")
_OTHER_TEXT = re.compile(r"^(?P<qid>QID\d+)_\d+_TEXT$")


def load(name: str, file: str) -> Any:
    return json.loads((FIXTURES[name] / file).read_text(encoding="utf-8"))


def xml_key(key: str) -> str:
    """``__QID31-1`` (XML, second iteration) -> ``2_QID31``."""
    match = _XML_LOOP.match(key)
    if match is None:
        return key
    return f"{int(match['n'] or 0) + 1}_{match['key']}"


def real_question_keys(export: dict) -> set[str]:
    keys = export["question_keys"]
    if export["format"] == "xml":
        return {xml_key(key) for key in keys}
    return set(keys)


def in_dialect(column_map: ColumnMap, definition: dict, dialect: str) -> set[str]:
    """The question keys the map predicts, written as an export of ``dialect`` writes them."""
    keys: list[str] = []
    for column in column_map.columns.values():
        if column.kind in (KIND_METADATA, KIND_EMBEDDED_DATA, KIND_DISPLAY_ORDER):
            continue
        keys.extend(column.breakout or (column.column,))
    if dialect == "xml":
        return set(keys)
    if dialect != "csv-importid":
        raise ValueError(dialect)
    questions = definition["Questions"]
    insights: list[str] = []
    for exported in keys:
        other = _OTHER_TEXT.match(exported)
        question = questions.get(other["qid"], {}) if other else {}
        key = exported
        if (
            other
            and question.get("QuestionType") == "MC"
            and question.get("Selector") not in MULTI_SELECTORS
        ):
            key = f"{other['qid']}_TEXT"
        insights.append(key.replace("_", "-"))
    for block in definition["Blocks"].values():  # descriptive text has a column of its own there
        if block.get("Type") == "Trash":
            continue
        for element in block.get("BlockElements") or []:
            question = questions.get(element.get("QuestionID"), {})
            if question.get("QuestionType") == "DB":
                insights.append(question["QuestionID"])
    return set(insights)
