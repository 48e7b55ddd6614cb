"""``export_columns``: every column of every sandbox export is mapped, and mapped to the right structure."""

from __future__ import annotations

import re
from typing import Any

import pytest

from qualtrics_sandbox.data import build_account
from tap_qualtrics.model.answers import (
    KIND_DISPLAY_ORDER,
    KIND_EMBEDDED_DATA,
    KIND_METADATA,
    KINDS,
    LAST_MODIFIED_KEY,
    METADATA_KEYS,
    SOURCE_DEFINITION,
    SOURCE_RULE,
    build_column_map,
)

EXPORT_COLUMN_FIELDS = {
    "survey_id",
    "column",
    "position",
    "kind",
    "source",
    "export_tag",
    "question_id",
    "parent_question_id",
    "sub_question_id",
    "choice_id",
    "side_by_side_id",
    "loop_id",
    "is_multi_valued",
}


def test_every_export_column_is_mapped(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    """Each key of every exported response (values and displayedFields) is a listed column; no key needs the
    run-time rules."""
    for survey in surveys:
        column_map = column_maps[survey.id]
        keys = set()
        for response in rendered[survey.id]:
            keys.update(response["values"])
            keys.update(response["displayedFields"])
            column_map.decompose(
                response["responseId"],
                response["values"],
                response["labels"],
                response["displayedFields"],
            )
        unmapped = keys - set(column_map.columns)
        assert not unmapped, f"{survey.id}: {sorted(unmapped)}"
        assert column_map.rule_columns == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_column_of_larger_accounts_is_mapped(seed: int) -> None:
    """More surveys, more question mixes (100-question surveys): still no unmapped key."""
    account = build_account(
        seed=seed, surveys=4, responses=25, large_responses=25, users=3, questions=60
    )
    for survey in account.surveys.values():
        column_map = build_column_map(survey.id, survey.legacy(), survey.definition())
        mapped = set(column_map.columns)
        for rec in survey.responses.values():
            response = survey.render(rec)
            assert set(response["values"]) <= mapped
            assert set(response["displayedFields"]) <= mapped


def test_map_keys_translate_like_qualtrics(surveys: list[Any], column_maps: dict) -> None:
    """The columns come from the definition; the exportColumnMap gives their export tags: the tap's tag of each
    column agrees with the sandbox's own translation table (which the tap cannot use), key for key."""
    for survey in surveys:
        tagged = {
            c.export_tag: c.column for c in column_maps[survey.id].columns.values() if c.export_tag
        }
        assert tagged == survey.export_column_keys()
        assert {c.source for c in column_maps[survey.id].columns.values()} == {
            SOURCE_DEFINITION,
            SOURCE_RULE,
        }


def test_columns_are_exactly_the_exports_columns(surveys: list[Any], column_maps: dict) -> None:
    """Metadata, every question column (loop iterations expanded), a display-order column per randomized
    question, the embedded-data fields, LastModifiedDate; nothing else."""
    for survey in surveys:
        column_map = column_maps[survey.id]
        by_kind: dict[str, list[str]] = {}
        for column in column_map.columns.values():
            by_kind.setdefault(column.kind, []).append(column.column)
        assert by_kind.pop(KIND_METADATA) == [*METADATA_KEYS, LAST_MODIFIED_KEY]
        assert by_kind.pop(KIND_EMBEDDED_DATA) == survey.embedded_fields()
        display_order = sorted({vk for q, it in survey.sequence for vk, *_ in q.do_columns(it)})
        assert sorted(by_kind.pop(KIND_DISPLAY_ORDER, [])) == display_order
        question_columns = [c.value_key for c in survey.columns()]
        assert sorted(k for keys in by_kind.values() for k in keys) == sorted(question_columns)


def test_column_structure(surveys: list[Any], column_maps: dict) -> None:
    """Question, side-by-side column, sub-question, choice and loop iteration of every question column."""
    checked = {"sbs": 0, "loop": 0, "sub": 0, "choice": 0}
    for survey in surveys:
        column_map = column_maps[survey.id]
        for col in survey.columns():
            mine = column_map.columns[col.value_key]
            entry = col.map_entry or {}
            assert mine.export_tag == (col.map_key or None)
            if not entry or col.value_key.endswith("_GROUP"):
                continue  # no map entry to compare with (file upload, pick-group-rank): the types test them
            assert mine.parent_question_id == col.qid
            loop = col.value_key.split("_", 1)[0] if col.value_key[0].isdigit() else None
            assert mine.loop_id == loop
            if loop:
                checked["loop"] += 1
            if "column" in entry:
                sbs = entry["column"].rsplit(".", 1)[1]
                assert (mine.question_id, mine.side_by_side_id) == (f"{col.qid}#{sbs}", sbs)
                checked["sbs"] += 1
            else:
                assert (mine.question_id, mine.side_by_side_id) == (col.qid, None)
            if "subQuestion" in entry:
                assert mine.sub_question_id == entry["subQuestion"].rsplit(".", 1)[1]
                checked["sub"] += 1
            else:
                assert mine.sub_question_id is None
            other_text = re.fullmatch(r"(?:\d+_)?QID\d+_(\d+)_TEXT", col.value_key)
            if "choice" in entry and not col.more_map:  # (a list-valued row names no single choice)
                assert mine.choice_id == entry["choice"].rsplit(".", 1)[1]
                checked["choice"] += 1
            elif other_text:  # a single-answer question's map entry names no choice; the key does
                assert mine.choice_id == other_text[1]
            else:
                assert mine.choice_id is None
    assert all(checked.values()), checked


def test_kinds(surveys: list[Any], column_maps: dict) -> None:
    survey = surveys[0]
    column_map = column_maps[survey.id]
    expected = {}
    for q, it in survey.sequence:
        for col in q.columns(it):
            if q.kind in (
                "te_single",
                "te_essay",
                "te_form",
                "meta",
                "matrix_te",
            ) or col.value_key.endswith("_TEXT"):
                expected[col.value_key] = "text_entry"
            elif col.value_key.endswith("_NPS_GROUP"):
                expected[col.value_key] = "nps_group"
            else:
                expected[col.value_key] = "answer"
    assert {k: column_map.columns[k].kind for k in expected} == expected
    multi = {c.column for c in column_map.columns.values() if c.is_multi_valued}
    selects = {
        q.qid for q in survey.questions.values() if q.kind == "mc_multi" and q not in survey.trashed
    }
    orders = {c.column for c in column_map.columns.values() if c.kind == KIND_DISPLAY_ORDER}
    lists = {  # a multiple-answer side-by-side row, the items put in a pick-group-rank group
        c.value_key
        for q, it in survey.sequence
        for c in q.columns(it)
        if c.more_map or (c.value_key.endswith("_GROUP") and not c.value_key.endswith("_NPS_GROUP"))
    }
    assert lists
    assert multi == selects | orders | lists


def test_records(surveys: list[Any], column_maps: dict) -> None:
    for survey in surveys:
        records = column_maps[survey.id].records()
        assert all(set(r) == EXPORT_COLUMN_FIELDS for r in records)
        assert [r["position"] for r in records] == list(range(1, len(records) + 1))
        assert len({r["column"] for r in records}) == len(records)
        assert {r["kind"] for r in records} <= set(KINDS)
        assert {r["source"] for r in records} == {SOURCE_DEFINITION, SOURCE_RULE}
        assert all(r["survey_id"] == survey.id for r in records)
        # a randomized question's display-order column follows the question's last column
        for i, r in enumerate(records):
            if r["kind"] == KIND_DISPLAY_ORDER:
                before = records[i - 1]
                assert (before["parent_question_id"], before["loop_id"]) == (
                    r["question_id"],
                    r["loop_id"],
                )


def test_the_legacy_survey_alone_decomposes_the_same(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    """Without the definition (the legacy survey's map and the key rules only) every response still gives the
    same rows: the definition decides which columns exist, not how a key is read."""
    for survey in surveys:
        legacy_only = build_column_map(survey.id, survey.legacy(), None)
        for response in rendered[survey.id][:10]:
            args = (
                response["responseId"],
                response["values"],
                response["labels"],
                response["displayedFields"],
            )
            assert legacy_only.decompose(*args) == column_maps[survey.id].decompose(*args)
