"""XM Directory additions of the sandbox over HTTP: contact details, contact search and its depth
limit, the side-effect ``/links`` route, and the extra truth keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support.sandbox_api import Api, sandbox_for

from qualtrics_sandbox import xm_directory
from qualtrics_sandbox.data import build_account


def _search(api: Api, did: str, body: Any = None, **params: Any) -> requests.Response:
    return api.post(f"/directories/{did}/contacts/search", json=body, params=params or None)


def _search_all(api: Api, did: str, body: Any = None, **params: Any) -> tuple[list[dict], int]:
    """Every search element, following nextPage; also returns the number of requests."""
    response = _search(api, did, body, **params)
    out: list[dict] = []
    requests_made = 1
    while True:
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        out.extend(result["elements"])
        if not result["nextPage"]:
            assert "skipToken" not in result
            return out, requests_made
        assert parse_qs(urlsplit(result["nextPage"]).query)["skipToken"] == [result["skipToken"]]
        response = api.post(result["nextPage"], json=body)
        requests_made += 1


def _ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def test_contact_list_is_unchanged_unless_embedded_data_is_asked_for(
    api: Api, sandbox: Any
) -> None:
    did = sandbox.account.directories[0]["directoryId"]
    plain = api.walk(f"/directories/{did}/contacts")
    assert plain == sandbox.account.contacts[did]
    assert all("embeddedData" not in c and "lastModified" not in c for c in plain)
    embedded = api.walk(f"/directories/{did}/contacts", includeEmbedded="true", pageSize=40)
    assert [c["contactId"] for c in embedded] == [c["contactId"] for c in plain]
    assert all(isinstance(c["embeddedData"], dict) for c in embedded)
    assert any(c["embeddedData"] for c in embedded) and any(not c["embeddedData"] for c in embedded)


def test_search_returns_detailed_contacts_with_epoch_millisecond_dates(
    api: Api, sandbox: Any
) -> None:
    did = sandbox.account.directories[0]["directoryId"]
    found, _ = _search_all(api, did, {}, includeEmbedded="true")
    assert [c["id"] for c in found] == [c["contactId"] for c in sandbox.account.contacts[did]]
    truth = sandbox.truth()["contacts"][did]
    assert set(truth) == {c["id"] for c in found}
    for contact in found:
        assert isinstance(contact["creationDate"], int) and isinstance(contact["lastModified"], int)
        assert contact["creationDate"] <= contact["lastModified"]
        assert _ms(truth[contact["id"]]) == contact["lastModified"]
        assert contact["emailDomain"] == contact["email"].split("@")[1]
        assert contact["directoryUnsubscribed"] is contact["unsubscribed"]
        assert (contact["directoryUnsubscribeDate"] is not None) is contact["unsubscribed"]
        assert isinstance(contact["embeddedData"], dict)
    without, _ = _search_all(api, did, None)
    assert all("embeddedData" not in c for c in without)


def test_search_filters_on_last_modified(api: Api, sandbox: Any) -> None:
    did = sandbox.account.directories[0]["directoryId"]
    truth = sandbox.truth()["contacts"][did]
    moments = sorted(_ms(v) for v in truth.values())
    low, high = moments[len(moments) // 4], moments[3 * len(moments) // 4]
    iso_low = datetime.fromtimestamp(low / 1000, UTC).isoformat(timespec="milliseconds")
    between = {
        "filter": {
            "conjunction": "and",
            "filters": [
                {"filterType": "lastModified", "comparison": "gte", "value": iso_low},
                {"filterType": "lastModified", "comparison": "lt", "value": high},
            ],
        }
    }
    found, _ = _search_all(api, did, between, pageSize=9)
    assert {c["id"] for c in found} == {cid for cid, v in truth.items() if low <= _ms(v) < high}
    one = {"filter": {"filterType": "lastModified", "comparison": "gt", "value": high}}
    assert {c["id"] for c in _search_all(api, did, one)[0]} == {
        cid for cid, v in truth.items() if _ms(v) > high
    }
    name = sandbox.account.contacts[did][0]["lastName"]
    by_name = {"filter": {"filterType": "lastName", "comparison": "eq", "value": name.upper()}}
    assert {c["lastName"] for c in _search_all(api, did, by_name)[0]} == {name}


def test_a_full_page_always_carries_a_skip_token(api: Api, sandbox: Any) -> None:
    did = sandbox.account.directories[1]["directoryId"]
    count = len(sandbox.account.contacts[did])
    first = _search(api, did, {}, pageSize=count).json()["result"]
    assert len(first["elements"]) == count and first["skipToken"]
    trailing = api.post(first["nextPage"], json={}).json()["result"]
    assert trailing == {"elements": [], "nextPage": None}
    _, made = _search_all(api, did, {}, pageSize=count + 1)
    assert made == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"filter": "x"},
        {"filter": {"filterType": "shoeSize", "comparison": "eq", "value": "9"}},
        {"filter": {"filterType": "lastModified", "comparison": "contains", "value": 1}},
        {"filter": {"filterType": "lastModified", "comparison": "gt", "value": "yesterday"}},
        {"filter": {"conjunction": "xor", "filters": []}},
    ],
)
def test_bad_search_bodies_are_400(api: Api, sandbox: Any, body: Any) -> None:
    did = sandbox.account.directories[0]["directoryId"]
    response = _search(api, did, body)
    assert response.status_code == 400
    assert response.json()["meta"]["error"]["errorCode"] == "QVAL_2"


def test_search_paging_limits(api: Api, sandbox: Any) -> None:
    did = sandbox.account.directories[0]["directoryId"]
    assert _search(api, did, {}, pageSize=101).status_code == 400
    assert _search(api, did, {}, skipToken="!!").status_code == 400
    assert _search(api, "POOL_nope", {}).status_code == 404
    assert api.get(f"/directories/{did}/contacts/search").status_code == 405


def test_search_depth_limit_refuses_deeper_pages() -> None:
    with sandbox_for(seed=3, surveys=2, responses=5) as sb:
        api = Api(sb)
        did = sb.account.directories[0]["directoryId"]
        assert requests.get(sb.url("/_sandbox/limits"), timeout=10).json() == {
            "contact_search_depth": 10_000,
            "export_max_bytes": 1_800_000_000,
            "export_max_bytes_by_survey": {},
        }
        set_depth = requests.post(
            sb.url("/_sandbox/limits"), json={"contact_search_depth": 25}, timeout=10
        )
        assert set_depth.json()["contact_search_depth"] == 25
        assert (
            requests.post(
                sb.url("/_sandbox/limits"), json={"contact_search_depth": 0}, timeout=10
            ).status_code
            == 400
        )
        pages = []
        response = _search(api, did, {}, pageSize=10)
        while response.status_code == 200:
            result = response.json()["result"]
            pages.append(len(result["elements"]))
            response = api.post(result["nextPage"], json={})
        assert pages == [10, 10, 10]  # offsets 0, 10, 20 are below the depth; 30 is not
        assert response.status_code == 400
        assert (
            "limited to the first 25 contacts" in response.json()["meta"]["error"]["errorMessage"]
        )
        narrow = {
            "filter": {
                "filterType": "contactId",
                "comparison": "eq",
                "value": sb.account.contacts[did][0]["contactId"],
            }
        }
        assert len(_search_all(api, did, narrow)[0]) == 1
        api.close()


def test_links_route_exists_and_counts_its_side_effect() -> None:
    with sandbox_for(seed=3, surveys=3, responses=5) as sb:
        api = Api(sb)
        sid, dists = next((s, d) for s, d in sb.account.distributions.items() if d)
        assert sb.truth()["links_side_effects"] == 0
        links = api.walk(f"/distributions/{dists[0]['id']}/links", surveyId=sid)
        recipients = sb.truth()["distribution_contacts"][dists[0]["id"]]
        assert [link["contactId"] for link in links] == [cid for cid, _ in recipients]
        assert {link["status"] for link in links} == {"Email not sent"}
        assert sb.truth()["links_side_effects"] == len(links)
        assert sb.stats()["requests"]["GET /distributions/{distributionId}/links"] == 1
        assert api.get(f"/distributions/{dists[0]['id']}/links").status_code == 400
        api.close()


def test_truth_lists_members_and_distribution_recipients(sandbox: Any) -> None:
    truth = sandbox.truth()
    account = sandbox.account
    assert truth["directory_mailing_lists"] == {
        did: [ml["mailingListId"] for ml in lists] for did, lists in account.mailing_lists.items()
    }
    for mlid, members in truth["mailing_list_members"].items():
        assert sorted(members) == sorted(truth["mailing_lists"][mlid])
        assert all(lookup.startswith("MLRP_") for lookup in members.values())
    all_dists = {d for ds in truth["distributions"].values() for d in ds}
    assert set(truth["distribution_modified"]) == all_dists == set(truth["distribution_contacts"])


def test_enrichment_leaves_the_generated_account_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    enriched = build_account(seed=5, surveys=4, responses=6, users=9, now=now)
    monkeypatch.setattr(xm_directory, "enrich", lambda _acct: None)
    plain = build_account(seed=5, surveys=4, responses=6, users=9, now=now)
    assert plain.core_truth() == enriched.core_truth()
    assert plain.contacts == enriched.contacts and plain.distributions == enriched.distributions
    assert not plain.contact_details and len(enriched.contact_details) == sum(
        len(cs) for cs in enriched.contacts.values()
    )
    monkeypatch.undo()
    again = build_account(seed=5, surveys=4, responses=6, users=9, now=now)
    assert again.contact_details == enriched.contact_details
