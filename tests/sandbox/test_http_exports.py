"""The response-export workflow over real HTTP: options, windows, continuation, formats, files."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from support.sandbox_api import Api, sandbox_for

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _member(response) -> tuple[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert len(names) == 1
    return names[0], archive.read(names[0])


def _ids(response, fmt: str = "json") -> list[str]:
    _, data = _member(response)
    if fmt == "json":
        return [r["responseId"] for r in json.loads(data)["responses"]]
    return [
        json.loads(line)["responseId"]
        for line in data.splitlines()
        if line.strip() not in (b"", b"{}")
    ]


def _survey_with_responses(sandbox, minimum: int = 10) -> str:
    truth = sandbox.truth()["surveys"]
    return max(
        truth,
        key=lambda sid: (len(truth[sid]["responses"]) >= minimum, -len(truth[sid]["responses"])),
    )


def _finished(sandbox, sid: str) -> list[Any]:
    return [r for r in sandbox.account.surveys[sid].responses.values() if r.finished]


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------
BAD_BODIES = [
    ({}, "ERX_2"),
    ({"format": "pdf"}, "ERX_3"),
    ({"format": "spss"}, "ERX_4"),
    ({"format": "json", "bogus": 1}, "ERX_5"),
    ({"format": "json", "lastResponseId": "R_x"}, "ERX_5"),
    ({"format": "json", "compress": "yes"}, "ERX_6"),
    ({"format": "json", "limit": "10"}, "ERX_6"),
    ({"format": "json", "questionIds": "QID1"}, "ERX_6"),
    ({"format": "csv", "seenUnansweredRecode": ""}, "ERX_6"),
    *[
        ({"format": fmt, opt: val}, "ERX_7")
        for fmt in ("json", "ndjson")
        for opt, val in [
            ("includeDisplayOrder", True),
            ("useLabels", True),
            ("formatDecimalAsComma", True),
            ("seenUnansweredRecode", 0),
            ("multiselectSeenUnansweredRecode", 0),
            ("timeZone", "UTC"),
            ("newlineReplacement", " "),
            ("breakoutSets", False),
        ]
    ],
    ({"format": "csv", "includeLabelColumns": True, "useLabels": True}, "ERX_8"),
    ({"format": "json", "continuationToken": "abc", "allowContinuation": True}, "ERX_9"),
    ({"format": "json", "filterId": "f", "allowContinuation": True}, "ERX_10"),
    ({"format": "json", "filterId": "f", "sortByLastModifiedDate": True}, "ERX_11"),
    ({"format": "json", "startDate": "yesterday"}, "ERX_12"),
    ({"format": "json", "startDate": "2024-01-01"}, "ERX_12"),
    ({"format": "json", "endDate": "2024-13-01T00:00:00Z"}, "ERX_12"),
    (
        {"format": "json", "startDate": "2024-02-01T00:00:00Z", "endDate": "2024-01-01T00:00:00Z"},
        "ERX_13",
    ),
    ({"format": "json", "limit": -1}, "ERX_14"),
    ({"format": "json", "limit": 0}, "ERX_14"),
    ({"format": "json", "continuationToken": "not-a-token"}, "ERX_15"),
    ({"format": "json", "filterId": "00000000-0000-4000-8000-000000000000"}, "ERX_16"),
    ({"format": "json", "questionIds": ["QID999999"]}, "ERX_17"),
    ({"format": "json", "surveyMetadataIds": ["shoeSize"]}, "ERX_18"),
    ({"format": "csv", "timeZone": "Mars/Olympus"}, "ERX_19"),
]


@pytest.mark.parametrize(
    ("body", "code"), BAD_BODIES, ids=[f"{i}-{c}" for i, (_, c) in enumerate(BAD_BODIES)]
)
def test_invalid_export_options_are_400(api: Api, sandbox, body: dict, code: str) -> None:
    sid = next(iter(sandbox.truth()["surveys"]))
    response = api.post(f"/surveys/{sid}/export-responses", json=body)
    assert response.status_code == 400, response.text
    meta = response.json()["meta"]
    assert set(response.json()) == {"meta"}
    assert meta["httpStatus"] == "400 - Bad Request"
    assert meta["error"]["errorCode"] == code
    assert meta["error"]["errorMessage"]


def test_export_body_must_be_json_object(api: Api, sandbox) -> None:
    sid = next(iter(sandbox.truth()["surveys"]))
    assert api.post(f"/surveys/{sid}/export-responses", data=b"{nope").status_code == 400
    response = api.post(f"/surveys/{sid}/export-responses", json=["format", "json"])
    assert response.status_code == 400 and response.json()["meta"]["error"]["errorCode"] == "ERX_1"


def test_valid_csv_only_options_are_accepted(api: Api, sandbox) -> None:
    sid = next(iter(sandbox.truth()["surveys"]))
    body = {
        "format": "csv",
        "useLabels": True,
        "includeDisplayOrder": True,
        "breakoutSets": True,
        "seenUnansweredRecode": -0,
        "timeZone": "America/Denver",
        "newlineReplacement": " ",
        "formatDecimalAsComma": False,
        "multiselectSeenUnansweredRecode": 0,
    }
    assert api.post(f"/surveys/{sid}/export-responses", json=body).status_code == 200


# --------------------------------------------------------------------------------------------------
# the state machine
# --------------------------------------------------------------------------------------------------
def test_progress_sequence_and_ids(sandbox) -> None:
    api = Api(sandbox)
    sid = _survey_with_responses(sandbox)
    # The same export once before, so its file is already made: progress then follows the polls alone
    # (a file still being written on a loaded machine would hold percentComplete at 0).
    assert api.export(sid, format="json")[0]["status"] == "complete"
    sandbox.set_faults({"export_polls": 3})
    try:
        start = api.post(f"/surveys/{sid}/export-responses/", json={"format": "json"}).json()
        assert start["meta"]["httpStatus"] == "200 - OK"
        result = start["result"]
        assert result["percentComplete"] == 0.0 and result["status"] == "inProgress"
        assert re.fullmatch(r"ES_[A-Za-z0-9]{15}", result["progressId"])
        pid = result["progressId"]
        seen = [
            api.get(f"/surveys/{sid}/export-responses/{pid}").json()["result"] for _ in range(4)
        ]
        assert [s["status"] for s in seen] == ["inProgress"] * 3 + ["complete"]
        assert seen[0] == {"percentComplete": 0.0, "status": "inProgress"}
        assert 0 < seen[1]["percentComplete"] < seen[2]["percentComplete"] < 100
        assert re.fullmatch(r"[0-9a-f-]{36}-def", seen[3]["fileId"])
        assert seen[3]["percentComplete"] == 100.0 and "continuationToken" not in seen[3]
        # polling again keeps the same answer
        assert api.get(f"/surveys/{sid}/export-responses/{pid}").json()["result"] == seen[3]
        # unknown ids, and ids of another survey, are 404
        other = next(s for s in sandbox.truth()["surveys"] if s != sid)
        assert api.get(f"/surveys/{sid}/export-responses/ES_000000000000000").status_code == 404
        assert api.get(f"/surveys/{other}/export-responses/{pid}").status_code == 404
        assert api.get(f"/surveys/{sid}/export-responses/{pid}/file").status_code == 404
        assert (
            api.get(f"/surveys/{other}/export-responses/{seen[3]['fileId']}/file").status_code
            == 404
        )
        assert (
            api.get(f"/surveys/{sid}/export-responses/{seen[3]['fileId']}/file").status_code == 200
        )
    finally:
        sandbox.set_faults({})
        api.close()


def test_export_polls_zero_completes_on_first_poll(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    sandbox.set_faults({"export_polls": 0})
    try:
        pid = api.post(f"/surveys/{sid}/export-responses", json={"format": "json"}).json()[
            "result"
        ]["progressId"]
        result = api.get(f"/surveys/{sid}/export-responses/{pid}").json()["result"]
        assert result["status"] == "complete"
    finally:
        sandbox.set_faults({})


def test_export_seconds_keeps_the_job_in_progress(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    sandbox.set_faults({"export_polls": 0, "export_seconds": 0.4})
    try:
        pid = api.post(f"/surveys/{sid}/export-responses", json={"format": "json"}).json()[
            "result"
        ]["progressId"]
        first = api.get(f"/surveys/{sid}/export-responses/{pid}").json()["result"]
        assert first["status"] == "inProgress" and first["percentComplete"] < 100
        time.sleep(0.45)
        assert (
            api.get(f"/surveys/{sid}/export-responses/{pid}").json()["result"]["status"]
            == "complete"
        )
    finally:
        sandbox.set_faults({})


def test_failed_export(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    sandbox.set_faults({"export_failed": 1.0})
    try:
        result, file_response = api.export(sid, format="json")
        assert result == {"fileId": None, "percentComplete": 100, "status": "failed"}
        assert file_response is None
    finally:
        sandbox.set_faults({})


def test_too_large_export_fails() -> None:
    with sandbox_for(export_max_bytes=2000) as sandbox:
        api = Api(sandbox)
        sid = _survey_with_responses(sandbox)
        result, _ = api.export(sid, format="json")
        assert result["status"] == "failed"
        api.close()


def test_size_caps_change_at_run_time_per_survey() -> None:
    """``POST /_sandbox/limits``: a cap for one survey fails its exports (even of a file made before under a
    larger cap), a shorter window under the cap succeeds, and other surveys are untouched."""
    with sandbox_for() as sandbox:
        api = Api(sandbox)
        truth = sandbox.truth()["surveys"]
        sid = _survey_with_responses(sandbox)
        other = next(s for s in truth if s != sid and truth[s]["responses"])
        whole, file_response = api.export(sid, format="ndjson")
        assert whole["status"] == "complete"
        size = len(_member(file_response)[1])
        limits = sandbox.set_limits({"export_max_bytes_by_survey": {sid: size - 1}})
        assert limits["export_max_bytes_by_survey"] == {sid: size - 1}
        assert limits["export_max_bytes"] == 1_800_000_000

        assert api.export(sid, format="ndjson")[0]["status"] == "failed"
        first = min(truth[sid]["responses"].values())
        early, early_file = api.export(
            sid, format="ndjson", sortByLastModifiedDate=True, endDate=first[:19] + "Z"
        )
        assert early["status"] == "complete" and _ids(early_file, "ndjson") == []
        assert api.export(other, format="ndjson")[0]["status"] == "complete"

        sandbox.set_limits({"export_max_bytes": 10, "export_max_bytes_by_survey": {}})
        assert api.export(other, format="ndjson")[0]["status"] == "failed"
        for bad in (
            {},
            {"export_max_bytes": 0},
            {"export_max_bytes_by_survey": {sid: "1"}},
            {"nope": 1},
        ):
            refused = api.session.post(sandbox.url("/_sandbox/limits"), json=bad, timeout=10)
            assert refused.status_code == 400, bad
        assert (
            sandbox.set_limits({"export_max_bytes": 1_800_000_000})["export_max_bytes_by_survey"]
            == {}
        )
        api.close()


# --------------------------------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------------------------------
def test_default_export_is_every_finished_response_in_recorded_order(api: Api, sandbox) -> None:
    for sid, info in sandbox.truth()["surveys"].items():
        result, file_response = api.export(sid, format="json")
        assert result["status"] == "complete"
        ids = _ids(file_response)
        assert set(ids) == set(info["responses"]), sid
        assert len(ids) == len(set(ids))
        records = {r.response_id: r for r in _finished(sandbox, sid)}
        keys = [(_aware(records[i].recorded_date), i) for i in ids]
        assert keys == sorted(keys)


def test_sort_by_last_modified_adds_last_modified_date(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    truth = sandbox.truth()["surveys"][sid]["responses"]
    _, file_response = api.export(sid, format="json", sortByLastModifiedDate=True)
    responses = json.loads(_member(file_response)[1])["responses"]
    assert {r["responseId"] for r in responses} == set(truth)
    keys = [(r["values"]["LastModifiedDate"], r["responseId"]) for r in responses]
    assert keys == sorted(keys)
    records = {r.response_id: r for r in _finished(sandbox, sid)}
    for r in responses:
        assert r["values"]["LastModifiedDate"] == _iso(
            _aware(records[r["responseId"]].last_modified)
        )


@pytest.mark.parametrize("by_last_modified", [False, True])
def test_date_window_start_inclusive_end_exclusive(
    api: Api, sandbox, by_last_modified: bool
) -> None:
    sid = _survey_with_responses(sandbox)
    attr = "last_modified" if by_last_modified else "recorded_date"
    records = sorted(
        _finished(sandbox, sid), key=lambda r: (_aware(getattr(r, attr)), r.response_id)
    )
    lo, hi = records[2], records[-3]
    start, end = _aware(getattr(lo, attr)), _aware(getattr(hi, attr))
    expected = {r.response_id for r in records if start <= _aware(getattr(r, attr)) < end}
    options: dict[str, Any] = {"format": "ndjson", "startDate": _iso(start), "endDate": _iso(end)}
    if by_last_modified:
        options["sortByLastModifiedDate"] = True
    _, file_response = api.export(sid, **options)
    ids = _ids(file_response, "ndjson")
    assert set(ids) == expected
    assert lo.response_id in ids and hi.response_id not in ids
    # a window that is one millisecond later excludes lo and includes hi
    options.update(
        startDate=_iso(start + timedelta(milliseconds=1)),
        endDate=_iso(end + timedelta(milliseconds=1)),
    )
    ids = _ids(api.export(sid, **options)[1], "ndjson")
    assert lo.response_id not in ids and hi.response_id in ids
    # offsets other than Z are understood
    options.update(
        startDate=(start).astimezone(timezone(timedelta(hours=2))).isoformat(), endDate=_iso(end)
    )
    assert set(_ids(api.export(sid, **options)[1], "ndjson")) == expected


def test_limit(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    everything = _ids(api.export(sid, format="json", sortByLastModifiedDate=True)[1])
    assert (
        _ids(api.export(sid, format="json", sortByLastModifiedDate=True, limit=5)[1])
        == everything[:5]
    )
    assert _ids(api.export(sid, format="json", limit=10_000)[1]) == _ids(
        api.export(sid, format="json")[1]
    )


def test_in_progress_export(api: Api, sandbox) -> None:
    for sid, info in sandbox.truth()["surveys"].items():
        expected = {
            r.response_id for r in sandbox.account.surveys[sid].responses.values() if not r.finished
        }
        ids = _ids(api.export(sid, format="json", exportResponsesInProgress=True)[1])
        assert set(ids) == expected
        assert not set(ids) & set(info["responses"])
        # sortByLastModifiedDate has no effect (no LastModifiedDate column, same rows)
        _, data = _member(
            api.export(
                sid, format="json", exportResponsesInProgress=True, sortByLastModifiedDate=True
            )[1]
        )
        rows = json.loads(data)["responses"]
        assert [r["responseId"] for r in rows] == ids
        assert all("LastModifiedDate" not in r["values"] for r in rows)


def test_question_ids_restrict_answer_keys(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    questions = sandbox.truth()["surveys"][sid]["questions"]
    keep = questions[:1]
    _, data = _member(api.export(sid, format="json", questionIds=keep)[1])
    pattern = re.compile(r"^(?:\d+_)?(QID\d+)")
    seen = set()
    for row in json.loads(data)["responses"]:
        for key in row["values"]:
            match = pattern.match(key)
            if match:
                seen.add(match.group(1))
    assert seen <= set(keep)
    _, data = _member(
        api.export(sid, format="json", surveyMetadataIds=["startDate"], questionIds=keep)[1]
    )
    row = json.loads(data)["responses"][0]
    assert "startDate" in row["values"] and "recordedDate" not in row["values"]


def test_filter_id_is_accepted(api: Api, sandbox) -> None:
    sid, filters = next(((s, f) for s, f in sandbox.account.filters.items() if f), (None, None))
    if sid is None:
        pytest.skip("no saved filters in this account")
    result, _ = api.export(sid, format="json", filterId=filters[0]["filterId"])
    assert result["status"] == "complete"


# --------------------------------------------------------------------------------------------------
# formats and files
# --------------------------------------------------------------------------------------------------
def test_zip_member_name_and_headers(api: Api, sandbox) -> None:
    for sid in sandbox.truth()["surveys"]:
        _, file_response = api.export(sid, format="ndjson")
        assert file_response.headers["Content-Type"] == "application/zip"
        name = sandbox.account.surveys[sid].name
        assert (
            file_response.headers["Content-Disposition"]
            == f"attachment; filename={quote_plus(name)}.zip"
        )
        member, _ = _member(file_response)
        assert member == f"{name}.ndjson"
        assert int(file_response.headers["Content-Length"]) == len(file_response.content)


def test_ndjson_has_empty_object_lines(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    _, data = _member(api.export(sid, format="ndjson")[1])
    lines = data.split(b"\n")
    assert lines[-1] == b""
    objects = [json.loads(line) for line in lines[:-1]]
    assert {} in objects
    assert all(
        set(o) == {"responseId", "values", "labels", "displayedFields", "displayedValues"}
        for o in objects
        if o
    )
    assert len([o for o in objects if o]) == len(sandbox.truth()["surveys"][sid]["responses"])


def test_json_shape(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    _, data = _member(api.export(sid, format="json")[1])
    body = json.loads(data)
    assert list(body) == ["responses"]
    first = body["responses"][0]
    assert list(first) == ["responseId", "values", "labels", "displayedFields", "displayedValues"]


def test_csv_has_three_header_rows(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    survey = sandbox.account.surveys[sid]
    name, data = _member(api.export(sid, format="csv")[1])
    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    tags, texts, import_ids = (list(r) for r in survey.csv_header_rows())
    assert rows[:3] == [tags, texts, import_ids]
    assert len(rows) == 3 + len(sandbox.truth()["surveys"][sid]["responses"])
    _, data = _member(api.export(sid, format="tsv", sortByLastModifiedDate=True)[1])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter="\t"))
    assert rows[0] == [*tags, "LastModifiedDate"]


def test_compress_false_returns_the_raw_file(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    _, zipped = api.export(sid, format="json")
    _, raw = api.export(sid, format="json", compress=False)
    assert raw.headers["Content-Type"] == "application/json"
    assert raw.content == _member(zipped)[1]
    assert raw.json()["responses"]
    _, raw = api.export(sid, format="ndjson", compress=False)
    assert raw.headers["Content-Type"] == "application/x-ndjson"


def test_export_files_are_deterministic() -> None:
    contents = []
    for _ in range(2):
        with sandbox_for(seed=7, now=NOW) as sandbox:
            api = Api(sandbox)
            sid = _survey_with_responses(sandbox)
            files = [
                api.export(sid, format=fmt, **extra)[1].content
                for fmt, extra in [
                    ("json", {}),
                    ("ndjson", {"sortByLastModifiedDate": True}),
                    ("csv", {}),
                ]
            ]
            contents.append(files)
            # the same export twice in one sandbox gives the same bytes too
            assert api.export(sid, format="json")[1].content == files[0]
            api.close()
    assert contents[0] == contents[1]


# --------------------------------------------------------------------------------------------------
# mutations, continuation, retention
# --------------------------------------------------------------------------------------------------
def test_continuation_returns_exactly_new_and_modified(fresh) -> None:
    api = Api(fresh)
    sid = _survey_with_responses(fresh)
    result, file_response = api.export(
        sid, format="ndjson", sortByLastModifiedDate=True, allowContinuation=True
    )
    token = result["continuationToken"]
    assert token and set(_ids(file_response, "ndjson")) == set(
        fresh.truth()["surveys"][sid]["responses"]
    )
    # nothing changed: empty
    result2, file_response = api.export(
        sid, format="ndjson", sortByLastModifiedDate=True, continuationToken=token
    )
    assert _ids(file_response, "ndjson") == [] and result2["continuationToken"]
    changed = fresh.mutate({"survey_id": sid, "add": 3, "edit": 2, "delete": 1})
    result3, file_response = api.export(
        sid, format="ndjson", sortByLastModifiedDate=True, continuationToken=token
    )
    ids = _ids(file_response, "ndjson")
    assert sorted(ids) == sorted(set(changed["added"]) | set(changed["edited"]))
    assert not set(changed["deleted"]) & set(ids)
    # the token of the continuation export sees nothing new; the old token can be used again
    _, file_response = api.export(
        sid,
        format="ndjson",
        sortByLastModifiedDate=True,
        continuationToken=result3["continuationToken"],
    )
    assert _ids(file_response, "ndjson") == []
    _, file_response = api.export(
        sid, format="ndjson", sortByLastModifiedDate=True, continuationToken=token
    )
    assert sorted(_ids(file_response, "ndjson")) == sorted(ids)
    # a token belongs to its survey
    other = next(s for s in fresh.truth()["surveys"] if s != sid)
    response = api.post(
        f"/surveys/{other}/export-responses", json={"format": "json", "continuationToken": token}
    )
    assert response.status_code == 400
    api.close()


def test_continuation_after_limit_and_end_date_loses_nothing(fresh) -> None:
    api = Api(fresh)
    sid = _survey_with_responses(fresh)
    all_ids = _ids(api.export(sid, format="json", sortByLastModifiedDate=True)[1])
    result, file_response = api.export(
        sid, format="json", sortByLastModifiedDate=True, allowContinuation=True, limit=4
    )
    first = _ids(file_response)
    rest = _ids(
        api.export(
            sid,
            format="json",
            sortByLastModifiedDate=True,
            continuationToken=result["continuationToken"],
        )[1]
    )
    assert first + rest == all_ids
    records = sorted(_finished(fresh, sid), key=lambda r: (_aware(r.last_modified), r.response_id))
    cut = _aware(records[len(records) // 2].last_modified)
    result, file_response = api.export(
        sid, format="json", sortByLastModifiedDate=True, allowContinuation=True, endDate=_iso(cut)
    )
    first = _ids(file_response)
    rest = _ids(
        api.export(
            sid,
            format="json",
            sortByLastModifiedDate=True,
            continuationToken=result["continuationToken"],
        )[1]
    )
    assert first + rest == all_ids
    api.close()


def test_mutations_show_in_later_exports(fresh) -> None:
    api = Api(fresh)
    sid = _survey_with_responses(fresh)
    before = set(_ids(api.export(sid, format="json")[1]))
    changed = fresh.mutate({"survey_id": sid, "add": 2, "edit": 1, "delete": 2})
    after_truth = set(fresh.truth()["surveys"][sid]["responses"])
    after = _ids(api.export(sid, format="json", sortByLastModifiedDate=True)[1])
    assert set(after) == after_truth == (before | set(changed["added"])) - set(changed["deleted"])
    # edited responses carry their new last-modified time
    _, data = _member(api.export(sid, format="json", sortByLastModifiedDate=True)[1])
    lm = {r["responseId"]: r["values"]["LastModifiedDate"] for r in json.loads(data)["responses"]}
    truth = fresh.truth()["surveys"][sid]["responses"]
    for rid in changed["edited"]:
        assert lm[rid] == _iso(_aware(fresh.account.surveys[sid].responses[rid].last_modified))
        assert truth[rid]
    api.close()


def test_files_and_tokens_expire_after_a_week(fresh) -> None:
    api = Api(fresh)
    sid = _survey_with_responses(fresh)
    result, _file_response = api.export(sid, format="json", allowContinuation=True)
    file_url = f"/surveys/{sid}/export-responses/{result['fileId']}/file"
    fresh.advance_clock(6 * 86400)
    assert api.get(file_url).status_code == 200
    assert (
        api.post(
            f"/surveys/{sid}/export-responses",
            json={"format": "json", "continuationToken": result["continuationToken"]},
        ).status_code
        == 200
    )
    fresh.advance_clock(2 * 86400)
    assert api.get(file_url).status_code == 404
    response = api.post(
        f"/surveys/{sid}/export-responses",
        json={"format": "json", "continuationToken": result["continuationToken"]},
    )
    assert response.status_code == 400 and response.json()["meta"]["error"]["errorCode"] == "ERX_15"
    api.close()


def test_temporary_files_are_removed_on_shutdown() -> None:
    with sandbox_for(surveys=2, responses=5) as sandbox:
        api = Api(sandbox)
        sid = _survey_with_responses(sandbox, 1)
        api.export(sid, format="json")
        workdir = sandbox.app.exports.workdir
        assert list(Path(workdir).iterdir())
        api.close()
    assert not Path(workdir).exists()


def test_repeated_exports_reuse_the_file(api: Api, sandbox) -> None:
    sid = _survey_with_responses(sandbox)
    before = sandbox.stats()["exports"]
    a = api.export(sid, format="ndjson", limit=3)[1].content
    b = api.export(sid, format="ndjson", limit=3)[1].content
    after = sandbox.stats()["exports"]
    assert a == b
    assert after["export_files_reused"] >= before["export_files_reused"] + 1
