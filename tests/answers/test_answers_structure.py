"""``question_choices``, ``sub_questions`` and ``blocks`` rows from a definition, against the generator's
question and block objects."""

from __future__ import annotations

from typing import Any

from qualtrics_sandbox.questions import plain
from tap_qualtrics.model.structure import (
    block_records,
    choice_records,
    question_units,
    sub_question_records,
)


def _units(survey: Any) -> dict:
    return question_units(survey.definition(), survey.legacy())


def _expected_choices(survey: Any) -> dict[tuple[str, str], tuple]:
    """(question_id, choice_id) -> (parent, side-by-side, text, recode, position, is_text_entry)."""
    out: dict[tuple[str, str], tuple] = {}

    def add(
        unit: str,
        parent: str,
        sbs: str | None,
        cid: str,
        html: str,
        recode: str,
        pos: int,
        te: bool,
    ) -> None:
        out[(unit, cid)] = (parent, sbs, plain(html), html, recode, pos, te)

    for q in survey.questions.values():
        if q.kind in ("mc_single", "mc_other", "mc_multi", "dropdown", "nps"):
            order = {cid: n for n, cid in enumerate(q.order, 1)}
            for c in q.choices:
                add(q.qid, q.qid, None, c.cid, c.html, c.recode, order[c.cid], c.text_entry)
        elif q.kind in ("matrix", "matrix_multi", "matrix_te", "matrix_carried"):
            for n, a in enumerate(q.answers, 1):
                add(q.qid, q.qid, None, a.cid, a.html, a.recode, n, te=False)
        elif q.kind == "sbs":
            for col, _text, _sub, answers in q.col_defs:
                for n, a in enumerate(answers, 1):
                    add(f"{q.qid}#{col}", q.qid, col, a.cid, a.html, a.recode, n, te=False)
        elif q.kind in ("slider", "rank"):
            for n, c in enumerate(q.statements if q.kind == "slider" else q.items, 1):
                add(q.qid, q.qid, None, c.cid, c.html, c.cid, n, te=False)
        elif q.kind == "te_form":
            for n, (cid, name, _pool) in enumerate(q.fields, 1):
                add(q.qid, q.qid, None, cid, name, cid, n, te=False)
        elif q.kind in ("timing", "meta"):
            parts = [(cid, name) for cid, name, _suffix in q.PARTS]
            if q.kind == "meta":  # the definition lists parts that are never exported
                parts += list(q.UNEXPORTED_PARTS)
            for cid, name in parts:  # no ChoiceOrder in their definitions
                add(q.qid, q.qid, None, cid, name, cid, None, q.kind == "meta")
        elif q.kind in ("pgr", "cs"):
            for n, c in enumerate(q.items, 1):
                add(q.qid, q.qid, None, c.cid, c.html, c.recode, n, c.text_entry)
    return out


def test_question_choices(surveys: list[Any]) -> None:
    for survey in surveys:
        rows = list(choice_records(survey.id, _units(survey)))
        got = {
            (r["question_id"], r["choice_id"]): (
                r["parent_question_id"],
                r["side_by_side_id"],
                r["text"],
                r["text_html"],
                r["recode"],
                r["position"],
                r["is_text_entry"],
            )
            for r in rows
        }
        assert len(got) == len(rows), "primary key (survey_id, question_id, choice_id) repeats"
        assert got == _expected_choices(survey)
        assert {r["survey_id"] for r in rows} == {survey.id}
        assert all(r["variable_name"] is None for r in rows)  # the sandbox never names variables


def test_recoded_choices_keep_their_recode(surveys: list[Any]) -> None:
    recoded = [
        (q, c)
        for s in surveys
        for q in s.questions.values()
        for c in getattr(q, "choices", None) or getattr(q, "answers", None) or []
        if c.recode != c.cid
    ]
    assert recoded, "the fixture has no recoded choice"


def test_sub_questions(surveys: list[Any]) -> None:
    for survey in surveys:
        rows = list(sub_question_records(survey.id, _units(survey)))
        got = {
            (r["question_id"], r["sub_question_id"]): (
                r["parent_question_id"],
                r["kind"],
                r["text"],
                r["recode"],
                r["position"],
                r["export_tag"],
                r["sub_selector"],
            )
            for r in rows
        }
        assert len(got) == len(rows)
        expected = {}
        for q in survey.questions.values():
            if q.kind in ("matrix", "matrix_multi", "matrix_te"):
                for n, r in enumerate(q.rows, 1):
                    expected[(q.qid, r.cid)] = (q.qid, "row", r.text, r.recode, n, None, None)
            elif q.kind == "sbs":
                for n, (col, text, sub, _answers) in enumerate(q.col_defs, 1):
                    expected[(q.qid, col)] = (
                        q.qid,
                        "side_by_side_column",
                        text,
                        None,
                        n,
                        f"{q.tag}#{col}",
                        sub,
                    )
                    for m, r in enumerate(q.rows, 1):
                        expected[(f"{q.qid}#{col}", r.cid)] = (
                            q.qid,
                            "row",
                            r.text,
                            r.recode,
                            m,
                            None,
                            None,
                        )
        assert got == expected


def test_blocks(surveys: list[Any]) -> None:
    for survey in surveys:
        rows = list(block_records(survey.id, survey.definition()))
        assert [r["block_id"] for r in rows] == [b.id for b in survey.blocks]
        flow = [b for b in survey.blocks if not b.trash]
        for row, block in zip(rows, survey.blocks, strict=False):
            assert row["survey_id"] == survey.id
            assert row["description"] == block.description
            assert row["is_trashed"] is block.trash
            assert row["type"] == (
                "Trash" if block.trash else "Default" if block is survey.blocks[0] else "Standard"
            )
            assert row["question_ids"] == [e for e in block.elements if e != "PB"]
            assert row["page_break_count"] == block.elements.count("PB")
            assert row["flow_position"] == (None if block.trash else flow.index(block) + 1)
            if block.loop:
                assert row["loop_type"] == "Static"
                assert row["loop_options"]["Static"] == {
                    str(i): {"1": v} for i, v in enumerate(block.loop, 1)
                }
            else:
                assert row["loop_type"] is None and row["loop_options"] is None
        # the block-question order covers every question exactly once (trashed ones in the trash block)
        placed = [qid for r in rows for qid in r["question_ids"]]
        assert sorted(placed) == sorted(survey.questions)
