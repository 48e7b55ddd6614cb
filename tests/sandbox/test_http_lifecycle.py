"""The response, user and contact lifecycle of ``POST /_sandbox/mutate``, seen through HTTP and the truth.

In-progress responses (sessions named ``FS_...``, without a recorded date) start, advance, finish, are
closed (recorded with Finished = False) or are deleted; a finished or closed session is recorded under a new
``R_...`` ID (docs/qualtrics-api.md §24). Users and directory contacts are added and deleted; mailing-list
members are removed.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from support.sandbox_api import Api, sandbox_for

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SEED = 11
FS_ID = re.compile(r"^FS_[0-9A-Za-z]{15}$")
R_ID = re.compile(r"^R_[0-9A-Za-z]{15}$")


@pytest.fixture
def sb() -> Iterator[Any]:
    with sandbox_for(seed=SEED, surveys=3, responses=80, users=12, now=NOW) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Any) -> Iterator[Api]:
    client = Api(sb)
    yield client
    client.close()


def _rows(api: Api, sid: str, **options: Any) -> dict[str, dict[str, Any]]:
    """The responses of a JSON export by responseId of a JSON export (in export order)."""
    _, response = api.export(sid, format="json", **options)
    assert response is not None and response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (name,) = archive.namelist()
    return {r["responseId"]: r for r in json.loads(archive.read(name))["responses"]}


def _normal(api: Api, sid: str) -> dict[str, dict[str, Any]]:
    return _rows(api, sid)


def _in_progress(api: Api, sid: str) -> dict[str, dict[str, Any]]:
    return _rows(api, sid, exportResponsesInProgress=True)


def _survey(sb: Any, minimum_in_progress: int = 3) -> str:
    """The first survey with at least ``minimum_in_progress`` in-progress responses."""
    surveys = sb.truth()["surveys"]
    return next(sid for sid, s in surveys.items() if len(s["in_progress"]) >= minimum_in_progress)


def _counts(api: Api, sid: str) -> dict[str, int]:
    response = api.get(f"/surveys/{sid}")
    assert response.status_code == 200
    return response.json()["result"]["responseCounts"]


def _live(api: Api, sid: str) -> int:
    """The recorded responses Qualtrics' counts imply: auditable + generated - deleted (§25)."""
    counts = _counts(api, sid)
    return counts["auditable"] + counts["generated"] - counts["deleted"]


def _refused(sb: Any, spec: dict[str, Any]) -> None:
    response = requests.post(sb.url("/_sandbox/mutate"), json=spec, timeout=10)
    assert response.status_code == 400, response.text


# --------------------------------------------------------------------------------------------------
# responses
# --------------------------------------------------------------------------------------------------
def test_default_data_has_no_closed_responses_and_exports_match_the_truth(
    sb: Any, api: Api
) -> None:
    for sid, survey in sb.truth()["surveys"].items():
        assert survey["closed"] == []
        records = sb.account.surveys[sid].responses.values()
        assert set(survey["responses"]) == {r.response_id for r in records if r.finished}
        assert set(survey["in_progress"]) == {r.response_id for r in records if not r.finished}
        assert all(R_ID.match(rid) for rid in survey["responses"])
        assert all(FS_ID.match(rid) for rid in survey["in_progress"])
        assert set(_normal(api, sid)) == set(survey["responses"])
        assert set(_in_progress(api, sid)) == set(survey["in_progress"])


def test_start_adds_responses_to_the_in_progress_export_only(sb: Any, api: Api) -> None:
    sid = _survey(sb)
    before = sb.truth()["surveys"][sid]
    out = sb.mutate({"survey_id": sid, "start": 4})
    assert len(out["started"]) == 4 and len(set(out["started"])) == 4
    assert {"added", "edited", "deleted", "updated"} <= set(out)
    assert "finished" not in out and "closed" not in out
    after = sb.truth()["surveys"][sid]
    assert after["responses"] == before["responses"]
    assert set(after["in_progress"]) == set(before["in_progress"]) | set(out["started"])
    stamps = {after["in_progress"][rid] for rid in out["started"]}
    assert len(stamps) == 1 and min(stamps) > max(before["in_progress"].values())
    partial = _in_progress(api, sid)
    assert set(partial) == set(after["in_progress"])
    assert set(_normal(api, sid)) == set(before["responses"])
    for rid in out["started"]:
        assert FS_ID.match(rid)
        values = partial[rid]["values"]
        assert values["finished"] == 0 and 5 <= values["progress"] <= 95
        assert "recordedDate" not in values  # a session has no recorded date
        assert values["endDate"] == after["in_progress"][rid][:19] + "Z"  # its last activity
        # an in-progress response is not served one by one yet
        assert api.get(f"/surveys/{sid}/responses/{rid}").status_code == 202
    assert _live(api, sid) == len(before["responses"])


def test_finish_moves_in_progress_responses_to_the_normal_export(sb: Any, api: Api) -> None:
    sid = _survey(sb)
    before = sb.truth()["surveys"][sid]
    partial_before = _in_progress(api, sid)
    named = min(before["in_progress"])
    out = sb.mutate({"survey_id": sid, "finish_ids": [named], "finish": 1})
    assert len(out["finished"]) == 2 and all(R_ID.match(rid) for rid in out["finished"])
    sessions = out["finished_from"]  # session ID -> the new response ID, in the order of "finished"
    assert next(iter(sessions)) == named and list(sessions.values()) == out["finished"]
    assert set(sessions) <= set(before["in_progress"])
    finished = set(out["finished"])
    assert not finished & set(before["in_progress"])
    after = sb.truth()["surveys"][sid]
    assert set(after["in_progress"]) == set(before["in_progress"]) - set(sessions)
    assert set(after["responses"]) == set(before["responses"]) | finished
    assert after["closed"] == []
    normal = _normal(api, sid)
    assert set(normal) == set(after["responses"])
    assert list(normal)[-2:] == out["finished"]  # recorded now: last in recorded order
    assert set(_in_progress(api, sid)) == set(after["in_progress"])
    for session, rid in sessions.items():
        values = normal[rid]["values"]
        stamp = after["responses"][rid]
        assert stamp > before["in_progress"][session]
        assert values["finished"] == 1 and values["progress"] == 100
        assert values["recordedDate"] == stamp and values["endDate"] == stamp[:19] + "Z"
        assert values["_recordId"] == rid
        # the answers given before stay, the rest are filled in
        old = partial_before[session]["values"]
        assert {k: v for k, v in values.items() if k in old and k.startswith("QID")} == {
            k: v for k, v in old.items() if k.startswith("QID")
        }
        assert api.get(f"/surveys/{sid}/responses/{rid}").status_code == 200
        assert api.get(f"/surveys/{sid}/responses/{session}").status_code == 404
    assert _live(api, sid) == len(after["responses"])


def test_close_records_a_partial_response_with_finished_false(sb: Any, api: Api) -> None:
    sid = _survey(sb)
    before = sb.truth()["surveys"][sid]
    partial_before = _in_progress(api, sid)
    named = max(before["in_progress"])
    out = sb.mutate({"survey_id": sid, "close_ids": [named], "close": 1})
    assert len(out["closed"]) == 2 and all(R_ID.match(rid) for rid in out["closed"])
    sessions = out["closed_from"]
    assert next(iter(sessions)) == named and list(sessions.values()) == out["closed"]
    closed = set(out["closed"])
    after = sb.truth()["surveys"][sid]
    assert after["closed"] == out["closed"]
    assert set(after["in_progress"]) == set(before["in_progress"]) - set(sessions)
    assert set(after["responses"]) == set(before["responses"]) | closed
    normal = _normal(api, sid)
    assert set(normal) == set(after["responses"])
    assert set(_in_progress(api, sid)) == set(after["in_progress"])
    for session, rid in sessions.items():
        values, old = normal[rid]["values"], partial_before[session]["values"]
        assert values["finished"] == 0 and normal[rid]["labels"]["finished"] == "False"
        assert values["progress"] == old["progress"] < 100
        assert "recordedDate" not in old
        assert values["recordedDate"] == after["responses"][rid] > before["in_progress"][session]
        assert values["endDate"] == old["endDate"]  # the last activity
        assert {k: v for k, v in values.items() if k.startswith("QID")} == {
            k: v for k, v in old.items() if k.startswith("QID")
        }
        single = api.get(f"/surveys/{sid}/responses/{rid}")
        assert single.status_code == 200 and single.json()["result"]["values"]["finished"] == 0
    assert _live(api, sid) == len(after["responses"])
    # a closed response is recorded: it cannot be finished or closed again, and its session is gone
    for rid in (named, sessions[named]):
        _refused(sb, {"survey_id": sid, "finish_ids": [rid]})
        _refused(sb, {"survey_id": sid, "close_ids": [rid]})


def test_closed_and_finished_responses_reach_a_continuation_export(sb: Any, api: Api) -> None:
    sid = _survey(sb, minimum_in_progress=2)
    result, _ = api.export(sid, format="json", allowContinuation=True)
    token = result["continuationToken"]
    out = sb.mutate({"survey_id": sid, "finish": 1, "close": 1, "start": 1})
    result, response = api.export(sid, format="json", continuationToken=token)
    assert response is not None
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    ids = [r["responseId"] for r in json.loads(archive.read(archive.namelist()[0]))["responses"]]
    assert sorted(ids) == sorted(out["finished"] + out["closed"])


def test_advance_moves_an_in_progress_response_on_and_stamps_it(sb: Any, api: Api) -> None:
    sid = _survey(sb)
    before = sb.truth()["surveys"][sid]
    partial_before = _in_progress(api, sid)
    out = sb.mutate({"survey_id": sid, "advance": 2})
    assert len(out["advanced"]) == 2
    after = sb.truth()["surveys"][sid]
    assert after["responses"] == before["responses"]
    assert set(after["in_progress"]) == set(before["in_progress"])
    changed = {
        rid
        for rid in after["in_progress"]
        if after["in_progress"][rid] != before["in_progress"][rid]
    }
    assert changed == set(out["advanced"])
    partial = _in_progress(api, sid)
    for rid in out["advanced"]:
        assert after["in_progress"][rid] > before["in_progress"][rid]
        values = partial[rid]["values"]
        assert partial_before[rid]["values"]["progress"] < values["progress"] <= 99
        assert "recordedDate" not in values
        assert values["endDate"] == after["in_progress"][rid][:19] + "Z"


def test_delete_ids_deletes_in_progress_responses(sb: Any, api: Api) -> None:
    sid = _survey(sb)
    before = sb.truth()["surveys"][sid]
    deleted_before = _counts(api, sid)["deleted"]
    gone = sorted(before["in_progress"])[:2]
    out = sb.mutate({"survey_id": sid, "delete_ids": gone})
    assert out["deleted"] == gone
    after = sb.truth()["surveys"][sid]
    assert set(after["in_progress"]) == set(before["in_progress"]) - set(gone)
    assert after["responses"] == before["responses"]
    assert after["deleted"] == before["deleted"] + gone
    # a deleted session changes no count (how Qualtrics counts it is not recorded; §25's identity holds)
    assert after["response_counts"] == before["response_counts"]
    assert _counts(api, sid)["deleted"] == deleted_before
    assert _live(api, sid) == len(after["responses"])
    assert set(_in_progress(api, sid)) == set(after["in_progress"])
    assert set(_normal(api, sid)) == set(before["responses"])
    for rid in gone:
        assert api.get(f"/surveys/{sid}/responses/{rid}").status_code == 404


def test_a_response_started_in_one_mutation_can_be_finished_closed_or_deleted_later(
    sb: Any, api: Api
) -> None:
    sid = _survey(sb)
    started = sb.mutate({"survey_id": sid, "start": 3})["started"]
    fa, fb, c = started
    out = sb.mutate({"survey_id": sid, "finish_ids": [fa], "close_ids": [fb], "delete_ids": [c]})
    (a,), (b,) = out["finished"], out["closed"]
    assert out["finished_from"] == {fa: a} and out["closed_from"] == {fb: b}
    truth = sb.truth()["surveys"][sid]
    assert a in truth["responses"] and b in truth["responses"] and truth["closed"] == [b]
    assert c in truth["deleted"] and not set(started) & set(truth["in_progress"])
    normal = _normal(api, sid)
    assert list(normal)[-2:] == [a, b]
    assert (normal[a]["values"]["finished"], normal[b]["values"]["finished"]) == (1, 0)
    assert not set(started) & set(_in_progress(api, sid))


def test_bad_lifecycle_mutations_are_refused_and_change_nothing(sb: Any) -> None:
    sid = _survey(sb)
    truth = sb.truth()
    recorded = next(iter(truth["surveys"][sid]["responses"]))
    partial = min(truth["surveys"][sid]["in_progress"])
    for spec in (
        {"survey_id": sid, "finish_ids": ["R_doesnotexist1234"], "start": 1},
        {"survey_id": sid, "close_ids": [recorded], "start": 1},
        {"survey_id": sid, "advance_ids": [recorded]},
        {"survey_id": sid, "finish_ids": [partial], "close_ids": [partial]},
        {"survey_id": sid, "delete_ids": [partial], "finish_ids": [partial]},
        {"survey_id": sid, "start": -1},
        {"delete_user_ids": [truth["users"][0]]},
        {"delete_user_ids": ["UR_doesnotexist123"], "add_users": 1},
        {"delete_users": 1, "directory_id": "POOL_nope"},
    ):
        _refused(sb, spec)
    assert sb.truth() == truth


# --------------------------------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------------------------------
def test_deleted_users_leave_the_user_list_and_the_truth(sb: Any, api: Api) -> None:
    before = sb.truth()["users"]
    owner = before[0]
    named = before[3]
    out = sb.mutate({"delete_user_ids": [named], "delete_users": 2})
    assert set(out) == {"deleted_users"}
    assert out["deleted_users"][0] == named and len(set(out["deleted_users"])) == 3
    assert owner not in out["deleted_users"]
    after = sb.truth()
    assert after["users"] == [u for u in before if u not in out["deleted_users"]]
    assert after["deleted_users"] == out["deleted_users"]
    assert [u["id"] for u in api.walk("/users")] == after["users"]
    for uid in out["deleted_users"]:
        assert api.get(f"/users/{uid}").status_code == 404
    assert api.get(f"/users/{owner}").status_code == 200
    whoami = api.get("/whoami")
    assert whoami.status_code == 200 and whoami.json()["result"]["userId"] == owner
    # deleting every user but one keeps the API-token owner
    out = sb.mutate({"delete_users": 100})
    assert sb.truth()["users"] == [owner]
    assert sb.truth()["deleted_users"] == after["deleted_users"] + out["deleted_users"]
    assert [u["id"] for u in api.walk("/users")] == [owner]


def test_added_users_join_the_user_list(sb: Any, api: Api) -> None:
    before = sb.truth()["users"]
    out = sb.mutate({"add_users": 2})
    assert set(out) == {"added_users"} and len(out["added_users"]) == 2
    assert sb.truth()["users"] == before + out["added_users"]
    listed = {u["id"]: u for u in api.walk("/users")}
    assert list(listed) == before + out["added_users"]
    for uid in out["added_users"]:
        user = api.get(f"/users/{uid}").json()["result"]
        assert user["accountStatus"] == "active" and user["email"].endswith("@example.com")
        assert listed[uid]["username"] == user["username"]


# --------------------------------------------------------------------------------------------------
# directory contacts and mailing lists
# --------------------------------------------------------------------------------------------------
def _members(api: Api, did: str, mlid: str) -> list[str]:
    return [
        m["contactId"]
        for m in api.walk(f"/directories/{did}/mailinglists/{mlid}/contacts", pageSize=50)
    ]


def test_removed_members_leave_the_list_but_not_the_directory(sb: Any, api: Api) -> None:
    did = sb.account.directories[0]["directoryId"]
    mlid = sb.truth()["directory_mailing_lists"][did][1]
    before = sb.truth()
    out = sb.mutate({"directory_id": did, "mailing_list_id": mlid, "remove_members": 3})
    removed = out["removed_members"]
    assert len(set(removed)) == 3
    after = sb.truth()
    assert after["mailing_lists"][mlid] == [
        c for c in before["mailing_lists"][mlid] if c not in removed
    ]
    assert set(after["mailing_list_members"][mlid]) == set(after["mailing_lists"][mlid])
    assert _members(api, did, mlid) == after["mailing_lists"][mlid]
    assert after["directories"][did] == before["directories"][did]
    assert after["deleted_contacts"][did] == []


def test_deleted_contacts_leave_the_directory_and_its_mailing_lists(sb: Any, api: Api) -> None:
    did = sb.account.directories[0]["directoryId"]
    before = sb.truth()
    lists = before["directory_mailing_lists"][did]
    named = before["mailing_lists"][lists[0]][0]
    out = sb.mutate({"directory_id": did, "delete_contact_ids": [named], "delete_contacts": 5})
    gone = out["deleted_contacts"]
    assert gone[0] == named and len(set(gone)) == 6
    assert out["added_contacts"] == out["edited_contacts"] == out["removed_members"] == []
    after = sb.truth()
    assert after["directories"][did] == [c for c in before["directories"][did] if c not in gone]
    assert list(after["contacts"][did]) == after["directories"][did]
    assert after["deleted_contacts"][did] == gone
    listed = [c["contactId"] for c in api.walk(f"/directories/{did}/contacts")]
    assert listed == after["directories"][did]
    counts = {
        m["mailingListId"]: m["contactCount"] for m in api.walk(f"/directories/{did}/mailinglists")
    }
    touched = False
    for mlid in lists:
        expected = [c for c in before["mailing_lists"][mlid] if c not in gone]
        touched |= expected != before["mailing_lists"][mlid]
        assert after["mailing_lists"][mlid] == expected
        assert list(after["mailing_list_members"][mlid]) == expected
        assert _members(api, did, mlid) == expected
        assert counts[mlid] == len(expected)
    assert touched
    for cid in gone:
        found = api.post(
            f"/directories/{did}/contacts/search",
            json={"filter": {"filterType": "contactId", "comparison": "eq", "value": cid}},
        )
        assert found.status_code == 200 and found.json()["result"]["elements"] == []
    _refused(sb, {"directory_id": did, "delete_contact_ids": [named]})


# --------------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------------
def _lifecycle_run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with sandbox_for(seed=SEED, surveys=3, responses=80, users=12, now=NOW) as sandbox:
        sid = _survey(sandbox)
        did = sandbox.account.directories[0]["directoryId"]
        mlid = sandbox.truth()["directory_mailing_lists"][did][0]
        outs = [
            sandbox.mutate({"survey_id": sid, "start": 3, "finish": 1, "close": 1, "advance": 1}),
            sandbox.mutate({"survey_id": sid, "finish": 1, "close": 1, "delete": 1}),
            sandbox.mutate({"delete_users": 2, "add_users": 1}),
            sandbox.mutate(
                {
                    "directory_id": did,
                    "mailing_list_id": mlid,
                    "remove_members": 2,
                    "delete_contacts": 2,
                }
            ),
        ]
        truth = sandbox.truth()
        shape = {
            "surveys": {
                s: {
                    "responses": sorted(t["responses"]),
                    "in_progress": sorted(t["in_progress"]),
                    "closed": t["closed"],
                    "deleted": t["deleted"],
                }
                for s, t in truth["surveys"].items()
            },
            "users": truth["users"],
            "deleted_users": truth["deleted_users"],
            "mailing_lists": truth["mailing_lists"],
            "directories": truth["directories"],
            "deleted_contacts": truth["deleted_contacts"],
        }
        return outs, shape


def test_the_same_seed_and_mutations_give_the_same_lifecycle() -> None:
    first, second = _lifecycle_run(), _lifecycle_run()
    assert first == second
    outs, _ = first
    assert outs[0]["started"] and outs[0]["closed"] and outs[2]["deleted_users"]
