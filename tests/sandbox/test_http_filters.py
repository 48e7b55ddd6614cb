"""Saved response filters as predicates: ``POST /_sandbox/mutate {"add_filter"/"remove_filter"}``, exports
with ``filterId`` and truth ``surveys[id]["filters"]``, seen through HTTP (exact ID sets)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from support.sandbox_api import Api, sandbox_for

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SEED = 11
CSV_HEADER_ROWS = 3


@pytest.fixture
def sb() -> Iterator[Any]:
    with sandbox_for(seed=SEED, surveys=3, responses=80, users=12, now=NOW) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Any) -> Iterator[Api]:
    client = Api(sb)
    yield client
    client.close()


def _file(api: Api, sid: str, **options: Any) -> bytes:
    result, response = api.export(sid, **options)
    assert result["status"] == "complete", result
    assert response is not None and response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (name,) = archive.namelist()
    return archive.read(name)


def _ndjson(api: Api, sid: str, **options: Any) -> dict[str, dict[str, Any]]:
    """The responses of an NDJSON export by responseId (the ``{}`` lines skipped)."""
    lines = _file(api, sid, format="ndjson", **options).decode().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return {r["responseId"]: r for r in rows if r}


def _csv_ids(api: Api, sid: str, **options: Any) -> list[str]:
    rows = list(csv.reader(io.StringIO(_file(api, sid, format="csv", **options).decode())))
    column = rows[0].index("ResponseId")
    return [row[column] for row in rows[CSV_HEADER_ROWS:]]


def _busiest(sb: Any) -> str:
    surveys = sb.truth()["surveys"]
    return max(surveys, key=lambda sid: (len(surveys[sid]["responses"]), sid))


def _add(sb: Any, sid: str, name: str, field: str, equals: str) -> str:
    result = sb.mutate(
        {"survey_id": sid, "add_filter": {"name": name, "field": field, "equals": equals}}
    )
    assert set(result) >= {"added_filter"}
    return result["added_filter"]


def _tag(sb: Any, sid: str, rids: list[str], segment: str) -> dict[str, Any]:
    return sb.mutate(
        {
            "survey_id": sid,
            "update": [
                {
                    "response_id": rid,
                    "embedded_data": {"segment": segment},
                    "reset_recorded_date": False,
                }
                for rid in rids
            ],
        }
    )


def _refused(sb: Any, spec: dict[str, Any]) -> None:
    response = requests.post(sb.url("/_sandbox/mutate"), json=spec, timeout=10)
    assert response.status_code == 400, response.text


def _export_refused(api: Api, sid: str, **options: Any) -> str:
    response = api.post(f"/surveys/{sid}/export-responses", json=options)
    assert response.status_code == 400, response.text
    return response.json()["meta"]["error"]["errorMessage"]


# --------------------------------------------------------------------------------------------------
# built filters
# --------------------------------------------------------------------------------------------------
def test_built_filters_keep_every_recorded_response(sb: Any, api: Api) -> None:
    truth = sb.truth()["surveys"]
    seen = 0
    for sid, survey in truth.items():
        listed = api.get(f"/surveys/{sid}/filters").json()["result"]["elements"]
        assert all(set(f) == {"filterId", "filterName", "creationDate"} for f in listed)
        assert set(survey["filters"]) == {f["filterId"] for f in listed}
        everything = set(_ndjson(api, sid))
        assert everything == set(survey["responses"])
        for fid, members in survey["filters"].items():
            assert members == sorted(survey["responses"])
            assert set(_ndjson(api, sid, filterId=fid)) == everything
            seen += 1
    assert seen, "the built data should hold saved filters"


# --------------------------------------------------------------------------------------------------
# added filters
# --------------------------------------------------------------------------------------------------
def test_added_filter_is_listed_and_its_exports_equal_the_truth(sb: Any, api: Api) -> None:
    sid = _busiest(sb)
    everything = _ndjson(api, sid)
    email = {rid for rid, r in everything.items() if r["values"]["distributionChannel"] == "email"}
    assert email and email != set(everything)

    fid = _add(sb, sid, "Email only", "distributionChannel", "email")

    listed = api.get(f"/surveys/{sid}/filters").json()["result"]["elements"]
    assert listed[-1]["filterId"] == fid and listed[-1]["filterName"] == "Email only"
    assert set(listed[-1]) == {"filterId", "filterName", "creationDate"}
    truth = sb.truth()["surveys"][sid]["filters"][fid]
    assert truth == sorted(email)
    assert set(_ndjson(api, sid, filterId=fid)) == email
    csv_ids = _csv_ids(api, sid, filterId=fid)
    assert sorted(csv_ids) == truth and len(csv_ids) == len(truth)
    # the filter applies after the date selection (recordedDate), which stays allowed with filterId
    recorded = sorted(everything[rid]["values"]["recordedDate"] for rid in email)
    middle = recorded[len(recorded) // 2]
    before_middle = {rid for rid in email if everything[rid]["values"]["recordedDate"] < middle}
    assert set(_ndjson(api, sid, filterId=fid, endDate=middle)) == before_middle
    # the other surveys' exports and truth are untouched
    for other, survey in sb.truth()["surveys"].items():
        if other != sid:
            assert fid not in survey["filters"]


def test_finished_compares_the_json_value_one_or_zero(sb: Any, api: Api) -> None:
    truth = sb.truth()["surveys"]
    sid = next(s for s, survey in truth.items() if len(survey["in_progress"]) >= 2)
    sessions = sorted(truth[sid]["in_progress"])[:2]
    out = sb.mutate({"survey_id": sid, "close_ids": sessions})
    closed = sorted(out["closed"])  # recorded under new R_ IDs
    assert sorted(out["closed_from"]) == sessions
    assert sorted(out["closed_from"].values()) == closed

    finished = _add(sb, sid, "Finished", "finished", "1")
    unfinished = _add(sb, sid, "Closed partials", "finished", "0")
    spelled = _add(sb, sid, "Label spelling", "finished", "True")

    filters = sb.truth()["surveys"][sid]["filters"]
    everything = sb.truth()["surveys"][sid]["responses"]
    assert filters[unfinished] == closed
    assert filters[finished] == sorted(set(everything) - set(closed))
    assert filters[spelled] == []
    assert set(_ndjson(api, sid, filterId=unfinished)) == set(closed)
    assert sorted(_csv_ids(api, sid, filterId=finished)) == filters[finished]
    assert _file(api, sid, format="ndjson", filterId=spelled) == b""
    # in-progress responses are not recorded: a filter over them uses the in-progress export
    still = set(sb.truth()["surveys"][sid]["in_progress"])
    assert set(_ndjson(api, sid, filterId=unfinished, exportResponsesInProgress=True)) == still


def test_updating_embedded_data_moves_a_response_out_of_the_filter(sb: Any, api: Api) -> None:
    sid = _busiest(sb)
    tagged = sorted(sb.truth()["surveys"][sid]["responses"])[:4]
    _tag(sb, sid, tagged, "A")
    fid = _add(sb, sid, "Segment A", "segment", "A")
    assert sb.truth()["surveys"][sid]["filters"][fid] == tagged
    first = _ndjson(api, sid, filterId=fid)
    assert set(first) == set(tagged)
    assert {r["values"]["segment"] for r in first.values()} == {"A"}

    before = sb.truth()["surveys"][sid]["responses"][tagged[0]]
    assert _tag(sb, sid, tagged[:1], "B")["updated"] == tagged[:1]
    after = sb.truth()["surveys"][sid]
    assert after["responses"][tagged[0]] > before  # last modified moved
    assert after["filters"][fid] == tagged[1:]
    second = _ndjson(api, sid, filterId=fid)
    assert set(second) == set(tagged[1:])
    # the recorded date moved by 1 ms only (reset_recorded_date false): still in the unfiltered export
    old = first[tagged[0]]["values"]["recordedDate"]
    new = _ndjson(api, sid)[tagged[0]]["values"]
    assert new["segment"] == "B"
    moved = datetime.fromisoformat(new["recordedDate"]) - datetime.fromisoformat(old)
    assert moved.total_seconds() == pytest.approx(0.001)

    _tag(sb, sid, tagged[:1], "A")  # and back in
    assert sb.truth()["surveys"][sid]["filters"][fid] == tagged
    assert set(_ndjson(api, sid, filterId=fid)) == set(tagged)


def test_removed_filter_is_gone(sb: Any, api: Api) -> None:
    sid = _busiest(sb)
    fid = _add(sb, sid, "Temporary", "userLanguage", "EN")
    assert sb.mutate({"survey_id": sid, "remove_filter": fid})["removed_filter"] == fid
    listed = api.get(f"/surveys/{sid}/filters").json()["result"]["elements"]
    assert fid not in {f["filterId"] for f in listed}
    assert fid not in sb.truth()["surveys"][sid]["filters"]
    assert fid in _export_refused(api, sid, format="json", filterId=fid)


# --------------------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------------------
def test_filter_refusals(sb: Any, api: Api) -> None:
    sid = _busiest(sb)
    fid = _add(sb, sid, "Email only", "distributionChannel", "email")
    message = _export_refused(api, sid, format="json", filterId=fid, sortByLastModifiedDate=True)
    assert "sortByLastModifiedDate" in message
    assert "continuation" in _export_refused(
        api, sid, format="json", filterId=fid, allowContinuation=True
    )
    assert "bogus" in _export_refused(api, sid, format="ndjson", filterId="bogus")

    good = {"name": "n", "field": "finished", "equals": "1"}
    before = sb.truth()
    _refused(sb, {"survey_id": "SV_nope", "add_filter": good})
    for key in good:
        _refused(sb, {"survey_id": sid, "add_filter": {k: v for k, v in good.items() if k != key}})
    _refused(sb, {"survey_id": sid, "add_filter": {**good, "name": " "}})
    _refused(sb, {"survey_id": sid, "add_filter": {**good, "field": ""}})
    _refused(sb, {"survey_id": sid, "add_filter": {**good, "equals": 1}})
    _refused(sb, {"survey_id": sid, "add_filter": {**good, "extra": "x"}})
    _refused(sb, {"survey_id": sid, "add_filter": "finished"})
    _refused(sb, {"survey_id": sid, "remove_filter": "bogus"})
    # nothing changed, not even with other mutations in the refused spec
    _refused(sb, {"survey_id": sid, "add": 2, "add_filter": {"name": "n"}})
    assert sb.truth() == before


# --------------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------------
def _scenario() -> tuple[Any, ...]:
    with sandbox_for(seed=SEED, surveys=3, responses=80, users=12, now=NOW) as sandbox:
        client = Api(sandbox)
        try:
            sid = _busiest(sandbox)
            fid = _add(sandbox, sid, "Email only", "distributionChannel", "email")
            _tag(sandbox, sid, sorted(sandbox.truth()["surveys"][sid]["responses"])[:3], "A")
            seg = _add(sandbox, sid, "Segment A", "segment", "A")
            filters = sandbox.truth()["surveys"][sid]["filters"]
            files = [
                _file(client, sid, format=fmt, filterId=f)
                for f in (fid, seg)
                for fmt in ("ndjson", "csv")
            ]
            return fid, seg, filters, files
        finally:
            client.close()


def test_filters_are_deterministic() -> None:
    first, second = _scenario(), _scenario()
    assert first[:3] == second[:3]
    assert first[3] == second[3]
