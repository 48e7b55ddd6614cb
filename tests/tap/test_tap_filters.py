"""filter_ids: a survey exported through a saved filter gets its whole filtered set every run, and the
deletion check goes through the same filter, so a response that leaves the filter is marked like a deleted one;
an unknown filter fails that survey alone and keeps its bookmark."""

from __future__ import annotations

from typing import Any

import pytest
from support.directory import sync
from support.tap import sandbox, token_config

from tap_qualtrics.settings import SettingsError, parse_settings

STREAMS = ("responses", "response_deletion_checks", "live_response_ids")


def _state(run: Any) -> dict[str, Any]:
    return next(m["value"] for m in reversed(run.messages) if m["type"] == "STATE")


def _ids(run: Any, stream: str, survey_id: str) -> set[str]:
    return {r["response_id"] for r in run.records(stream) if r["survey_id"] == survey_id}


def _gone(run: Any, survey_id: str, loaded: set[str], recorded: dict[str, str]) -> set[str]:
    """What docs/querying.md's deleted_responses view says, from this run's check of the survey."""
    [check] = [c for c in run.records("response_deletion_checks") if c["survey_id"] == survey_id]
    live = _ids(run, "live_response_ids", survey_id)
    return {r for r in loaded if recorded[r] < check["recorded_before"] and r not in live}


def _tag(handle: Any, survey_id: str, response_ids: list[str], segment: str) -> None:
    handle.mutate(
        {
            "survey_id": survey_id,
            "update": [
                {
                    "response_id": rid,
                    "embedded_data": {"segment": segment},
                    "reset_recorded_date": False,
                }
                for rid in response_ids
            ],
        }
    )


def test_a_filtered_survey_follows_its_filter_and_what_leaves_it_is_marked() -> None:
    with sandbox(seed=7) as handle:
        truth = handle.truth()["surveys"]
        survey = max(truth, key=lambda s: len(truth[s]["responses"]))
        tagged = sorted(truth[survey]["responses"])[:4]
        _tag(handle, survey, tagged, "A")
        added = handle.mutate(
            {
                "survey_id": survey,
                "add_filter": {"name": "Segment A", "field": "segment", "equals": "A"},
            }
        )
        filter_id = added["added_filter"]
        config = token_config(handle, export_safety_lag_seconds=0, filter_ids={survey: filter_id})
        first = sync(config, streams=STREAMS)
        matching_first = set(handle.truth()["surveys"][survey]["filters"][filter_id])
        _tag(handle, survey, tagged[:1], "B")  # leaves the filter
        second = sync(config, state=_state(first), streams=STREAMS)
        after = handle.truth()["surveys"][survey]
        bad = token_config(handle, export_safety_lag_seconds=0, filter_ids={survey: "bogus"})
        refused = sync(bad, state=_state(second), streams=("responses",))

    assert not first.failures, first.failure_summary
    assert matching_first == set(tagged)
    assert _ids(first, "responses", survey) == set(tagged)
    assert _ids(first, "live_response_ids", survey) == set(tagged)
    others = {r["survey_id"] for r in first.records("responses")} - {survey}
    assert others  # the other surveys are exported whole, as always
    [check] = [c for c in first.records("response_deletion_checks") if c["survey_id"] == survey]
    assert check["filter_id"] == filter_id

    # the whole filtered set again; the response that left the filter is marked by the check
    assert not second.failures, second.failure_summary
    assert set(after["filters"][filter_id]) == set(tagged[1:])
    assert _ids(second, "responses", survey) == set(tagged[1:])
    recorded = {r["response_id"]: r["recorded_date"] for r in first.records("responses")}
    assert _gone(second, survey, set(tagged), recorded) == {tagged[0]}

    # an unknown filter: this survey fails with Qualtrics' sentence and keeps its state
    assert [f.survey_id for f in refused.failures.surveys] == [survey]
    assert "bogus" in refused.failure_summary
    partitions = _state(refused)["bookmarks"]["responses"]["partitions"]
    before = _state(second)["bookmarks"]["responses"]["partitions"]
    assert [p for p in partitions if p["context"]["survey_id"] == survey] == [
        p for p in before if p["context"]["survey_id"] == survey
    ]


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        (["x"], "filter_ids must be an object"),
        ({"SV a": "f"}, "is not a survey ID or glob pattern"),
        ({"SV_a": 3}, "must map to a saved filter's ID"),
        ({"SV_a": " "}, "must map to a saved filter's ID"),
    ],
)
def test_bad_filter_ids_get_one_sentence(value: Any, sentence: str) -> None:
    config = {"api_token": "t", "base_url": "http://127.0.0.1:9", "filter_ids": value}
    with pytest.raises(SettingsError) as raised:
        parse_settings(config)
    assert sentence in str(raised.value)
