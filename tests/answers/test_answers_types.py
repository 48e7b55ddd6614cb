"""Exact answer rows per question type: every sandbox response of the two all-types surveys, decomposed with
the survey's legacy survey + definition, against rows computed from the generator's own question objects."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from support.answers_oracle import Oracle, embedded_rows

from qualtrics_sandbox.questions import ALL_KINDS

LAST_MODIFIED = "2024-05-06T07:08:09.123000+00:00"
KINDS = [k for k in ALL_KINDS if k != "descriptive"]

# what each type must have shown at least once in the fixture data, so that every case below is exercised
REQUIRED_CASES: dict[str, set[str]] = {
    "mc_single": {"answered", "seen_unanswered", "loop"},
    "mc_other": {"answered", "other_text", "display_order"},
    "mc_multi": {"answered", "multi", "other_text", "display_order"},
    "dropdown": {"answered"},
    "nps": {"answered", "nps_group"},
    "matrix": {"answered", "seen_unanswered", "display_order", "answer_display_order", "loop"},
    "matrix_multi": {"answered", "seen_unanswered", "multi"},
    "matrix_te": {"answered", "seen_unanswered"},
    "matrix_carried": {"answered", "carried"},
    "sbs": {"answered", "seen_unanswered", "multi"},
    "te_single": {"answered", "seen_unanswered", "loop"},
    "te_essay": {"answered", "seen_unanswered", "multi_line"},
    "te_form": {"answered", "seen_unanswered"},
    "slider": {"answered"},
    "rank": {"answered"},
    "timing": {"answered"},
    "meta": {"answered"},
    "pgr": {"answered", "multi", "other_text"},
    "cs": {"answered", "other_text", "seen_unanswered"},
    "file": {"answered"},
}


def _key(row: dict) -> str:
    return row["answer_id"]


def _cases(rows: list[dict]) -> set[str]:
    cases = set()
    for row in rows:
        if row["is_seen_unanswered"]:
            cases.add("seen_unanswered")
            continue
        cases.add("answered")
        if row["kind"] == "display_order":
            cases.add("answer_display_order" if row["column"].endswith("_ADO") else "display_order")
        if row["kind"] == "nps_group":
            cases.add("nps_group")
        if row["loop_id"]:
            cases.add("loop")
        if row["kind"] == "text_entry" and row["column"].endswith("_TEXT") and row["choice_id"]:
            cases.add("other_text")
        if (row["sub_question_id"] or "").startswith("x"):
            cases.add("carried")
        if row["text"] and "\n" in row["text"]:
            cases.add("multi_line")
    counts = Counter(
        r["column"] for r in rows if r["kind"] == "answer" and not r["is_seen_unanswered"]
    )
    if any(n > 1 for n in counts.values()):
        cases.add("multi")
    return cases


@pytest.mark.parametrize("kind", KINDS)
def test_rows_of_each_question_type(
    kind: str, surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    seen: set[str] = set()
    checked = 0
    for survey in surveys[:2]:  # the two surveys that contain every question type
        questions = [
            q for q in survey.questions.values() if q.kind == kind and q not in survey.trashed
        ]
        assert questions, f"survey {survey.id} has no {kind} question"
        column_map = column_maps[survey.id]
        for response in rendered[survey.id]:
            answers, _ = column_map.decompose(
                response["responseId"],
                response["values"],
                response["labels"],
                response["displayedFields"],
                LAST_MODIFIED,
            )
            oracle = Oracle(survey, response, LAST_MODIFIED)
            for q in questions:
                got = sorted(
                    (row for row in answers if row["parent_question_id"] == q.qid), key=_key
                )
                want = sorted(oracle.rows_of(q), key=_key)
                assert got == want, f"{kind} {q.qid} of {response['responseId']}"
                seen |= _cases(got)
                checked += len(got)
    assert checked > 0
    missing = REQUIRED_CASES[kind] - seen
    assert not missing, f"the fixture never showed {sorted(missing)} for {kind}"


def test_every_row_of_every_response(surveys: list[Any], column_maps: dict, rendered: dict) -> None:
    """Whole responses of every survey: exactly the oracle's rows, nothing for metadata or descriptive text."""
    total = 0
    for survey in surveys:
        column_map = column_maps[survey.id]
        for response in rendered[survey.id]:
            answers, embedded = column_map.decompose(
                response["responseId"],
                response["values"],
                response["labels"],
                response["displayedFields"],
            )
            oracle = Oracle(survey, response)
            assert sorted(answers, key=_key) == sorted(oracle.all_rows(), key=_key)
            assert embedded == embedded_rows(survey, response)
            total += len(answers)
    assert total > 1000


def test_one_multi_select_with_other_text_literally(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    """One response read by eye: a multi-select with "other" ticked gives one row per ticked choice plus the
    other-text row, values and labels taken from the export, choice IDs from the recodes."""
    survey = surveys[0]
    q = next(q for q in survey.questions.values() if q.kind == "mc_multi")
    other = next(c for c in q.choices if c.text_entry)
    response = next(
        r for r in rendered[survey.id] if other.recode in (r["values"].get(q.qid) or [])
    )
    answers, _ = column_maps[survey.id].decompose(
        response["responseId"], response["values"], response["labels"]
    )
    rows = [r for r in answers if r["question_id"] == q.qid and r["kind"] != "display_order"]
    selected = response["values"][q.qid]
    assert [
        (r["column"], r["choice_id"], r["value"], r["value_number"], r["label"])
        for r in rows[: len(selected)]
    ] == [
        (q.qid, c.cid, c.recode, int(c.recode), c.text) for c in q.choices if c.recode in selected
    ]
    other_text = response["values"][f"{q.qid}_{other.cid}_TEXT"]
    assert rows[len(selected) :] == [
        {
            **rows[-1],
            "column": f"{q.qid}_{other.cid}_TEXT",
            "kind": "text_entry",
            "choice_id": other.cid,
            "value": other_text,
            "value_number": None,
            "label": None,
            "text": other_text,
        }
    ]
