"""Unit tests of the sandbox data generator: account shape, determinism, truth (no HTTP)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from qualtrics_sandbox.data import METADATA_IDS, ResponseRecord, build_account

NOW = datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
ID15 = r"[A-Za-z0-9]{15}"


@pytest.fixture(scope="module")
def account():
    return build_account(seed=3, surveys=12, responses=40, now=NOW)


def test_same_arguments_give_identical_data():
    a = build_account(seed=5, surveys=4, responses=20, users=120, now=NOW)
    b = build_account(seed=5, surveys=4, responses=20, users=120, now=NOW)
    assert list(a.surveys) == list(b.surveys)
    assert a.users == b.users
    assert a.truth() == b.truth()
    for sa, sb in zip(a.surveys.values(), b.surveys.values(), strict=False):
        assert orjson.dumps(sa.definition()) == orjson.dumps(sb.definition())
        assert orjson.dumps(sa.legacy()) == orjson.dumps(sb.legacy())
        assert list(sa.responses.values()) == list(sb.responses.values())
        for ra, rb in zip(sa.responses.values(), sb.responses.values(), strict=False):
            assert orjson.dumps(sa.render(ra)) == orjson.dumps(sb.render(rb))
        assert sa.csv_header_rows() == sb.csv_header_rows()
    c = build_account(seed=6, surveys=4, responses=20, users=120, now=NOW)
    assert list(c.surveys) != list(a.surveys)


def test_render_is_repeatable(account):
    s = next(iter(account.surveys.values()))
    rec = next(iter(s.responses.values()))
    assert orjson.dumps(s.render(rec)) == orjson.dumps(s.render(rec))


def test_survey_shapes(account):
    surveys = list(account.surveys.values())
    assert len(surveys) == 12
    for s in surveys:
        assert re.fullmatch("SV_" + ID15, s.id)
        el = s.list_element()
        assert set(el) == {"id", "name", "ownerId", "lastModified", "creationDate", "isActive"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", el["lastModified"])
        assert s.creation_date < s.last_modified <= NOW
    names = [s.name for s in surveys]
    assert any("/" in n and ":" in n and not n.isascii() for n in names)
    assert any(not s.is_active for s in surveys)
    counts = [len(s.responses) for s in surveys]
    assert 0 in counts
    assert max(counts) == 200  # the large survey: 5 x responses
    ordinary = [c for c in counts if c not in (0, 200)]
    assert all(34 <= c <= 46 for c in ordinary)


def test_single_survey_has_exact_count():
    a = build_account(seed=1, surveys=1, responses=37, users=5, now=NOW, questions=60)
    (s,) = a.surveys.values()
    assert len(s.responses) == 37
    assert 55 <= len(s.live_question_ids()) <= 75


def test_response_records(account):
    ids = set()
    for s in account.surveys.values():
        prev = None
        for rid, r in s.responses.items():
            assert isinstance(r, ResponseRecord)
            # a recorded response is R_..., an in-progress session FS_... (docs/qualtrics-api.md §24)
            prefix = "R_" if r.recorded else "FS_"
            assert r.response_id == rid and re.fullmatch(prefix + ID15, rid)
            assert rid not in ids
            ids.add(rid)
            for dt in (r.start_date, r.end_date, r.recorded_date, r.last_modified):
                assert dt.tzinfo is not None and dt.microsecond % 1000 == 0
            assert r.start_date <= r.end_date <= r.recorded_date <= r.last_modified <= NOW
            assert NOW - r.recorded_date < timedelta(days=3 * 366)
            if prev is not None:
                assert prev.recorded_date <= r.recorded_date  # recorded order
            prev = r
            assert (r.progress == 100) == r.finished
    recs = [r for s in account.surveys.values() for r in s.responses.values()]
    edited = sum(1 for r in recs if r.last_modified > r.recorded_date) / len(recs)
    partial = sum(1 for r in recs if not r.finished) / len(recs)
    assert 0.07 < edited < 0.25
    assert 0.01 < partial < 0.12
    with pytest.raises(dataclasses.FrozenInstanceError):
        recs[0].version = 3  # type: ignore[misc]


def test_truth_shape(account):
    t = account.truth()
    assert set(t) >= {"surveys", "users", "directories"}
    assert t["users"] == [u["id"] for u in account.users]
    for sid, st in t["surveys"].items():
        s = account.surveys[sid]
        assert st["name"] == s.name
        assert st["questions"] == s.live_question_ids()
        assert st["deleted"] == []
        done = {rid: r for rid, r in s.responses.items() if r.finished}
        assert set(st["responses"]) == set(done)
        assert set(st["in_progress"]) == {rid for rid, r in s.responses.items() if not r.finished}
        for lm in st["responses"].values():
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lm)
    orjson.dumps(t)


def test_users_and_whoami(account):
    assert len(account.users) == 230
    ids = [u["id"] for u in account.users]
    assert len(set(ids)) == 230 and all(re.fullmatch("UR_" + ID15, i) for i in ids)
    for u in account.users:
        assert {
            "id",
            "username",
            "email",
            "firstName",
            "lastName",
            "userType",
            "divisionId",
            "accountStatus",
            "organizationId",
            "language",
            "timeZone",
            "accountCreationDate",
            "lastLoginDate",
        } <= set(u)
        assert u["userType"].startswith("UT_")
        el = account.user_list_element(u)
        assert set(el) == {
            "id",
            "divisionId",
            "username",
            "firstName",
            "lastName",
            "userType",
            "email",
            "accountStatus",
        }
    who = account.whoami
    assert who["userId"] == account.users[0]["id"]
    assert who["brandId"] == account.brand_id and who["datacenter"] == account.datacenter
    owners = {s.owner_id for s in account.surveys.values()}
    assert owners <= set(ids)


def test_directory_data(account):
    assert len(account.directories) == 2
    default = [d for d in account.directories if d["isDefault"]]
    assert len(default) == 1
    did = default[0]["directoryId"]
    assert did.startswith("POOL_")
    contacts = account.contacts[did]
    assert len(contacts) > 100
    assert all(c["contactId"].startswith("CID_") for c in contacts)
    assert {
        "contactId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "extRef",
        "language",
        "unsubscribed",
    } <= set(contacts[0])
    lists = account.mailing_lists[did]
    assert all(ml["mailingListId"].startswith("CG_") for ml in lists)
    assert max(len(account.mailing_list_contacts[ml["mailingListId"]]) for ml in lists) > 50
    contact_ids = {c["contactId"] for c in contacts}
    for ml in lists:
        members = account.mailing_list_contacts[ml["mailingListId"]]
        assert ml["contactCount"] == len(members)
        assert {m["contactId"] for m in members} <= contact_ids
    assert any(account.distributions[sid] for sid in account.surveys)
    for sid, dists in account.distributions.items():
        s = account.surveys[sid]
        for d in dists:
            assert d["id"].startswith("EMD_")
            assert d["surveyLink"]["surveyId"] == sid
            assert set(d["stats"]) >= {"sent", "failed", "started", "bounced", "opened", "finished"}
            assert {"headers", "recipients", "message", "modifiedDate", "requestType"} <= set(d)
            rows = account.distribution_history[d["id"]]
            assert d["stats"]["sent"] == len(rows)
            for row in rows:
                assert set(row) >= {
                    "contactId",
                    "contactLookupId",
                    "distributionId",
                    "status",
                    "surveyLink",
                    "sentAt",
                    "openedAt",
                    "responseStartedAt",
                    "responseCompletedAt",
                    "responseId",
                    "surveySessionId",
                }
                if row["responseId"]:
                    assert row["responseId"] in s.responses
    assert all(g["id"].startswith("GR_") for g in account.groups)
    assert all(d["id"].startswith("DV_") for d in account.divisions)
    for sid in account.surveys:
        for f in account.filters[sid]:
            assert set(f) == {"filterId", "filterName", "creationDate"}


def test_metadata_values_and_labels(account):
    s = next(iter(account.surveys.values()))
    channels = set()
    for r in s.responses.values():
        out = s.render(r)
        v, lab = out["values"], out["labels"]
        assert out["responseId"] == r.response_id == v["_recordId"]
        for k in (
            "startDate",
            "endDate",
            "status",
            "progress",
            "duration",
            "finished",
            "recordedDate",
            "distributionChannel",
            "userLanguage",
        ):
            assert k in v
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["startDate"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v["recordedDate"])
        assert v["finished"] == (1 if r.finished else 0) and lab["finished"] == (
            "True" if r.finished else "False"
        )
        assert v["status"] in (0, 1) and lab["status"] in ("IP Address", "Survey Preview")
        assert v["progress"] == r.progress and isinstance(v["duration"], int)
        channels.add(v["distributionChannel"])
        assert all(val is not None for val in v.values())
    assert {"anonymous", "email"} <= channels


def test_render_filters(account):
    s = next(iter(account.surveys.values()))
    rec = [r for r in s.responses.values() if r.finished][3]
    full = s.render(rec)
    q = s.live_question_ids()[3:6]
    part = s.render(rec, question_ids=q, embedded_ids=[], metadata_ids=["startDate", "finished"])
    assert [k for k in part["values"] if k in METADATA_IDS] == ["startDate", "finished"]
    for k, val in part["values"].items():
        if k not in METADATA_IDS:
            assert full["values"][k] == val
            assert any(k == x or k.startswith((x + "_", x + "#")) for x in q)
    assert not set(s.embedded_fields()) & set(part["values"])


def test_csv_rows(account):
    s = next(iter(account.surveys.values()))
    tags, texts, imports = s.csv_header_rows()
    assert len(tags) == len(texts) == len(imports)
    assert tags[:3] == ["StartDate", "EndDate", "Status"]
    assert imports[0] == '{"ImportId":"startDate","timeZone":"Z"}'  # as Qualtrics writes it (§24)
    assert orjson.loads(imports[tags.index("ResponseId")]) == {"ImportId": "_recordId"}
    for rec in list(s.responses.values())[:10]:
        out = s.render(rec)
        row = s.csv_row(out)
        assert len(row) == len(tags)
        assert row[tags.index("ResponseId")] == rec.response_id
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[0])
        labelled = s.csv_row(out, use_labels=True)
        assert len(labelled) == len(tags)
    tags_do, _, imports_do = s.csv_header_rows(include_display_order=True)
    assert any("_DO_" in t for t in tags_do) and len(tags_do) > len(tags)
    assert any('"choiceId"' in i for i in imports_do)


_DIGEST = """
import hashlib, sys
from datetime import datetime, timezone
import orjson
from qualtrics_sandbox.data import build_account
a = build_account(seed=9, surveys=3, responses=8, users=20, now=datetime(2025, 1, 1, tzinfo=timezone.utc))
h = hashlib.sha256()
for s in a.surveys.values():
    h.update(orjson.dumps(s.definition()) + orjson.dumps(s.legacy()) + orjson.dumps(s.csv_header_rows()))
    for r in s.responses.values():
        h.update(orjson.dumps(s.render(r)))
h.update(orjson.dumps(a.truth()) + orjson.dumps(a.users) + orjson.dumps(a.distribution_history))
sys.stdout.write(h.hexdigest())
"""


def test_deterministic_across_processes():
    """No dependence on hash randomisation (PYTHONHASHSEED) or anything else process-specific."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    digests = set()
    for hashseed in ("1", "2"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": hashseed,
            "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        digests.add(out.stdout)
    assert len(digests) == 1
