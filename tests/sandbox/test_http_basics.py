"""Envelope, authentication, routing and paging of the sandbox, over real HTTP."""

from __future__ import annotations

import re
import uuid

import requests
from support.sandbox_api import Api, sandbox_for

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_success_envelope(api: Api) -> None:
    response = api.get("/whoami")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"result", "meta"}
    assert set(body["meta"]) == {"httpStatus", "requestId"}
    assert body["meta"]["httpStatus"] == "200 - OK"
    assert UUID4.match(body["meta"]["requestId"])
    assert body["meta"]["requestId"] != api.get("/whoami").json()["meta"]["requestId"]
    assert body["result"]["datacenter"]
    assert body["result"]["brandId"]


def test_missing_token_is_400_atp_2(sandbox) -> None:
    response = requests.get(sandbox.url("/API/v3/surveys"), timeout=10)
    assert response.status_code == 400
    assert response.json() == {
        "meta": {
            "httpStatus": "400 - Bad Request",
            "error": {
                "errorMessage": "Expected authorization in headers, but none provided.",
                "errorCode": "ATP_2",
            },
            "requestId": response.json()["meta"]["requestId"],
        }
    }


def test_bad_token_is_401_dcd_7(sandbox) -> None:
    response = requests.get(
        sandbox.url("/API/v3/surveys"), headers={"X-API-TOKEN": "nope"}, timeout=10
    )
    assert response.status_code == 401
    meta = response.json()["meta"]
    assert set(response.json()) == {"meta"}
    assert meta["httpStatus"] == "401 - Unauthorized"
    assert meta["error"] == {"errorMessage": "Unrecognized X-API-TOKEN.", "errorCode": "DCD_7"}


def test_token_header_name_is_case_insensitive(sandbox) -> None:
    for name in ("x-api-token", "X-Api-Token", "X-API-TOKEN"):
        response = requests.get(
            sandbox.url("/API/v3/whoami"), headers={name: sandbox.api_token}, timeout=10
        )
        assert response.status_code == 200, name


def test_trailing_slash_tolerated(api: Api, sandbox) -> None:
    sid = next(iter(sandbox.truth()["surveys"]))
    assert api.get("/surveys/").status_code == 200
    assert api.get(f"/surveys/{sid}/").status_code == 200
    assert api.get(f"/survey-definitions/{sid}/").status_code == 200


def test_unknown_things_are_404_envelopes(api: Api) -> None:
    for path in (
        "/surveys/SV_doesnotexist1234",
        "/survey-definitions/SV_doesnotexist1234",
        "/surveys/SV_doesnotexist1234/export-responses/ES_x",
        "/no/such/route",
        "/users/UR_nope",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        meta = response.json()["meta"]
        assert meta["httpStatus"] == "404 - Not Found"
        assert meta["error"]["errorCode"] and meta["error"]["errorMessage"]
    assert (
        api.post(
            "/surveys/SV_doesnotexist1234/export-responses", json={"format": "json"}
        ).status_code
        == 404
    )


def test_method_not_allowed(api: Api) -> None:
    response = api.delete("/surveys")
    assert response.status_code == 405
    assert response.json()["meta"]["httpStatus"] == "405 - Method Not Allowed"


def test_survey_list_elements_and_definitions(api: Api, sandbox) -> None:
    elements = api.walk("/surveys")
    truth = sandbox.truth()["surveys"]
    assert [e["id"] for e in elements] == list(truth)
    for element in elements:
        assert {"id", "name", "ownerId", "lastModified", "isActive"} <= set(element)
        assert element["name"] == truth[element["id"]]["name"]
    sid = elements[0]["id"]
    definition = api.get(f"/survey-definitions/{sid}").json()["result"]
    assert definition["SurveyID"] == sid
    legacy = api.get(f"/surveys/{sid}").json()["result"]
    assert legacy["id"] == sid and "responseCounts" in legacy
    questions = api.get(f"/survey-definitions/{sid}/questions").json()["result"]["elements"]
    assert {q["QuestionID"] for q in questions} >= set(truth[sid]["questions"])


def test_survey_paging_offset_100() -> None:
    with sandbox_for(surveys=205, responses=1, users=3) as sandbox:
        api = Api(sandbox)
        first = api.get("/surveys").json()["result"]
        assert len(first["elements"]) == 100
        assert first["nextPage"] == f"{sandbox.base_url}/API/v3/surveys?offset=100"
        ids = [e["id"] for e in api.walk("/surveys")]
        assert ids == list(sandbox.truth()["surveys"])
        assert len(ids) == len(set(ids)) == 205
        last = api.get("/surveys", params={"offset": 200}).json()["result"]
        assert len(last["elements"]) == 5 and last["nextPage"] is None
        assert api.get("/surveys", params={"offset": "-1"}).status_code == 400
        api.close()


def test_user_paging_walks_every_user_once(api: Api, sandbox) -> None:
    users = api.walk("/users")
    ids = [u["id"] for u in users]
    assert ids == sandbox.truth()["users"]
    assert len(ids) == len(set(ids)) > 100
    first = api.get("/users").json()["result"]
    assert len(first["elements"]) == 100
    assert first["nextPage"] == f"{sandbox.base_url}/API/v3/users?offset=100"
    full = api.get(f"/users/{ids[0]}").json()["result"]
    assert set(users[0]) <= set(full)


def test_skiptoken_paging_of_contacts_and_mailing_list_contacts(api: Api, sandbox) -> None:
    account = sandbox.account
    did = account.directories[0]["directoryId"]
    directories = api.walk("/directories")
    assert [d["directoryId"] for d in directories] == [
        d["directoryId"] for d in account.directories
    ]

    contacts = api.walk(f"/directories/{did}/contacts", pageSize=37)
    assert contacts == account.contacts[did]
    first = api.get(f"/directories/{did}/contacts").json()["result"]
    assert len(first["elements"]) == min(100, len(account.contacts[did]))
    if first["nextPage"]:
        assert "skipToken=" in first["nextPage"] and first["nextPage"].startswith(sandbox.base_url)
    assert api.get(f"/directories/{did}/contacts", params={"pageSize": 101}).status_code == 400
    assert api.get(f"/directories/{did}/contacts", params={"pageSize": 0}).status_code == 400
    assert api.get(f"/directories/{did}/contacts", params={"skipToken": "!!"}).status_code == 400

    lists = api.walk(f"/directories/{did}/mailinglists")
    assert lists == account.mailing_lists[did]
    for ml in lists:
        mlid = ml["mailingListId"]
        members = api.walk(f"/directories/{did}/mailinglists/{mlid}/contacts")
        assert members == account.mailing_list_contacts.get(mlid, [])
        page = api.get(f"/directories/{did}/mailinglists/{mlid}/contacts").json()["result"]
        assert len(page["elements"]) <= 50
        assert (
            api.get(
                f"/directories/{did}/mailinglists/{mlid}/contacts", params={"pageSize": 51}
            ).status_code
            == 400
        )
        assert api.walk(f"/directories/{did}/mailinglists/{mlid}/contacts", pageSize=7) == members
    assert api.get("/directories/POOL_nope/contacts").status_code == 404


def test_distributions(api: Api, sandbox) -> None:
    account = sandbox.account
    assert api.get("/distributions").status_code == 400
    sid, dists = next((s, d) for s, d in account.distributions.items() if d)
    listed = api.walk("/distributions", surveyId=sid)
    assert [d["id"] for d in listed] == [d["id"] for d in dists]
    assert all("messageText" not in d for d in listed)
    one = api.get(f"/distributions/{dists[0]['id']}", params={"surveyId": sid})
    assert one.status_code == 200 and one.json()["result"]["id"] == dists[0]["id"]
    dist_id = next(d for d in account.distribution_history if account.distribution_history[d])
    history = api.walk(f"/distributions/{dist_id}/history", pageSize=13)
    assert history == account.distribution_history[dist_id]


def test_groups_divisions_filters(api: Api, sandbox) -> None:
    account = sandbox.account
    assert api.walk("/groups") == account.groups
    assert api.walk("/divisions") == account.divisions
    sid = next(iter(account.surveys))
    filters = api.get(f"/surveys/{sid}/filters").json()["result"]["elements"]
    assert filters == account.filters.get(sid, [])


def test_request_ids_are_uuid4(api: Api) -> None:
    rid = api.get("/surveys").json()["meta"]["requestId"]
    assert uuid.UUID(rid).version == 4
