"""export_subsets: a survey exports only the questions, embedded data and metadata it names; a changed subset
re-syncs the survey from start_date; an unknown question fails that survey alone and keeps its bookmark."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.directory import sync
from support.tap import sandbox, token_config

from tap_qualtrics.settings import SettingsError, parse_settings

STREAMS = ("responses", "response_answers")
_QUESTION_KEY = re.compile(r"^(?:\d+_)?(QID\d+)")


def _state(run: Any) -> dict[str, Any]:
    return next(m["value"] for m in reversed(run.messages) if m["type"] == "STATE")


def _partition(state: dict[str, Any], survey_id: str) -> dict[str, Any]:
    partitions = state["bookmarks"]["responses"]["partitions"]
    return next(p for p in partitions if p["context"] == {"survey_id": survey_id})


def _questions_in(records: list[dict[str, Any]]) -> set[str]:
    return {
        match.group(1)
        for record in records
        for key in record["values"]
        if (match := _QUESTION_KEY.match(key))
    }


def _config(handle: Any, subsets: dict[str, Any] | None) -> dict[str, Any]:
    extra = {"export_subsets": subsets} if subsets is not None else {}
    return token_config(handle, export_safety_lag_seconds=0, **extra)


def test_a_subset_exports_only_what_it_names_and_a_change_resyncs_the_survey() -> None:
    with sandbox(seed=7) as handle:
        truth = handle.truth()["surveys"]
        narrowed, whole = sorted(truth, key=lambda s: -len(truth[s]["responses"]))[:2]
        chosen = truth[narrowed]["questions"][:2]
        subsets = {narrowed: {"question_ids": chosen, "survey_metadata_ids": ["startDate"]}}
        first = sync(_config(handle, subsets), streams=STREAMS)
        again = sync(_config(handle, subsets), state=_state(first), streams=STREAMS)
        wider = {narrowed: {"question_ids": truth[narrowed]["questions"][:3]}}
        changed = sync(_config(handle, wider), state=_state(again), streams=STREAMS)
        removed = sync(_config(handle, None), state=_state(changed), streams=STREAMS)

    assert not first.failures
    by_survey: dict[str, list[dict[str, Any]]] = {}
    for record in first.records("responses"):
        by_survey.setdefault(record["survey_id"], []).append(record)
    assert {r["response_id"] for r in by_survey[narrowed]} == set(truth[narrowed]["responses"])
    assert set() < _questions_in(by_survey[narrowed]) <= set(chosen)
    assert (
        len(_questions_in(by_survey[whole])) > len(chosen) + 1
    )  # the other survey: the whole export
    for record in by_survey[narrowed]:
        assert record["start_date"] is not None
        assert record["recorded_date"] is not None  # always kept: the bookmark needs it
        assert record["end_date"] is None  # not asked for
    answered = {
        row["parent_question_id"] or row["question_id"]
        for row in first.records("response_answers")
        if row["survey_id"] == narrowed
    }
    assert answered <= set(chosen)
    assert answered

    # the same subset: the survey is up to date, nothing is exported again
    assert again.records("responses") == []
    assert "export_options" in _partition(_state(again), narrowed)

    # a wider subset: the survey starts again from start_date, with the new questions
    resynced = [r for r in changed.records("responses") if r["survey_id"] == narrowed]
    assert {r["response_id"] for r in resynced} == set(truth[narrowed]["responses"])
    assert _questions_in(by_survey[narrowed]) <= _questions_in(resynced)
    assert _questions_in(resynced) <= set(truth[narrowed]["questions"][:3])
    assert not [r for r in changed.records("responses") if r["survey_id"] != narrowed]
    [warning] = [m for m in changed.log_messages if "export options of survey" in m]
    assert narrowed in warning
    assert "synced again" in warning

    # no subset any more: the whole survey again, and the state forgets the options
    whole_again = [r for r in removed.records("responses") if r["survey_id"] == narrowed]
    assert len(whole_again) == len(truth[narrowed]["responses"])
    assert len(_questions_in(whole_again)) > len(_questions_in(resynced))
    assert "export_options" not in _partition(_state(removed), narrowed)


def test_an_unknown_question_fails_that_survey_and_keeps_its_bookmark() -> None:
    with sandbox(seed=7) as handle:
        truth = handle.truth()["surveys"]
        survey = min(truth)
        first = sync(_config(handle, None), streams=("responses",))
        bookmark = _partition(_state(first), survey)["replication_key_value"]
        bad = {survey: {"question_ids": ["QID999"]}}
        failed = sync(_config(handle, bad), state=_state(first), streams=("responses",))

    assert [f.survey_id for f in failed.failures.surveys] == [survey]
    assert "QID999" in failed.failure_summary
    partition = _partition(_state(failed), survey)
    assert partition["replication_key_value"] == bookmark
    assert "export_options" not in partition
    assert not [r for r in failed.records("responses") if r["survey_id"] == survey]


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ([], "export_subsets must be an object"),
        ({"SV a": {"question_ids": ["QID1"]}}, "is not a survey ID or glob pattern"),
        ({"SV_a": {}}, "must map to an object with question_ids"),
        ({"SV_a": {"questions": ["QID1"]}}, "unknown key 'questions'"),
        ({"SV_a": {"question_ids": "QID1"}}, "question_ids must be a list of IDs"),
    ],
)
def test_bad_subsets_get_one_sentence(value: Any, sentence: str) -> None:
    config = {"api_token": "t", "base_url": "http://127.0.0.1:9", "export_subsets": value}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config)
    assert sentence in str(raised.value)
    assert str(raised.value).count(". ") == 0


def test_an_exact_id_wins_over_a_pattern_and_the_kept_metadata_is_added() -> None:
    settings = parse_settings(
        {
            "api_token": "t",
            "base_url": "http://127.0.0.1:9",
            "export_subsets": {
                "SV_a*": {"question_ids": ["QID1"]},
                "SV_abc": {"survey_metadata_ids": ["startDate"], "embedded_data_ids": []},
            },
        }
    )
    subsets = settings.export_subsets
    assert subsets.options_for("SV_abc") == {
        "surveyMetadataIds": ["startDate", "_recordId", "recordedDate"],
        "embeddedDataIds": [],
    }
    assert subsets.options_for("SV_axy") == {"questionIds": ["QID1"]}
    assert subsets.options_for("SV_b") == {}
