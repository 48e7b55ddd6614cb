"""Unit tests of Account.mutate (no HTTP)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from qualtrics_sandbox import clock
from qualtrics_sandbox.data import build_account


def _account():
    return build_account(seed=4, surveys=3, responses=30, users=10)


def test_add_edit_delete():
    a = _account()
    s = next(iter(a.surveys.values()))
    before = a.truth()["surveys"][s.id]
    finished_before = dict(s.responses)
    deleted_before = s.legacy()["responseCounts"]["deleted"]
    out = a.mutate({"survey_id": s.id, "add": 3, "edit": 4, "delete": 2})
    assert len(out["added"]) == 3 and len(out["edited"]) == 4 and len(out["deleted"]) == 2
    after = a.truth()["surveys"][s.id]
    for rid in out["deleted"]:
        assert rid not in s.responses and rid not in after["responses"] and rid in after["deleted"]
    assert s.legacy()["responseCounts"]["deleted"] == deleted_before + 2
    for rid in out["edited"]:
        old, new = finished_before[rid], s.responses[rid]
        assert new is not old and new.version == old.version + 1
        assert new.last_modified > old.last_modified
        assert new.recorded_date == old.recorded_date
        assert after["responses"][rid] > before["responses"][rid]
    for rid in out["added"]:
        r = s.responses[rid]
        assert r.finished and r.progress == 100 and rid in after["responses"]
        assert rid not in finished_before
    assert list(s.responses)[-3:] == out["added"]
    real_now = clock.utcnow()
    stamps = [s.responses[rid].last_modified for rid in out["added"] + out["edited"]]
    assert all(st <= real_now for st in stamps)
    assert all(st.microsecond % 1000 == 0 for st in stamps)
    assert len(set(stamps)) == 1  # one stamp per mutation


def test_stamps_strictly_increase_across_mutations():
    a = _account()
    s = next(iter(a.surveys.values()))
    stamps = []
    for _ in range(5):
        out = a.mutate({"survey_id": s.id, "edit": 1})
        stamps.append(s.responses[out["edited"][0]].last_modified)
    assert all(x < y for x, y in itertools.pairwise(stamps))
    assert stamps[-1] <= clock.utcnow()
    built = max(
        r.last_modified
        for sv in a.surveys.values()
        for r in sv.responses.values()
        if r.version == 0
    )
    assert stamps[0] > built


def test_edit_survey_bumps_last_modified_and_renames():
    a = _account()
    s = next(iter(a.surveys.values()))
    old_name, old_lm = s.name, s.last_modified
    a.mutate({"survey_id": s.id, "edit_survey": True})
    assert s.last_modified > old_lm and s.name != old_name
    assert s.definition()["SurveyName"] == s.name
    assert s.legacy()["name"] == s.name
    assert a.truth()["surveys"][s.id]["name"] == s.name
    assert s.list_element()["lastModified"] == clock.iso(s.last_modified)


def test_targeted_delete_and_update():
    a = _account()
    s = next(iter(a.surveys.values()))
    rids = [rid for rid, r in s.responses.items() if r.finished]
    out = a.mutate({"survey_id": s.id, "delete_ids": [rids[0]]})
    assert out["deleted"] == [rids[0]] and rids[0] not in s.responses
    old = s.responses[rids[1]]
    out = a.mutate(
        {
            "survey_id": s.id,
            "update": [
                {"response_id": rids[1], "embedded_data": {"k": "v"}, "reset_recorded_date": False}
            ],
        }
    )
    new = s.responses[rids[1]]
    assert out["updated"] == [rids[1]]
    assert (
        new.recorded_date == old.recorded_date + clock.ONE_MS
        and new.last_modified > old.last_modified
    )
    assert s.render(new)["values"]["k"] == "v"
    a.mutate({"survey_id": s.id, "update": [{"response_id": rids[2], "embedded_data": {"k": 1}}]})
    r2 = s.responses[rids[2]]
    assert r2.recorded_date == r2.last_modified and list(s.responses)[-1] == rids[2]
    with pytest.raises(KeyError):
        a.mutate({"survey_id": s.id, "delete_ids": ["R_doesnotexist1234"]})
    with pytest.raises(KeyError):
        a.mutate({"survey_id": "SV_nope", "add": 1})


def test_the_account_clock_stamps_mutations():
    a = _account()
    s = next(iter(a.surveys.values()))
    fixed = datetime(2031, 1, 1, tzinfo=UTC)
    a.set_clock(lambda: fixed)
    out = a.mutate({"survey_id": s.id, "add": 1})
    assert s.responses[out["added"][0]].recorded_date == fixed
    out = a.mutate({"survey_id": s.id, "add": 1})
    assert s.responses[out["added"][0]].recorded_date == fixed + clock.ONE_MS


def test_mutations_are_deterministic():
    a, b = (
        build_account(seed=4, surveys=3, responses=30, users=10),
        build_account(seed=4, surveys=3, responses=30, users=10),
    )
    sa, sb = list(a.surveys)[1], list(b.surveys)[1]
    oa = a.mutate({"survey_id": sa, "add": 2, "edit": 3, "delete": 2})
    ob = b.mutate({"survey_id": sb, "add": 2, "edit": 3, "delete": 2})
    assert oa == ob
