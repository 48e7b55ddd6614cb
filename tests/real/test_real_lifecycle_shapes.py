"""Response-lifecycle shapes in real recorded traffic, and the sandbox against them (docs/qualtrics-api.md §24-§25).

The fixtures ``qr_*`` are derived from the vcr cassettes of ``ropensci/qualtRics`` (tests/real/SOURCES.md):
in-progress exports (``exportResponsesInProgress``), normal exports that hold closed partial responses,
``responseCounts`` next to the export of the same moment, and exports narrowed by ``questionIds`` /
``surveyMetadataIds``. Every recording is a CSV export (the only format the cassettes hold).

Where the sandbox serves the same endpoint, its shape is compared (a known disagreement would be a strict
xfail; the five there were — recordedDate and FS_ IDs of in-progress rows, timeZone "Z", preview responses
counted as generated, deletions raising only ``deleted`` — are fixed).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from support.real_keys import load
from support.sandbox_api import Api, sandbox_for

IN_PROGRESS_METADATA = [
    "startDate",
    "endDate",
    "status",
    "progress",
    "duration",
    "finished",
    "recordedDate",
    "_recordId",
    "distributionChannel",
    "userLanguage",
]
GENERATED_STATUSES = {"Survey Test", "Survey Preview"}
COUNT_KEYS = {"auditable", "generated", "deleted"}
FS_ID = re.compile(r"^FS_[0-9A-Za-z]{15}$")
R_ID = re.compile(r"^R_[0-9A-Za-z]{15}$")
CSV_TIME = "%Y-%m-%d %H:%M:%S"
WEEK = timedelta(days=7)


def _time(text: str) -> datetime:
    return datetime.strptime(text, CSV_TIME)  # noqa: DTZ007 - CSV times carry their zone in the header


def _import_ids(header: list[dict[str, Any]]) -> list[str]:
    return [column["ImportId"] for column in header]


def _unfiltered(body: dict[str, Any]) -> bool:
    narrowing = {"limit", "startDate", "endDate", "questionIds", "exportResponsesInProgress"}
    return not narrowing & set(body)


# -- (a), (e): the in-progress export ----------------------------------------------------------------


def test_in_progress_export_rows_are_unfinished_sessions_without_a_recorded_date() -> None:
    full, _window, _one_qid = load("qr_in_progress", "exports.json")
    assert full["request"]["body"]["exportResponsesInProgress"] is True
    assert full["start_result"]["status"] == "inProgress"
    assert full["poll_statuses"][-1] == "complete"
    assert full["final_poll_keys"] == ["fileId", "percentComplete", "status"]
    assert _import_ids(full["header"]["metadata_import_ids"]) == IN_PROGRESS_METADATA
    assert len(full["rows"]) == 60
    for row in full["rows"]:
        assert FS_ID.match(row["_recordId"]), row["_recordId"]
        assert row["finished"] == "False"
        assert row["recordedDate"] == ""
        assert 0 <= int(row["progress"]) < 100
        start, end = _time(row["startDate"]), _time(row["endDate"])
        assert end >= start
        # endDate is the last activity: the duration runs from start to it (to the second)
        assert abs((end - start).total_seconds() - int(row["duration"])) <= 1
    starts = [row["startDate"] for row in full["rows"]]
    assert starts == sorted(starts)  # in order of start


def test_in_progress_survey_counts_beside_the_in_progress_export() -> None:
    for export in load("qr_in_progress", "exports.json"):
        counts = export["survey"]["responseCounts"]
        assert set(counts) == COUNT_KEYS
        assert all(isinstance(value, int) for value in counts.values())
    full, _window, later = load("qr_in_progress", "exports.json")
    # the counter moved in the hour between the recordings; what it counts of the 60 sessions is unknown
    assert full["survey"]["responseCounts"] == {"auditable": 158, "generated": 0, "deleted": 1}
    assert later["survey"]["responseCounts"]["auditable"] == 162


def test_in_progress_export_accepts_a_date_window_and_question_ids() -> None:
    full, window, one_qid = load("qr_in_progress", "exports.json")
    body = window["request"]["body"]
    assert body["exportResponsesInProgress"] is True
    assert {"startDate", "endDate", "limit"} <= set(body)
    low, high = (datetime.fromisoformat(body[key]) for key in ("startDate", "endDate"))
    assert len(window["rows"]) == body["limit"]
    for row in window["rows"]:
        assert row["recordedDate"] == ""  # so the window is applied to another date
        assert low.replace(tzinfo=None) <= _time(row["startDate"]) < high.replace(tzinfo=None)
    first = [row["_recordId"] for row in full["rows"][: body["limit"]]]
    assert [row["_recordId"] for row in window["rows"]] == first
    assert one_qid["request"]["body"]["questionIds"] == ["QID23"]
    assert one_qid["header"]["question_import_ids"] == ["QID23"]
    assert _import_ids(one_qid["header"]["metadata_import_ids"]) == IN_PROGRESS_METADATA


# -- (e): closed partial responses in a normal export -------------------------------------------------


def test_normal_exports_hold_closed_partials_recorded_a_week_after_their_last_activity() -> None:
    partials = 0
    for export in load("qr_closed_partials", "exports.json"):
        assert "exportResponsesInProgress" not in export["request"]["body"]
        for row in export["rows"]:
            assert R_ID.match(row["_recordId"]), row["_recordId"]
            assert row["recordedDate"] != ""
            if row["finished"] == "True":
                assert row["progress"] == "100"
                continue
            partials += 1
            assert row["finished"] == "False"
            assert int(row["progress"]) < 100
            lag = _time(row["recordedDate"]) - _time(row["endDate"])
            # closed by the survey's partial-response expiry; +1 h where a DST change falls inside
            assert WEEK <= lag <= WEEK + timedelta(hours=1, minutes=1), row["_recordId"]
    assert partials == 25


# -- (b): responseCounts and deletion ------------------------------------------------------------------


def test_response_counts_add_up_to_the_rows_of_an_unfiltered_export() -> None:
    checked = 0
    for entry in load("qr_response_counts", "counts.json"):
        counts = entry["responseCounts"]
        assert set(counts) == COUNT_KEYS
        assert all(isinstance(value, int) and value >= 0 for value in counts.values())
        export = entry["export"]
        if export is None or not _unfiltered(export["request_body"]):
            continue
        checked += 1
        rows = export["rows"]
        assert counts["auditable"] + counts["generated"] - counts["deleted"] == rows, entry
        if counts["deleted"] == 0:
            by_status = export["by_status_finished"]
            generated = sum(n for status, _f, n in by_status if status in GENERATED_STATUSES)
            assert counts["generated"] == generated  # test and preview responses
            assert (
                counts["auditable"] == rows - generated
            )  # real ones, Spam and Finished = False too
    assert checked == 9


def test_deletions_leave_the_other_counters_alone_and_the_counter_can_go_back() -> None:
    history = [
        (entry["recorded_at"][:10], entry["responseCounts"], (entry["export"] or {}).get("rows"))
        for entry in load("qr_response_counts", "counts.json")
        if entry["survey_id"] == "SV_6s93xhVtm1e4j3v"
    ]
    assert history == [
        ("2020-12-07", {"auditable": 0, "generated": 14, "deleted": 0}, 14),
        ("2020-12-09", {"auditable": 0, "generated": 24, "deleted": 19}, 5),
        ("2020-12-15", {"auditable": 0, "generated": 24, "deleted": 24}, 0),
        ("2021-01-11", {"auditable": 0, "generated": 10, "deleted": 0}, None),
    ]


def test_light_exports_drop_what_the_lists_leave_out() -> None:
    bare, bare_2025, with_ids, with_ids_2025, one_qid = load("qr_light_export", "exports.json")
    for export in (bare, bare_2025):
        body = export["request"]["body"]
        assert body["questionIds"] == [] and body["surveyMetadataIds"] == []
        assert "embeddedDataIds" not in body
        ids = _import_ids(export["header"]["import_ids"])
        # no metadata (not even the response ID) and no answers: only the embedded data is left
        assert ids in (["condition"], ["SolutionRevision"])
        assert all(len(row) == 1 for row in export["rows"])
    for export in (with_ids, with_ids_2025):
        assert export["request"]["body"]["surveyMetadataIds"] == [
            "startDate",
            "endDate",
            "_recordId",
        ]
        ids = _import_ids(export["header"]["import_ids"])
        assert ids[:3] == ["startDate", "endDate", "_recordId"]
        assert [i for i in ids if i.startswith("QID")] == sorted(
            export["request"]["body"]["questionIds"], key=lambda q: int(q[3:])
        )
        assert all(R_ID.match(row[2]) for row in export["rows"])
    assert "surveyMetadataIds" not in one_qid["request"]["body"]
    assert _import_ids(one_qid["header"]["import_ids"])[:10] == IN_PROGRESS_METADATA


# -- the sandbox against the recordings ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_api() -> Iterator[Api]:
    with sandbox_for(seed=5, surveys=3, responses=120) as sandbox:
        client = Api(sandbox)
        yield client
        client.close()


def _surveys(api: Api) -> list[str]:
    return [survey["id"] for survey in api.walk("/surveys")]


def _csv(api: Api, sid: str, **options: Any) -> list[list[str]]:
    _, response = api.export(sid, format="csv", **options)
    assert response is not None and response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (name,) = archive.namelist()
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def _json(api: Api, sid: str, **options: Any) -> list[dict[str, Any]]:
    _, response = api.export(sid, format="json", **options)
    assert response is not None and response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (name,) = archive.namelist()
    return json.loads(archive.read(name))["responses"]


def _in_progress_rows(api: Api) -> list[dict[str, str]]:
    out = []
    for sid in _surveys(api):
        rows = _csv(api, sid, exportResponsesInProgress=True, useLabels=True)
        ids = [json.loads(cell)["ImportId"] for cell in rows[2]]
        out += [dict(zip(ids, row, strict=True)) for row in rows[3:]]
    assert out
    return out


def test_sandbox_legacy_survey_has_the_recorded_keys_and_counts(sandbox_api: Api) -> None:
    real = {
        tuple(sorted(export["survey"]["result_keys"]))
        for export in load("qr_closed_partials", "exports.json")
    }
    (real_keys,) = real
    for sid in _surveys(sandbox_api):
        result = sandbox_api.get(f"/surveys/{sid}").json()["result"]
        assert set(result) == set(real_keys)
        assert set(result["responseCounts"]) == COUNT_KEYS
        assert all(isinstance(value, int) for value in result["responseCounts"].values())


def test_sandbox_in_progress_export_metadata_columns(sandbox_api: Api) -> None:
    sid = _surveys(sandbox_api)[0]
    ids = [
        json.loads(cell)["ImportId"]
        for cell in _csv(sandbox_api, sid, exportResponsesInProgress=True)[2]
    ]
    metadata = [i for i in ids if i in IN_PROGRESS_METADATA]
    assert metadata == IN_PROGRESS_METADATA  # same order (the sandbox adds ipAddress and the rest)
    for row in _in_progress_rows(sandbox_api):
        assert row["finished"] == "False"
        assert int(row["progress"]) < 100


def test_sandbox_in_progress_rows_have_no_recorded_date(sandbox_api: Api) -> None:
    assert all(row["recordedDate"] == "" for row in _in_progress_rows(sandbox_api))


def test_sandbox_in_progress_rows_are_named_fs(sandbox_api: Api) -> None:
    assert all(FS_ID.match(row["_recordId"]) for row in _in_progress_rows(sandbox_api))


def test_sandbox_csv_time_zone_is_z_by_default(sandbox_api: Api) -> None:
    real = load("qr_in_progress", "exports.json")[0]["header"]["metadata_import_ids"][0]
    sid = _surveys(sandbox_api)[0]
    assert json.loads(_csv(sandbox_api, sid, exportResponsesInProgress=True)[2][0]) == real


def test_sandbox_counts_preview_responses_as_generated(sandbox_api: Api) -> None:
    previews = 0
    for sid in _surveys(sandbox_api):
        counts = sandbox_api.get(f"/surveys/{sid}").json()["result"]["responseCounts"]
        generated = sum(1 for r in _json(sandbox_api, sid) if r["values"]["status"] in (1, 2))
        previews += generated
        assert counts["generated"] == generated
    assert previews


def test_sandbox_light_exports_match_the_recordings(sandbox_api: Api) -> None:
    sid = _surveys(sandbox_api)[0]
    bare = _csv(sandbox_api, sid, questionIds=[], surveyMetadataIds=[])
    ids = [json.loads(cell)["ImportId"] for cell in bare[2]]
    assert ids and "_recordId" not in ids and not any(i.startswith("QID") for i in ids)
    with_ids = _csv(
        sandbox_api, sid, questionIds=[], surveyMetadataIds=["startDate", "endDate", "_recordId"]
    )
    ids = [json.loads(cell)["ImportId"] for cell in with_ids[2]]
    assert ids[:3] == ["startDate", "endDate", "_recordId"]
    assert all(R_ID.match(row[2]) for row in with_ids[3:])


def test_sandbox_counts_add_up_after_deletions() -> None:
    with sandbox_for(seed=5, surveys=1, responses=40) as sandbox:
        api = Api(sandbox)
        (sid,) = _surveys(api)
        mutated = requests.post(
            sandbox.url("/_sandbox/mutate"), json={"survey_id": sid, "delete": 3}, timeout=10
        )
        assert mutated.status_code == 200, mutated.text
        counts = api.get(f"/surveys/{sid}").json()["result"]["responseCounts"]
        rows = len(_json(api, sid))
        api.close()
    assert counts["deleted"] == 3
    assert counts["auditable"] + counts["generated"] - counts["deleted"] == rows


def test_sandbox_closed_partials_match_the_recordings() -> None:
    with sandbox_for(seed=5, surveys=1, responses=120) as sandbox:
        api = Api(sandbox)
        (sid,) = _surveys(api)
        spec = {"survey_id": sid, "close": 2}
        mutated = requests.post(sandbox.url("/_sandbox/mutate"), json=spec, timeout=10)
        assert mutated.status_code == 200, mutated.text
        closed = set(mutated.json()["closed"])
        rows = _csv(api, sid, useLabels=True)
        api.close()
    ids = [json.loads(cell)["ImportId"] for cell in rows[2]]
    found = [
        dict(zip(ids, row, strict=True))
        for row in rows[3:]
        if row[ids.index("_recordId")] in closed
    ]
    assert len(found) == len(closed) == 2
    for row in found:
        assert R_ID.match(row["_recordId"])
        assert row["finished"] == "False"
        assert int(row["progress"]) < 100
        assert _time(row["recordedDate"]) > _time(row["endDate"])


def test_sandbox_in_progress_window_applies_to_the_start_date(sandbox_api: Api) -> None:
    # as the recorded windowed export: no recordedDate, every row starts inside the window, and the
    # windowed rows under a limit are the first ones of the whole in-progress export (in start order)
    for sid in _surveys(sandbox_api):
        rows = _csv(sandbox_api, sid, exportResponsesInProgress=True)
        ids = [json.loads(cell)["ImportId"] for cell in rows[2]]
        full = [dict(zip(ids, row, strict=True)) for row in rows[3:]]
        if len(full) < 3:
            continue
        starts = [row["startDate"] for row in full]
        assert starts == sorted(starts)
        low = datetime.fromisoformat(full[0]["startDate"]).replace(tzinfo=UTC)
        high = datetime.fromisoformat(full[-1]["startDate"]).replace(tzinfo=UTC)
        window = _csv(
            sandbox_api,
            sid,
            exportResponsesInProgress=True,
            startDate=low.strftime("%Y-%m-%dT%H:%M:%SZ"),
            endDate=high.strftime("%Y-%m-%dT%H:%M:%SZ"),
            limit=2,
        )
        picked = [dict(zip(ids, row, strict=True)) for row in window[3:]]
        assert [row["_recordId"] for row in picked] == [row["_recordId"] for row in full[:2]]
        for row in picked:
            assert row["recordedDate"] == ""
            assert low.replace(tzinfo=None) <= _time(row["startDate"]) < high.replace(tzinfo=None)
        in_json = _json(sandbox_api, sid, exportResponsesInProgress=True)
        assert all("recordedDate" not in r["values"] for r in in_json)
        assert all(FS_ID.match(r["responseId"]) for r in in_json)
        return
    pytest.fail("no survey with three in-progress sessions")


def test_sandbox_recorded_session_gets_a_new_response_id() -> None:
    with sandbox_for(seed=5, surveys=1, responses=120) as sandbox:
        api = Api(sandbox)
        (sid,) = _surveys(api)
        spec = {"survey_id": sid, "finish": 1, "close": 1}
        out = requests.post(sandbox.url("/_sandbox/mutate"), json=spec, timeout=10).json()
        in_progress = {row["_recordId"] for row in _in_progress_rows(api)}
        normal = {r["responseId"] for r in _json(api, sid)}
        api.close()
    for key in ("finished", "closed"):
        ((session, rid),) = out[f"{key}_from"].items()
        assert out[key] == [rid]
        assert FS_ID.match(session) and R_ID.match(rid)
        assert session not in in_progress and session not in normal
        assert rid in normal
