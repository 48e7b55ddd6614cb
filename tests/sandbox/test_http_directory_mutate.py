"""Sandbox mutations of directories and distributions, seen through HTTP and the truth."""

from __future__ import annotations

from typing import Any

import requests
from support.sandbox_api import Api, sandbox_for


def test_add_and_edit_contacts_show_in_the_list_the_search_and_the_truth() -> None:
    with sandbox_for(seed=6, surveys=3, responses=5) as sb:
        api = Api(sb)
        did = sb.account.directories[1]["directoryId"]
        before = sb.truth()["contacts"][did]
        out = sb.mutate({"directory_id": did, "add_contacts": 3, "edit_contacts": 2})
        assert len(out["added_contacts"]) == 3 and len(out["edited_contacts"]) == 2
        assert out["removed_members"] == []
        after = sb.truth()["contacts"][did]
        assert set(after) == set(before) | set(out["added_contacts"])
        assert sb.truth()["directories"][did] == list(after)
        stamps = {after[cid] for cid in out["added_contacts"] + out["edited_contacts"]}
        assert len(stamps) == 1 and min(stamps) > max(before.values())
        assert [c["contactId"] for c in api.walk(f"/directories/{did}/contacts")] == list(after)
        listed = {d["directoryId"]: d for d in api.walk("/directories")}
        assert listed[did]["contactCount"] == len(after)
        changed = api.post(
            f"/directories/{did}/contacts/search",
            json={
                "filter": {"filterType": "lastModified", "comparison": "gte", "value": min(stamps)}
            },
            params={"includeEmbedded": "true"},
        ).json()["result"]["elements"]
        assert {c["id"] for c in changed} == set(out["added_contacts"]) | set(
            out["edited_contacts"]
        )
        edited = next(c for c in changed if c["id"] == out["edited_contacts"][0])
        assert "last_edit" in edited["embeddedData"]
        api.close()


def test_added_contacts_can_join_a_mailing_list_and_members_can_be_removed() -> None:
    with sandbox_for(seed=6, surveys=3, responses=5) as sb:
        api = Api(sb)
        did = sb.account.directories[0]["directoryId"]
        mlid = sb.truth()["directory_mailing_lists"][did][0]
        members_before = sb.truth()["mailing_list_members"][mlid]
        out = sb.mutate(
            {"directory_id": did, "mailing_list_id": mlid, "add_contacts": 2, "remove_members": 4}
        )
        members = sb.truth()["mailing_list_members"][mlid]
        assert len(out["removed_members"]) == 4
        assert set(members) == (set(members_before) - set(out["removed_members"])) | set(
            out["added_contacts"]
        )
        assert set(out["removed_members"]) <= set(
            sb.truth()["contacts"][did]
        )  # still in the directory
        walked = api.walk(f"/directories/{did}/mailinglists/{mlid}/contacts", pageSize=50)
        assert {m["contactId"]: m["contactLookupId"] for m in walked} == members
        listed = {m["mailingListId"]: m for m in api.walk(f"/directories/{did}/mailinglists")}
        assert listed[mlid]["contactCount"] == len(members)
        api.close()


def test_bad_directory_mutations_are_refused_and_change_nothing() -> None:
    with sandbox_for(seed=6, surveys=3, responses=5) as sb:
        did = sb.account.directories[0]["directoryId"]
        before = sb.truth()
        for spec in (
            {"directory_id": "POOL_nope", "add_contacts": 1},
            {"directory_id": did, "mailing_list_id": "CG_nope", "add_contacts": 1},
            {"directory_id": did, "remove_members": 1},
        ):
            response = requests.post(sb.url("/_sandbox/mutate"), json=spec, timeout=10)
            assert response.status_code == 400
        assert sb.truth() == before


def _distributions(api: Api, sid: str) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in api.walk("/distributions", surveyId=sid, pageSize=1)}


def test_add_and_edit_distributions() -> None:
    with sandbox_for(seed=6, surveys=4, responses=5) as sb:
        api = Api(sb)
        sid = next(s for s, ds in sb.account.distributions.items() if ds)
        before = sb.truth()
        old = _distributions(api, sid)
        out = sb.mutate({"survey_id": sid, "add_distributions": 2, "edit_distributions": 1})
        assert out["added"] == [] and len(out["added_distributions"]) == 2
        assert len(out["edited_distributions"]) == 1
        after = sb.truth()
        assert (
            after["distributions"][sid] == before["distributions"][sid] + out["added_distributions"]
        )
        assert after["surveys"][sid]["responses"] == before["surveys"][sid]["responses"]
        now = _distributions(api, sid)
        assert set(now) == set(after["distributions"][sid])
        edited = out["edited_distributions"][0]
        assert now[edited]["modifiedDate"] > old[edited]["modifiedDate"]
        assert now[edited]["modifiedDate"] == after["distribution_modified"][edited]
        assert now[edited]["stats"]["opened"] >= old[edited]["stats"]["opened"]
        for dist in out["added_distributions"]:
            assert now[dist]["modifiedDate"] == now[edited]["modifiedDate"]
            history = api.walk(f"/distributions/{dist}/history", pageSize=10)
            assert [[h["contactId"], h["contactLookupId"]] for h in history] == after[
                "distribution_contacts"
            ][dist]
            assert now[dist]["stats"]["sent"] == len(history) > 0
            mlid = now[dist]["recipients"]["mailingListId"]
            assert {h["contactId"] for h in history} == set(after["mailing_list_members"][mlid])
        api.close()
