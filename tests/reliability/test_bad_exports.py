"""Bad data from the server (sandbox knob ``corrupt_export``): the tap emits valid, schema-conforming
records with a documented normalisation, or fails the survey loudly, keeps its bookmark, and the next
clean run completes the truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from reliability_testing import (
    catalog_for,
    config_for,
    response_bookmarks,
    run_tap,
    truth_responses,
    upsert,
)
from tap_testing import REPO, sandbox

from qualtrics_sandbox.corrupt import HUGE_TEXT_CHARS

SCHEMA = json.loads((Path(REPO) / "schemas" / "responses.json").read_text())
SEEDS = (1, 2, 3)
FAILING = {
    "truncated": "damaged zip archive (truncated or corrupt)",
    "bad_zip": "corrupt zip archive",
    "missing_metadata": "a response without a responseId",
}
#: mode -> (value key, what the tap emits for it)
NORMALISED: dict[str, tuple[str, Any]] = {
    "non_utf8": ("QID_nonutf8", "caf\ufffd \ufffd"),
    "nul_text": ("QID_nul", "ab"),
    "huge_text": ("QID_huge", "x" * HUGE_TEXT_CHARS),
    "unknown_question_type": ("QID_unknown", {"hotSpot3D": [[1, 2, 3]], "weight": 0.5}),
}


def _first_responses(handle: Any) -> dict[str, str]:
    """survey -> the response the knob changes (the first of its export, by last-modified date)."""
    return {
        sid: min(s["responses"], key=lambda rid: (s["responses"][rid], rid))
        for sid, s in handle.truth()["surveys"].items()
        if s["responses"]
    }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", sorted(FAILING))
def test_unreadable_exports_fail_loudly_and_lose_nothing(mode: str, seed: int) -> None:
    with sandbox(seed=300 + seed, surveys=3, responses=8) as handle:
        config = config_for(handle, oauth=False)
        catalog = catalog_for(["responses"])
        handle.set_faults({"corrupt_export": mode})
        bad = run_tap(config, catalog=catalog)
        handle.set_faults({})
        clean = run_tap(config, state=bad.states[-1], catalog=catalog)
        truth = truth_responses(handle.truth())
        surveys_with_responses = {sid for sid, _ in truth}

    assert bad.error is None, bad.error_text[-2000:]
    assert set(bad.failed_surveys) >= surveys_with_responses
    assert FAILING[mode] in bad.failure_summary and "keep their bookmarks" in bad.failure_summary
    emitted = bad.records("responses")
    for record in emitted:  # whatever was emitted before the damage is exactly the truth
        key = (record["survey_id"], record["response_id"])
        assert record["last_modified_date"][:23] == truth[key].rstrip("Z")
    bookmarks = response_bookmarks(bad.states[-1])
    for survey_id in bad.failed_surveys:
        mine = [r["last_modified_date"] for r in emitted if r["survey_id"] == survey_id]
        assert bookmarks.get(survey_id) == (max(mine) if mine else None)

    assert clean.ok, clean.failure_summary
    target: dict[tuple[str, str], dict[str, Any]] = {}
    upsert(target, emitted)
    upsert(target, clean.records("responses"))
    assert set(target) == set(truth)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", sorted(NORMALISED))
def test_odd_values_are_emitted_valid_and_normalised(mode: str, seed: int) -> None:
    with sandbox(seed=300 + seed, surveys=3, responses=8) as handle:
        handle.set_faults({"corrupt_export": mode})
        changed = _first_responses(handle)
        outcome = run_tap(config_for(handle, oauth=False), catalog=catalog_for(["responses"]))
        truth = truth_responses(handle.truth())

    assert outcome.ok, outcome.failure_summary or outcome.error_text[-2000:]
    records = outcome.records("responses")
    assert {(r["survey_id"], r["response_id"]) for r in records} == set(truth)
    validator = Draft7Validator(SCHEMA)
    for record in records:
        assert list(validator.iter_errors(record)) == []
    key, expected = NORMALISED[mode]
    for record in records:
        if changed.get(record["survey_id"]) == record["response_id"]:
            assert record["values"][key] == expected
        else:
            assert key not in record["values"]
    assert "\\u0000" not in outcome.stdout
    outcome.stdout.encode("utf-8")  # every line is valid UTF-8


def test_corrupt_export_knob_is_validated_and_resettable() -> None:
    with sandbox(seed=399, surveys=1, responses=2) as handle:
        with pytest.raises(ValueError, match="corrupt_export must be null or one of"):
            handle.set_faults({"corrupt_export": "gremlins"})
        assert handle.set_faults({"corrupt_export": "bad_zip"})["corrupt_export"] == "bad_zip"
        assert handle.set_faults({})["corrupt_export"] is None
