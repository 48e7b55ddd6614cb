"""Unit tests of the question catalogue: definition / legacy shapes, export keys, answers (no HTTP)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from qualtrics_sandbox.data import METADATA_IDS, build_account
from qualtrics_sandbox.questions import ALL_KINDS

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
META = set(METADATA_IDS) | {"LastModifiedDate"}


@pytest.fixture(scope="module")
def account():
    return build_account(seed=11, surveys=12, responses=40, users=20, now=NOW)


@pytest.fixture(scope="module")
def rendered(account):
    return {sid: [s.render(r) for r in s.responses.values()] for sid, s in account.surveys.items()}


def _kinds(s):
    return {q.kind for q in s.questions.values()}


def test_all_kinds_in_survey_0_and_1(account):
    surveys = list(account.surveys.values())
    for s in surveys[:2]:
        live = [s.questions[q] for q in s.live_question_ids()]
        assert set(ALL_KINDS) <= {q.kind for q in live}
        assert any(b.loop for b in s.blocks)
        assert s.trashed
        assert any(q.randomize for q in live)
    assert set(ALL_KINDS) <= set().union(*(_kinds(s) for s in surveys))
    for s in surveys:
        assert 10 <= len(list(s.live_question_ids())) <= 45


def test_definition_shape(account):
    for s in account.surveys.values():
        d = s.definition()
        assert d["SurveyID"] == s.id and d["SurveyName"] == s.name
        assert d["SurveyStatus"] in ("Active", "Inactive")
        assert isinstance(d["QuestionCount"], str)
        assert d["SurveyOptions"]["BackButton"] in ("true", "false")
        assert set(d["Questions"]) == set(s.questions)
        blocks = d["Blocks"]
        trash = [b for b in blocks.values() if b["Type"] == "Trash"]
        in_blocks = [
            e["QuestionID"]
            for b in blocks.values()
            for e in b["BlockElements"]
            if e["Type"] == "Question"
        ]
        assert sorted(in_blocks) == sorted(s.questions)
        live = [
            e["QuestionID"]
            for b in blocks.values()
            if b["Type"] != "Trash"
            for e in b["BlockElements"]
            if e["Type"] == "Question"
        ]
        assert live == s.live_question_ids()
        if s.trashed:
            assert len(trash) == 1
        flow = d["SurveyFlow"]
        assert flow["Type"] == "Root"
        emb = next(f for f in flow["Flow"] if f["Type"] == "EmbeddedData")["EmbeddedData"]
        assert [e["Field"] for e in emb] == s.embedded_fields()
        for qid, q in d["Questions"].items():
            assert q["QuestionID"] == qid
            assert {
                "QuestionText",
                "DataExportTag",
                "QuestionType",
                "Selector",
                "Validation",
                "QuestionText_Unsafe",
                "DataVisibility",
                "Language",
            } <= set(q)
            assert q["Validation"]["Settings"]["ForceResponse"] in ("ON", "OFF")
            if q["QuestionType"] == "Matrix":
                assert {"Choices", "ChoiceOrder", "Answers", "AnswerOrder"} <= set(q)
            if q["QuestionType"] == "SBS":
                assert q["Selector"] == "SBSMatrix" and q["AdditionalQuestions"]
            if "Choices" in q and q["QuestionType"] == "MC":
                assert set(q["ChoiceOrder"]) == set(q["Choices"])
        assert s.definition_questions() == list(d["Questions"].values())
    texts = [
        q["QuestionText"]
        for s in account.surveys.values()
        for q in s.definition()["Questions"].values()
    ]
    assert any("<" in t for t in texts)


def test_legacy_shape(account):
    for s in account.surveys.values():
        leg = s.legacy()
        assert {
            "id",
            "name",
            "ownerId",
            "organizationId",
            "isActive",
            "creationDate",
            "lastModifiedDate",
            "expiration",
            "questions",
            "exportColumnMap",
            "blocks",
            "flow",
            "embeddedData",
            "comments",
            "loopAndMerge",
            "responseCounts",
        } <= set(leg)
        assert list(leg["questions"]) == s.live_question_ids()
        for t in s.trashed:
            assert t.qid not in leg["questions"]
            assert all(e["question"] != t.qid for e in leg["exportColumnMap"].values())
            assert all(
                el.get("questionId") != t.qid
                for b in leg["blocks"].values()
                for el in b["elements"]
            )
        for qid, q in leg["questions"].items():
            assert set(q["questionType"]) == {"type", "selector", "subSelector"}
            for c in q.get("choices", {}).values():
                assert {"description", "choiceText", "analyze"} <= set(c)
            if q["questionType"]["type"] == "SBS":
                assert q["columns"] and q["subQuestions"]
            if q["questionType"]["type"] == "Matrix" and s.questions[qid].kind != "matrix_carried":
                assert q["subQuestions"]  # (carried-forward statements are known per response only)
        for entry in leg["exportColumnMap"].values():
            assert entry["question"] in leg["questions"]
            for ref in ("subQuestion", "choice", "column", "textEntry"):
                if ref in entry:
                    assert entry[ref].startswith(entry["question"] + ".")
        assert [e["name"] for e in leg["embeddedData"]] == s.embedded_fields()
        loops = [b for b in s.blocks if b.loop]
        assert set(leg["loopAndMerge"]) == {b.id for b in loops}
        for b in loops:
            assert leg["loopAndMerge"][b.id]["columnNames"]["field1"] == b.loop
        # preview responses count as generated, the other recorded ones as auditable (§25)
        finished = [r for r in s.responses.values() if r.finished]
        previews = sum(1 for r in finished if s.render(r)["values"]["status"] in (1, 2))
        assert leg["responseCounts"]["auditable"] == len(finished) - previews
        assert leg["responseCounts"]["generated"] == previews


def test_every_map_key_answered_and_every_answer_key_mapped(account, rendered):
    for sid, s in account.surveys.items():
        if not s.responses:
            continue
        key_map = s.export_column_keys()
        further = {
            key for c in s.columns() for key, _ in c.more_map
        }  # one key, several map entries
        never = {key for q, it in s.sequence for key, _ in q.map_only(it)}  # listed, never exported
        assert set(key_map) | further | never == set(s.legacy()["exportColumnMap"])
        mapped = set(key_map.values())
        unlisted = {
            c.value_key for c in s.columns() if not c.map_key
        }  # as Qualtrics: not every key is listed
        assert not mapped & unlisted
        seen: set[str] = set()
        embedded = set(s.embedded_fields())
        for out in rendered[sid]:
            for k in out["values"]:
                seen.add(k)
                if k in META or k in embedded or re.fullmatch(r"(\d+_)?QID\d+_A?DO", k):
                    continue
                assert k in mapped or k in unlisted, (sid, k)
        missing = mapped - seen
        assert not missing, (sid, sorted(missing)[:5])


def _values(account, rendered, kind):
    """(question, iteration prefix, rendered) for every answered question of ``kind``."""
    for sid, s in account.surveys.items():
        for out in rendered[sid]:
            for q, it in s.sequence:
                if q.kind == kind:
                    yield q, (f"{it}_" if it else ""), out


def test_key_shapes_per_type(account, rendered):
    found = {k: 0 for k in ALL_KINDS if k != "descriptive"}
    for kind in found:
        for q, p, out in _values(account, rendered, kind):
            v, lab = out["values"], out["labels"]
            qk = p + q.qid
            if kind in ("mc_single", "mc_other", "dropdown"):
                if qk in v:
                    found[kind] += 1
                    assert isinstance(v[qk], int) and isinstance(lab[qk], str)
                    texts = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+_TEXT", k)]
                    for t in texts:
                        cid = t.split("_")[-2]
                        assert next(c for c in q.choices if c.cid == cid).text_entry
                    assert qk in out["displayedFields"] and isinstance(
                        out["displayedValues"][qk], list
                    )
            elif kind == "mc_multi":
                if qk in v:
                    found[kind] += 1
                    assert isinstance(v[qk], list) and all(isinstance(x, str) for x in v[qk])
                    assert len(lab[qk]) == len(v[qk])
            elif kind == "nps":
                if qk in v:
                    found[kind] += 1
                    score, group = v[qk], v[qk + "_NPS_GROUP"]
                    assert 0 <= score <= 10
                    assert group == (1 if score <= 6 else 2 if score <= 8 else 3)
                    assert (
                        lab[qk + "_NPS_GROUP"]
                        == {1: "Detractor", 2: "Passive", 3: "Promoter"}[group]
                    )
            elif kind == "matrix":
                rows = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+", k)]
                if rows:
                    found[kind] += 1
                    assert all(isinstance(v[k], int) and isinstance(lab[k], str) for k in rows)
            elif kind == "sbs":
                keys = [k for k in v if k.startswith(qk + "#")]
                if keys:
                    found[kind] += 1
                    assert all(re.fullmatch(re.escape(qk) + r"#\d+_\d+", k) for k in keys)
                    for k in keys:  # a multiple-answer column: one list of choices per row
                        assert isinstance(v[k], int) or all(isinstance(x, str) for x in v[k])
            elif kind == "matrix_multi":
                rows = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+", k)]
                if rows:
                    found[kind] += 1
                    assert all(
                        isinstance(v[k], list) and all(isinstance(x, str) for x in v[k])
                        for k in rows
                    )
            elif kind == "matrix_carried":
                rows = [k for k in v if re.fullmatch(re.escape(qk) + r"_x\d+", k)]
                if rows:
                    found[kind] += 1
                    assert {k.rsplit("_x", 1)[1] for k in rows} == {c.cid for c in q.carried}
            elif kind == "matrix_te":
                cells = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+_\d+_TEXT", k)]
                if cells:
                    found[kind] += 1
                    assert all(isinstance(v[k], str) for k in cells)
            elif kind == "pgr":
                groups = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+_GROUP", k)]
                if groups:
                    found[kind] += 1
                    items = [x for k in groups for x in v[k]]
                    assert sorted(items) == sorted(
                        c.cid for c in q.items
                    )  # every item in one group
                    ranks = [k for k in v if re.fullmatch(re.escape(qk) + r"_G\d+_\d+_RANK", k)]
                    assert len(ranks) == len(items) and all(isinstance(v[k], int) for k in ranks)
            elif kind == "cs":
                keys = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+", k)]
                if keys:
                    found[kind] += 1
                    assert sum(v[k] for k in keys) == 100
            elif kind == "file":
                if qk + "_FILE_ID" in v:
                    found[kind] += 1
                    assert isinstance(v[qk + "_FILE_SIZE"], int) and v[qk + "_FILE_ID"].startswith(
                        "F_"
                    )
            elif kind in ("te_single", "te_essay"):
                if qk + "_TEXT" in v:
                    found[kind] += 1
                    assert isinstance(v[qk + "_TEXT"], str)
                    assert qk not in v
            elif kind in ("te_form", "slider", "rank"):
                keys = [k for k in v if re.fullmatch(re.escape(qk) + r"_\d+", k)]
                if keys:
                    found[kind] += 1
                    if kind == "te_form":
                        assert all(isinstance(v[k], str) for k in keys)
                    elif kind == "slider":
                        assert all(
                            isinstance(v[k], (int, float)) and 0 <= v[k] <= 100 for k in keys
                        )
                    else:
                        assert sorted(v[k] for k in keys) == list(range(1, len(keys) + 1))
            elif kind == "timing":
                if qk + "_FIRST_CLICK" in v:
                    found[kind] += 1
                    assert v[qk + "_FIRST_CLICK"] <= v[qk + "_LAST_CLICK"] <= v[qk + "_PAGE_SUBMIT"]
                    assert isinstance(v[qk + "_CLICK_COUNT"], int)
            elif kind == "meta" and qk + "_BROWSER" in v:
                found[kind] += 1
                assert {qk + s for s in ("_VERSION", "_OS", "_RESOLUTION")} <= set(v)
    assert all(found.values()), found


def test_essay_has_multiline_and_unicode(account, rendered):
    texts = [
        out["values"][p + q.qid + "_TEXT"]
        for q, p, out in _values(account, rendered, "te_essay")
        if p + q.qid + "_TEXT" in out["values"]
    ]
    assert any("\n" in t for t in texts)
    assert any(not t.isascii() for t in texts)


def test_loop_and_merge_keys(account, rendered):
    s = next(iter(account.surveys.values()))
    loop = next(b for b in s.blocks if b.loop)
    qids = [e for e in loop.elements if e != "PB"]
    keys = {k for out in rendered[s.id] for k in out["values"]}
    for it in range(1, len(loop.loop) + 1):
        assert any(k.startswith(f"{it}_{q}") for q in qids for k in keys)
    assert not any(
        k.startswith(q) for q in qids for k in keys
    )  # never without the iteration prefix
    ecm = s.legacy()["exportColumnMap"]
    assert any(k.endswith(f"({len(loop.loop)})") for k in ecm)


def test_display_order_and_embedded(account, rendered):
    s = next(iter(account.surveys.values()))
    randomized = [q for q in s.questions.values() if q.randomize and q.qid in s.live_question_ids()]
    keys = {k for out in rendered[s.id] for k in out["values"]}
    assert any(q.qid + "_DO" in keys for q in randomized)
    for out in rendered[s.id]:
        for k, v in out["values"].items():
            if k.endswith("_DO"):
                assert isinstance(v, list) and all(isinstance(x, str) for x in v)
                assert len(out["labels"][k]) == len(v)
    assert set(s.embedded_fields()) <= keys
    for out in rendered[s.id]:
        for f in s.embedded_fields():
            if f in out["values"]:
                assert isinstance(out["values"][f], str) and f not in out["labels"]


def test_trashed_never_answered(account, rendered):
    for sid, s in account.surveys.items():
        for t in s.trashed:
            for out in rendered[sid]:
                assert not any(
                    k == t.qid
                    or k.startswith((t.qid + "_", t.qid + "#"))
                    or re.match(r"\d+_" + t.qid + "(_|$)", k)
                    for k in out["values"]
                )
                assert t.qid not in out["displayedFields"]


def test_unanswered_left_out(account, rendered):
    shown_not_answered = 0
    not_shown = 0
    for sid, s in account.surveys.items():
        key_map = {c.value_key for c in s.columns()}
        for out in rendered[sid]:
            v = out["values"]
            assert all(val is not None and val != "" for val in v.values())
            for f in out["displayedFields"]:
                assert f in key_map
                if f not in v:
                    shown_not_answered += 1
            not_shown += sum(1 for k in key_map if k not in v and k not in out["displayedFields"])
    assert shown_not_answered > 0 and not_shown > 0


def test_in_progress_answers_a_prefix(account):
    for s in account.surveys.values():
        for r in s.responses.values():
            if not r.finished:
                out = s.render(r)
                assert out["values"]["finished"] == 0 and out["values"]["progress"] < 100
                full = s.render(
                    r.__class__(
                        **{
                            **{f: getattr(r, f) for f in r.__slots__},
                            "finished": True,
                            "progress": 100,
                        }
                    )
                )
                answered = [k for k in out["values"] if k.startswith("QID") or k[:1].isdigit()]
                assert len(answered) <= len(
                    [k for k in full["values"] if k.startswith("QID") or k[:1].isdigit()]
                )
                return
    pytest.fail("no in-progress response")


def test_questions_knob_gives_realistic_mix():
    a = build_account(seed=2, surveys=2, responses=5, users=3, now=NOW, questions=100)
    for s in a.surveys.values():
        live = s.live_question_ids()
        assert 90 <= len(live) <= 115
        kinds = [s.questions[q].kind for q in live]
        assert set(ALL_KINDS) <= set(kinds)
        assert kinds.count("mc_single") > kinds.count("sbs")
