"""The column map against real Qualtrics exports: real definitions with the keys their real exports have.

Each fixture under ``fixtures/`` was derived from a public recording (``SOURCES.md``). Where a definition
comes with the import IDs of its own export, the columns predicted from the definition must be exactly the
question keys of that export: none missing, none invented (``real_keys.py`` translates dialects).
"""

from __future__ import annotations

import re

import pytest
from support.real_keys import FIXTURES, in_dialect, load, real_question_keys

from tap_qualtrics.model.answers import METADATA_KEYS, build_column_map

WITH_GROUND_TRUTH = [name for name in FIXTURES if (FIXTURES[name] / "export_keys.json").exists()]
DEFINED = [  # legacy-format CSVs name columns by export tag, not by import ID: nothing to compare
    name
    for name in WITH_GROUND_TRUTH
    if (FIXTURES[name] / "definition.json").exists()
    and load(name, "export_keys.json")["format"] in ("xml", "csv-importid")
]
TODAYS_SYNTAX = [  # import IDs as exports write them today (the 2016 CSVs join parts with "-")
    name
    for name in WITH_GROUND_TRUTH
    if load(name, "export_keys.json")["format"] == "xml"
    or (
        load(name, "export_keys.json")["format"] == "csv-importid"
        and not any("-" in key for key in load(name, "export_keys.json")["question_keys"])
    )
]


def test_the_corpus_covers_enough_real_sources() -> None:
    repositories = {
        re.search(r"github\.com/([\w.-]+/[\w.-]+)", (FIXTURES[name] / "SOURCE.md").read_text())[1]
        for name in FIXTURES
    }
    assert len(repositories) >= 5, repositories
    assert len(DEFINED) >= 10  # definitions that come with the keys of their own export


@pytest.mark.parametrize("name", DEFINED)
def test_predicted_keys_are_the_real_exports_keys(name: str) -> None:
    definition, export = load(name, "definition.json"), load(name, "export_keys.json")
    column_map = build_column_map(definition.get("SurveyID") or name, None, definition)
    predicted = in_dialect(column_map, definition, export["format"])
    real = real_question_keys(export)
    excluded = set(export.get("excluded_keys", {})) | set(export.get("excluded_predictions", {}))
    assert sorted(predicted - excluded - real) == [], "keys the export never has"
    assert sorted(real - excluded - predicted) == [], "real keys the map does not know"
    assert real - excluded, "a fixture without question keys checks nothing"


@pytest.mark.parametrize("name", TODAYS_SYNTAX)
def test_metadata_keys_are_named_as_real_exports_name_them(name: str) -> None:
    """Today's exports (XML 2020, CSV 2021) name their metadata exactly as the tap lists it."""
    export = load(name, "export_keys.json")
    metadata = [
        k for k in export["keys"] if k in METADATA_KEYS or (k[:1].islower() and "QID" not in k)
    ]
    assert metadata[: len(METADATA_KEYS)] == list(METADATA_KEYS)
