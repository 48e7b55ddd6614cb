"""``answer_id``: the documented recipe, unique, and stable when an answer changes."""

from __future__ import annotations

import hashlib
from typing import Any

from tap_qualtrics.model.answers import KIND_DISPLAY_ORDER


def recipe(row: dict, multi: bool) -> str:
    """docs/answer-model.md: md5 of ``survey_id|response_id|column|item`` (item: the list element)."""
    if row["kind"] == KIND_DISPLAY_ORDER:
        item = row["choice_id"] if row["choice_id"] is not None else row["sub_question_id"]
    elif multi and not row["is_seen_unanswered"]:
        item = row["value"]
    else:
        item = ""
    text = "|".join([row["survey_id"], row["response_id"], row["column"], item])
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_recipe_and_uniqueness(surveys: list[Any], column_maps: dict, rendered: dict) -> None:
    ids: set[str] = set()
    rows = 0
    for survey in surveys:
        column_map = column_maps[survey.id]
        for response in rendered[survey.id]:
            answers, _ = column_map.decompose(
                response["responseId"],
                response["values"],
                response["labels"],
                response["displayedFields"],
            )
            for row in answers:
                assert row["answer_id"] == recipe(
                    row, column_map.column(row["column"]).is_multi_valued
                )
            ids.update(row["answer_id"] for row in answers)
            rows += len(answers)
    assert len(ids) == rows


def test_an_edited_answer_keeps_its_id(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    """A single-valued cell is keyed by where it is, not by what was answered: an edit upserts the row."""
    survey = surveys[0]
    column_map = column_maps[survey.id]
    q = next(q for q, it in survey.sequence if q.kind == "matrix" and it is None)
    key = f"{q.qid}_{q.rows[0].cid}"
    response = next(r for r in rendered[survey.id] if key in r["values"])
    before, _ = column_map.decompose(response["responseId"], response["values"], response["labels"])
    other = next(a for a in q.answers if int(a.recode) != response["values"][key])
    edited_values = {**response["values"], key: int(other.recode)}
    edited_labels = {**response["labels"], key: other.text}
    after, _ = column_map.decompose(response["responseId"], edited_values, edited_labels)
    assert [r["answer_id"] for r in after] == [r["answer_id"] for r in before]
    changed = [(b, a) for b, a in zip(before, after, strict=False) if b != a]
    assert len(changed) == 1
    old_row, new_row = changed[0]
    assert new_row == {
        **old_row,
        "choice_id": other.cid,
        "value": other.recode,
        "value_number": int(other.recode),
        "label": other.text,
    }


def test_an_answer_given_later_replaces_its_seen_unanswered_row(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    survey = surveys[0]
    column_map = column_maps[survey.id]
    response = next(r for r in rendered[survey.id] if set(r["displayedFields"]) - set(r["values"]))
    key = min(set(response["displayedFields"]) - set(response["values"]))
    before, _ = column_map.decompose(
        response["responseId"], response["values"], {}, response["displayedFields"]
    )
    [blank] = [r for r in before if r["column"] == key]
    assert blank["is_seen_unanswered"] and blank["value"] is None
    after, _ = column_map.decompose(
        response["responseId"],
        {**response["values"], key: "late answer"},
        {},
        response["displayedFields"],
    )
    [answered] = [r for r in after if r["column"] == key]
    assert answered["answer_id"] == blank["answer_id"]
    assert not answered["is_seen_unanswered"]
