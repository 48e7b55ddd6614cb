"""OAuth 2.0 client credentials and scopes, over real HTTP."""

from __future__ import annotations

import pytest
import requests
from support.sandbox_api import sandbox_for


def _token(sandbox, scope: str | None = None, **kw) -> requests.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    kw.setdefault("auth", (sandbox.client_id, sandbox.client_secret))
    return requests.post(sandbox.url("/oauth2/token"), data=data, timeout=10, **kw)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_issue_and_use(sandbox) -> None:
    before = sandbox.stats()["oauth_token_requests"]
    response = _token(sandbox)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (
        body["token_type"] == "Bearer"
        and body["expires_in"] == 3600
        and body["scope"] == "manage:all"
    )
    whoami = requests.get(
        sandbox.url("/API/v3/whoami"), headers=_bearer(body["access_token"]), timeout=10
    )
    assert whoami.status_code == 200 and whoami.json()["result"]["brandId"]
    surveys = requests.get(
        sandbox.url("/API/v3/surveys"), headers=_bearer(body["access_token"]), timeout=10
    )
    assert surveys.status_code == 200
    assert sandbox.stats()["oauth_token_requests"] == before + 1


def test_client_credentials_in_form_body(sandbox) -> None:
    response = requests.post(
        sandbox.url("/oauth2/token"),
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"auth": ("nobody", "nothing")}, 401, "invalid_client"),
        ({"auth": None}, 401, "invalid_client"),
        ({"headers": {"Authorization": "Basic !!!"}, "auth": None}, 401, "invalid_client"),
    ],
)
def test_bad_clients(sandbox, kwargs, status, error) -> None:
    response = _token(sandbox, **kwargs)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_bad_secret_for_right_client(sandbox) -> None:
    response = _token(sandbox, auth=(sandbox.client_id, "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_unsupported_grant_and_bad_scope(sandbox) -> None:
    response = requests.post(
        sandbox.url("/oauth2/token"),
        data={"grant_type": "password"},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    response = requests.post(
        sandbox.url("/oauth2/token"),
        data={},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = _token(sandbox, scope="read:everything")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_scopes_gate_endpoints(sandbox) -> None:
    body = _token(sandbox, scope="read:surveys read:users").json()
    assert body["scope"] == "read:surveys read:users"
    headers = _bearer(body["access_token"])
    sid = next(iter(sandbox.truth()["surveys"]))
    did = sandbox.account.directories[0]["directoryId"]

    def get(path):
        return requests.get(sandbox.url("/API/v3" + path), headers=headers, timeout=10)

    assert get("/surveys").status_code == 200
    assert get(f"/survey-definitions/{sid}").status_code == 200
    assert get("/users").status_code == 200
    for path in (
        f"/directories/{did}/contacts",
        "/directories",
        "/groups",
        "/divisions",
        f"/distributions?surveyId={sid}",
    ):
        response = get(path)
        assert response.status_code == 403, path
        meta = response.json()["meta"]
        assert meta["httpStatus"] == "403 - Forbidden" and meta["error"]["errorCode"] == "ATP_4"
    response = requests.post(
        sandbox.url(f"/API/v3/surveys/{sid}/export-responses"),
        json={"format": "json"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 403
    # read:survey_responses opens exports; manage:X implies read:X
    headers = _bearer(
        _token(sandbox, scope="read:survey_responses manage:directories").json()["access_token"]
    )
    response = requests.post(
        sandbox.url(f"/API/v3/surveys/{sid}/export-responses"),
        json={"format": "json"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200
    assert (
        requests.get(sandbox.url("/API/v3/directories"), headers=headers, timeout=10).status_code
        == 200
    )
    assert (
        requests.get(sandbox.url("/API/v3/users"), headers=headers, timeout=10).status_code == 403
    )


def test_unknown_bearer_and_non_bearer_schemes(sandbox) -> None:
    response = requests.get(sandbox.url("/API/v3/whoami"), headers=_bearer("nope"), timeout=10)
    assert response.status_code == 401 and response.json()["meta"]["error"]["errorCode"] == "ATP_1"
    response = requests.get(
        sandbox.url("/API/v3/whoami"), headers={"Authorization": "Basic eDp5"}, timeout=10
    )
    assert response.status_code == 400 and response.json()["meta"]["error"]["errorCode"] == "ATP_2"


def test_token_expiry_follows_the_ttl_and_the_virtual_clock() -> None:
    with sandbox_for(surveys=1, responses=1, token_ttl_seconds=60) as sandbox:
        body = _token(sandbox).json()
        assert body["expires_in"] == 60
        headers = _bearer(body["access_token"])
        assert (
            requests.get(sandbox.url("/API/v3/whoami"), headers=headers, timeout=10).status_code
            == 200
        )
        sandbox.advance_clock(59)
        assert (
            requests.get(sandbox.url("/API/v3/whoami"), headers=headers, timeout=10).status_code
            == 200
        )
        sandbox.advance_clock(1.5)
        response = requests.get(sandbox.url("/API/v3/whoami"), headers=headers, timeout=10)
        assert response.status_code == 401
        meta = response.json()["meta"]
        assert meta["httpStatus"] == "401 - Unauthorized" and meta["error"]["errorCode"] == "ATP_3"
        # the TTL can be changed at run time through the faults endpoint; it applies to new tokens
        sandbox.set_faults({"token_ttl_seconds": 1})
        body = _token(sandbox).json()
        assert body["expires_in"] == 1
        sandbox.advance_clock(1)
        response = requests.get(
            sandbox.url("/API/v3/whoami"), headers=_bearer(body["access_token"]), timeout=10
        )
        assert response.status_code == 401
        assert sandbox.stats()["oauth_tokens_issued"] == 2
