"""The expected answer rows of a sandbox response, computed from the sandbox's own question objects.

This is the oracle of tests/answers: it knows which choice, row, statement or field each ``values`` key of
a rendered response stands for because it reads the generator's question objects (``Survey.questions``,
``Survey.sequence``), not the API's map, and it follows docs/answer-model.md for everything else
(``answer_id`` recipe, display-order rows, seen-but-unanswered rows).
"""

from __future__ import annotations

import hashlib
from typing import Any

from qualtrics_sandbox.questions import Question

CHOICE_KINDS = {"mc_single", "mc_other", "mc_multi", "dropdown", "nps"}


def answer_id(survey_id: str, response_id: str, column: str, item: str = "") -> str:
    """The documented recipe: md5 of ``survey_id|response_id|column|item``."""
    return hashlib.md5(f"{survey_id}|{response_id}|{column}|{item}".encode()).hexdigest()


def number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Oracle:
    """Expected rows for one response of one sandbox survey."""

    def __init__(self, survey: Any, rendered: dict, last_modified: str | None = None) -> None:
        self.survey = survey
        self.rendered = rendered
        self.values = rendered["values"]
        self.labels = rendered["labels"]
        self.displayed = rendered["displayedFields"]
        self.rid = rendered["responseId"]
        self.last_modified = last_modified

    # ---------------------------------------------------------------------------------------------
    def rows_of(self, q: Question) -> list[dict]:
        """Every expected row of question ``q`` (all loop iterations)."""
        rows: list[dict] = []
        for question, it in self.survey.sequence:
            if question is q:
                rows.extend(self._question_rows(q, it))
        return rows

    def all_rows(self) -> list[dict]:
        rows: list[dict] = []
        for q, it in self.survey.sequence:
            if q.answerable:
                rows.extend(self._question_rows(q, it))
        return rows

    # ---------------------------------------------------------------------------------------------
    def _row(
        self,
        q: Question,
        it: int | None,
        key: str,
        kind: str,
        *,
        unit: str | None = None,
        sub: str | None = None,
        choice: str | None = None,
        value: Any = None,
        value_number: Any = None,
        label: Any = None,
        text: str | None = None,
        item: str = "",
        seen_unanswered: bool = False,
    ) -> dict:
        return {
            "survey_id": self.survey.id,
            "response_id": self.rid,
            "answer_id": answer_id(self.survey.id, self.rid, key, item),
            "question_id": unit or q.qid,
            "parent_question_id": q.qid,
            "sub_question_id": sub,
            "choice_id": choice,
            "loop_id": str(it) if it else None,
            "column": key,
            "kind": kind,
            "value": value,
            "value_number": value_number,
            "label": label,
            "text": text,
            "is_seen_unanswered": seen_unanswered,
            "last_modified_date": self.last_modified,
        }

    def _order_rows(
        self, q: Question, it: int | None, suffix: str, texts: dict[str, str], *, of_rows: bool
    ) -> list[dict]:
        """The rows of ``QIDn_DO`` / ``QIDn_ADO``: one per shown element (a row or a choice), its position as
        the value, its text as the label (which the export's labels must agree with)."""
        key = self._key(f"{q.qid}_{suffix}", it)
        shown = self.values.get(key, ())
        out = []
        for pos, element in enumerate(shown, start=1):
            assert self.labels[key][pos - 1] == texts[element]
            out.append(
                self._row(
                    q,
                    it,
                    key,
                    "display_order",
                    sub=element if of_rows else None,
                    choice=None if of_rows else element,
                    value=str(pos),
                    value_number=pos,
                    label=texts[element],
                    item=element,
                )
            )
        return out

    def _key(self, key: str, it: int | None) -> str:
        return f"{it}_{key}" if it else key

    def _question_rows(self, q: Question, it: int | None) -> list[dict]:
        rows: list[dict] = []
        values, labels = self.values, self.labels
        kind = q.kind
        if kind in CHOICE_KINDS:
            k = self._key(q.qid, it)
            by_recode = {c.recode: c for c in q.choices}
            if k in values:
                v = values[k]
                if isinstance(v, list):  # multi-select: one row per selected choice
                    for recode, label in zip(v, labels[k], strict=False):
                        c = by_recode[recode]
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "answer",
                                choice=c.cid,
                                value=recode,
                                value_number=int(recode),
                                label=label,
                                item=recode,
                            )
                        )
                else:
                    c = by_recode[str(v)]
                    assert labels[k] == c.text
                    rows.append(
                        self._row(
                            q,
                            it,
                            k,
                            "answer",
                            choice=c.cid,
                            value=str(v),
                            value_number=v,
                            label=c.text,
                        )
                    )
            if kind == "nps":
                g = self._key(f"{q.qid}_NPS_GROUP", it)
                if g in values:
                    rows.append(
                        self._row(
                            q,
                            it,
                            g,
                            "nps_group",
                            value=str(values[g]),
                            value_number=values[g],
                            label=labels[g],
                        )
                    )
            for c in q.choices:
                t = self._key(f"{q.qid}_{c.cid}_TEXT", it)
                if c.text_entry and t in values:
                    rows.append(
                        self._row(
                            q, it, t, "text_entry", choice=c.cid, value=values[t], text=values[t]
                        )
                    )
            rows += self._order_rows(q, it, "DO", {c.cid: c.text for c in q.choices}, of_rows=False)
            if k in self.displayed and k not in values:
                rows.append(self._row(q, it, k, "answer", seen_unanswered=True))
        elif kind == "matrix":
            by_recode = {int(a.recode): a for a in q.answers}
            for r in q.rows:
                k = self._key(f"{q.qid}_{r.cid}", it)
                if k in values:
                    a = by_recode[values[k]]
                    assert labels[k] == a.text
                    rows.append(
                        self._row(
                            q,
                            it,
                            k,
                            "answer",
                            sub=r.cid,
                            choice=a.cid,
                            value=str(values[k]),
                            value_number=values[k],
                            label=a.text,
                        )
                    )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", sub=r.cid, seen_unanswered=True))
            rows += self._order_rows(q, it, "DO", {r.cid: r.text for r in q.rows}, of_rows=True)
            rows += self._order_rows(
                q, it, "ADO", {a.cid: a.text for a in q.answers}, of_rows=False
            )
        elif kind == "sbs":
            for cid, _text, sub, answers in q.col_defs:
                unit = f"{q.qid}#{cid}"
                for r in q.rows:
                    if sub == "SingleAnswer":
                        k = self._key(f"{unit}_{r.cid}", it)
                        if k in values:
                            a = next(a for a in answers if int(a.recode) == values[k])
                            rows.append(
                                self._row(
                                    q,
                                    it,
                                    k,
                                    "answer",
                                    unit=unit,
                                    sub=r.cid,
                                    choice=a.cid,
                                    value=str(values[k]),
                                    value_number=values[k],
                                    label=a.text,
                                )
                            )
                        elif k in self.displayed:
                            rows.append(
                                self._row(
                                    q, it, k, "answer", unit=unit, sub=r.cid, seen_unanswered=True
                                )
                            )
                    else:  # multiple answers: one list-valued key per row, one row per picked choice
                        k = self._key(f"{unit}_{r.cid}", it)
                        by_recode = {a.recode: a for a in answers}
                        if k in values:
                            for recode, label in zip(values[k], labels[k], strict=False):
                                a = by_recode[recode]
                                rows.append(
                                    self._row(
                                        q,
                                        it,
                                        k,
                                        "answer",
                                        unit=unit,
                                        sub=r.cid,
                                        choice=a.cid,
                                        value=recode,
                                        value_number=int(recode),
                                        label=label,
                                        item=recode,
                                    )
                                )
                        elif k in self.displayed:
                            rows.append(
                                self._row(
                                    q, it, k, "answer", unit=unit, sub=r.cid, seen_unanswered=True
                                )
                            )
        elif kind in ("te_single", "te_essay"):
            k = self._key(f"{q.qid}_TEXT", it)
            if k in values:
                rows.append(self._row(q, it, k, "text_entry", value=values[k], text=values[k]))
            elif k in self.displayed:
                rows.append(self._row(q, it, k, "text_entry", seen_unanswered=True))
        elif kind == "te_form":
            for cid, _name, _pool in q.fields:
                k = self._key(f"{q.qid}_{cid}", it)
                if k in values:
                    rows.append(
                        self._row(
                            q, it, k, "text_entry", choice=cid, value=values[k], text=values[k]
                        )
                    )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "text_entry", choice=cid, seen_unanswered=True))
        elif kind in ("slider", "rank"):
            items = q.statements if kind == "slider" else q.items
            for c in items:
                k = self._key(f"{q.qid}_{c.cid}", it)
                if k in values:
                    v = values[k]
                    rows.append(
                        self._row(q, it, k, "answer", choice=c.cid, value=str(v), value_number=v)
                    )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", choice=c.cid, seen_unanswered=True))
        elif kind in ("timing", "meta"):
            for cid, _name, suffix in q.PARTS:
                k = self._key(f"{q.qid}_{suffix}", it)
                if k in values:
                    v = values[k]
                    if kind == "timing":
                        rows.append(
                            self._row(
                                q, it, k, "answer", choice=cid, value=str(v), value_number=number(v)
                            )
                        )
                    else:
                        rows.append(self._row(q, it, k, "text_entry", choice=cid, value=v, text=v))
        elif kind == "pgr":
            texts = {c.cid: c.text for c in q.items}
            for g in range(len(q.groups)):
                k = self._key(f"{q.qid}_{g}_GROUP", it)
                if k in values:
                    for cid in values[k]:
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "answer",
                                sub=str(g),
                                choice=cid,
                                value=cid,
                                value_number=int(cid),
                                label=texts[cid],
                                item=cid,
                            )
                        )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", sub=str(g), seen_unanswered=True))
            for g in range(len(q.groups)):
                for c in q.items:
                    k = self._key(f"{q.qid}_G{g}_{c.cid}_RANK", it)
                    if k in values:
                        v = values[k]
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "answer",
                                sub=str(g),
                                choice=c.cid,
                                value=str(v),
                                value_number=v,
                            )
                        )
                    elif k in self.displayed:
                        rows.append(
                            self._row(
                                q, it, k, "answer", sub=str(g), choice=c.cid, seen_unanswered=True
                            )
                        )
            for c in q.items:
                k = self._key(f"{q.qid}_{c.cid}_TEXT", it)
                if c.text_entry and k in values:
                    rows.append(
                        self._row(
                            q, it, k, "text_entry", choice=c.cid, value=values[k], text=values[k]
                        )
                    )
        elif kind == "cs":
            for c in q.items:
                k = self._key(f"{q.qid}_{c.cid}", it)
                if k in values:
                    v = values[k]
                    rows.append(
                        self._row(q, it, k, "answer", choice=c.cid, value=str(v), value_number=v)
                    )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", choice=c.cid, seen_unanswered=True))
            for c in q.items:
                k = self._key(f"{q.qid}_{c.cid}_TEXT", it)
                if not c.text_entry:
                    continue
                if k in values:
                    rows.append(
                        self._row(
                            q, it, k, "text_entry", choice=c.cid, value=values[k], text=values[k]
                        )
                    )
                elif k in self.displayed:
                    rows.append(
                        self._row(q, it, k, "text_entry", choice=c.cid, seen_unanswered=True)
                    )
        elif kind == "file":
            for part in q.PARTS:
                k = self._key(f"{q.qid}_{part}", it)
                if k in values:
                    v = values[k]
                    rows.append(
                        self._row(
                            q,
                            it,
                            k,
                            "answer",
                            value=str(v),
                            value_number=v if isinstance(v, int) else None,
                        )
                    )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", seen_unanswered=True))
        elif kind == "matrix_multi":
            by_recode = {a.recode: a for a in q.answers}
            for r in q.rows:
                k = self._key(f"{q.qid}_{r.cid}", it)
                if k in values:
                    for recode, label in zip(values[k], labels[k], strict=False):
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "answer",
                                sub=r.cid,
                                choice=by_recode[recode].cid,
                                value=recode,
                                value_number=int(recode),
                                label=label,
                                item=recode,
                            )
                        )
                elif k in self.displayed:
                    rows.append(self._row(q, it, k, "answer", sub=r.cid, seen_unanswered=True))
            rows += self._order_rows(q, it, "DO", {r.cid: r.text for r in q.rows}, of_rows=True)
        elif kind == "matrix_carried":
            by_recode = {int(a.recode): a for a in q.answers}
            for c in q.carried:
                k = self._key(f"{q.qid}_x{c.cid}", it)
                if k in values:
                    a = by_recode[values[k]]
                    rows.append(
                        self._row(
                            q,
                            it,
                            k,
                            "answer",
                            sub=f"x{c.cid}",
                            choice=a.cid,
                            value=str(values[k]),
                            value_number=values[k],
                            label=a.text,
                        )
                    )
                elif k in self.displayed:
                    rows.append(
                        self._row(q, it, k, "answer", sub=f"x{c.cid}", seen_unanswered=True)
                    )
                t = self._key(f"{q.qid}_x{c.cid}_TEXT", it)
                if t in values:
                    rows.append(
                        self._row(
                            q, it, t, "text_entry", sub=f"x{c.cid}", value=values[t], text=values[t]
                        )
                    )
        elif kind == "matrix_te":
            for r in q.rows:
                for a in q.answers:
                    k = self._key(f"{q.qid}_{r.cid}_{a.cid}_TEXT", it)
                    if k in values:
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "text_entry",
                                sub=r.cid,
                                choice=a.cid,
                                value=values[k],
                                text=values[k],
                            )
                        )
                    elif k in self.displayed:
                        rows.append(
                            self._row(
                                q,
                                it,
                                k,
                                "text_entry",
                                sub=r.cid,
                                choice=a.cid,
                                seen_unanswered=True,
                            )
                        )
        else:  # pragma: no cover - a new sandbox question type needs an oracle first
            raise AssertionError(f"no oracle for question kind {kind!r}")
        return rows


def embedded_rows(survey: Any, rendered: dict, last_modified: str | None = None) -> list[dict]:
    """Expected ``response_embedded_data`` rows: the survey's embedded fields present in ``values``."""
    values = rendered["values"]
    return [
        {
            "survey_id": survey.id,
            "response_id": rendered["responseId"],
            "field": field,
            "value": str(values[field]),
            "last_modified_date": last_modified,
        }
        for field in survey.embedded_fields()
        if field in values
    ]
