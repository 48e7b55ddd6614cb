"""Single-response endpoints and the control plane, over real HTTP."""

from __future__ import annotations

import json

import requests
from support.sandbox_api import Api, sandbox_for


def _survey(sandbox) -> str:
    truth = sandbox.truth()["surveys"]
    return max(truth, key=lambda s: len(truth[s]["responses"]))


def test_get_single_response(fresh) -> None:
    api = Api(fresh)
    sid = _survey(fresh)
    rid = next(iter(fresh.truth()["surveys"][sid]["responses"]))
    response = api.get(f"/surveys/{sid}/responses/{rid}")
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["responseId"] == rid
    assert {"values", "labels", "displayedFields", "displayedValues"} <= set(result)
    assert api.get(f"/surveys/{sid}/responses/R_000000000000000").status_code == 404
    # the export holds the same object
    _, file_response = api.export(sid, format="json", compress=False)
    exported = {r["responseId"]: r for r in file_response.json()["responses"]}
    assert exported[rid] == result
    api.close()


def test_in_progress_and_fresh_responses_are_202(fresh) -> None:
    api = Api(fresh)
    sid = _survey(fresh)
    in_progress = [
        r.response_id for r in fresh.account.surveys[sid].responses.values() if not r.finished
    ]
    for rid in in_progress[:2]:
        response = api.get(f"/surveys/{sid}/responses/{rid}")
        assert response.status_code == 202
        assert response.json()["result"] == {
            "message": "The Survey Response is not yet available. Please try again later."
        }
        assert response.json()["meta"]["httpStatus"] == "202 - Accepted"
    fresh.set_faults({"response_pending_seconds": 3600})
    added = fresh.mutate({"survey_id": sid, "add": 1})["added"][0]
    assert api.get(f"/surveys/{sid}/responses/{added}").status_code == 202
    fresh.advance_clock(3601)
    assert api.get(f"/surveys/{sid}/responses/{added}").status_code == 200
    fresh.set_faults({})
    api.close()


def test_delete_response(fresh) -> None:
    api = Api(fresh)
    sid = _survey(fresh)
    rid = next(iter(fresh.truth()["surveys"][sid]["responses"]))
    deleted_before = api.get(f"/surveys/{sid}").json()["result"]["responseCounts"]["deleted"]
    response = api.delete(f"/surveys/{sid}/responses/{rid}")
    assert response.status_code == 200
    assert set(response.json()) == {"meta"} and response.json()["meta"]["httpStatus"] == "200 - OK"
    truth = fresh.truth()["surveys"][sid]
    assert rid not in truth["responses"] and rid in truth["deleted"]
    assert api.get(f"/surveys/{sid}/responses/{rid}").status_code == 404
    assert api.delete(f"/surveys/{sid}/responses/{rid}").status_code == 404
    assert (
        api.get(f"/surveys/{sid}").json()["result"]["responseCounts"]["deleted"]
        == deleted_before + 1
    )
    _, file_response = api.export(sid, format="json", compress=False)
    assert rid not in {r["responseId"] for r in file_response.json()["responses"]}
    api.close()


def test_update_response_embedded_data(fresh) -> None:
    api = Api(fresh)
    sid = _survey(fresh)
    rid = next(iter(fresh.truth()["surveys"][sid]["responses"]))
    before = fresh.truth()["surveys"][sid]["responses"][rid]
    response = api.put(
        f"/responses/{rid}",
        json={"surveyId": sid, "embeddedData": {"segment": "gold"}, "resetRecordedDate": False},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"meta"}
    after = fresh.truth()["surveys"][sid]["responses"][rid]
    assert after > before
    values = api.get(f"/surveys/{sid}/responses/{rid}").json()["result"]["values"]
    assert values.get("segment") == "gold"
    for bad in (
        {"embeddedData": {}},
        {"surveyId": sid, "embeddedData": []},
        {"surveyId": sid, "x": 1},
        {"surveyId": sid, "resetRecordedDate": "no"},
    ):
        assert api.put(f"/responses/{rid}", json=bad).status_code == 400, bad
    assert api.put("/responses/R_000000000000000", json={"surveyId": sid}).status_code == 404
    api.close()


def test_control_plane(fresh) -> None:
    truth = requests.get(fresh.url("/_sandbox/truth"), timeout=10).json()
    assert set(truth) >= {"surveys", "users"}
    sid = _survey(fresh)
    response = requests.post(
        fresh.url("/_sandbox/mutate"), json={"survey_id": sid, "add": 1}, timeout=10
    )
    assert response.status_code == 200 and len(response.json()["added"]) == 1
    assert requests.post(fresh.url("/_sandbox/mutate"), data=b"{", timeout=10).status_code == 400
    assert requests.get(fresh.url("/_sandbox/health"), timeout=10).json() == {"ok": True}
    assert requests.get(fresh.url("/_sandbox/nothing"), timeout=10).status_code == 404
    clock = requests.post(
        fresh.url("/_sandbox/clock"), json={"advance_seconds": 10}, timeout=10
    ).json()
    assert clock["offset_seconds"] == 10
    assert (
        requests.post(
            fresh.url("/_sandbox/clock"), json={"advance_seconds": -1}, timeout=10
        ).status_code
        == 400
    )
    stats = requests.get(fresh.url("/_sandbox/stats"), timeout=10).json()
    assert json.dumps(stats)
    assert "/_sandbox" not in json.dumps(stats["requests"])


def test_custom_sandbox_knobs_are_validated() -> None:
    import pytest

    with pytest.raises(TypeError), sandbox_for(surveys=1, responses=1, no_such_knob=1):
        pass
