"""Bad data from the server (sandbox knob ``corrupt_export``), over 20 seeds: the tap emits valid,
schema-conforming records with a documented normalisation, or fails the survey loudly, keeps its
bookmark, and the next clean run completes the truth. The same holds for the answer streams
(``response_answers``, ``response_embedded_data``) written in the export pass of ``responses``: no row of
an unread response is lost, no row is emitted without its response, every row fits its schema.

One sandbox per seed serves every test of that seed (the corruption changes only what is downloaded, never
the truth); the expected records and rows are those of a clean run against that same sandbox."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.paths import REPO
from support.reliability import (
    SchemaCheck,
    catalog_for,
    config_for,
    response_bookmarks,
    run_tap,
    truth_responses,
)
from support.tap import sandbox
from support.taprun import TapRun, run_tap_process

from qualtrics_sandbox.corrupt import HUGE_TEXT_CHARS, corrupt, target_response_id

SEEDS = range(20)
#: Every run selects the answer streams too: their rows are written in the export pass of ``responses``.
WITH_ANSWERS = ("responses", "response_answers", "response_embedded_data")
KEYS = {
    "responses": ("survey_id", "response_id"),
    "response_answers": ("answer_id",),
    "response_embedded_data": ("survey_id", "response_id", "field"),
}
SCHEMAS = {
    stream: SchemaCheck(json.loads((Path(REPO) / "schemas" / f"{stream}.json").read_text()))
    for stream in WITH_ANSWERS
}
EXPORT_FILE = "GET /surveys/{surveyId}/export-responses/{fileId}/file"

#: variant -> (sandbox mode, what the failure summary says). ``_late`` damages a later response
#: (``corrupt_export_index``), so the tap reads good responses of the survey before the bad one.
FAILING: dict[str, tuple[str, str]] = {
    "truncated": ("truncated", "damaged zip archive (truncated or corrupt)"),
    "bad_zip": ("bad_zip", "corrupt zip archive"),
    "missing_metadata": ("missing_metadata", "a response without a responseId"),
    "missing_metadata_late": ("missing_metadata", "a response without a responseId"),
}
#: mode -> (value key, what the tap emits for it in ``responses.values``)
NORMALISED: dict[str, tuple[str, Any]] = {
    "non_utf8": ("QID_nonutf8", "caf\ufffd \ufffd"),
    "nul_text": ("QID_nul", "ab"),
    "huge_text": ("QID_huge", "x" * HUGE_TEXT_CHARS),
    "unknown_question_type": ("QID_unknown", {"hotSpot3D": [[1, 2, 3]], "weight": 0.5}),
    "lone_surrogate": ("QID_half", "\ufffd tail"),
    "control_character": ("QID_ctrl", "a\x01b"),
}
#: ... and the ``response_embedded_data`` value of that key (it is not a ``QIDn`` key: embedded data by
#: rule, docs/answer-model.md §3.2; objects as compact JSON text, §5)
EMBEDDED_VALUE = {
    "non_utf8": "caf\ufffd \ufffd",
    "nul_text": "ab",
    "huge_text": "x" * HUGE_TEXT_CHARS,
    "unknown_question_type": '{"hotSpot3D":[[1,2,3]],"weight":0.5}',
    "lone_surrogate": "\ufffd tail",
    "control_character": "a\x01b",
}

#: Totals over the module, printed by the last test (``pytest -s``) and checked to be non-trivial.
COUNTS: dict[str, int] = {
    "seeds": 0,
    "runs": 0,
    "corrupt_files_served": 0,
    "surveys_failed": 0,
    "surveys_failed_midway": 0,
    "responses_normalised": 0,
    "records_compared": 0,
    "answer_rows_compared": 0,
    "embedded_rows_compared": 0,
}


def _late_index(seed: int) -> int:
    """Where ``missing_metadata_late`` damages each export (past the end: the last response)."""
    return 1 + seed % 6


@functools.cache
def _catalog(streams: tuple[str, ...]) -> dict[str, Any]:
    return catalog_for(streams)  # run_tap copies it


@dataclass
class Account:
    """One seed's sandbox, its truth, and (computed once) what a clean run of it emits."""

    seed: int
    handle: Any
    truth: dict[tuple[str, str], str]
    #: survey -> its response IDs in export order (last-modified date, then ID)
    order: dict[str, list[str]]
    _reference: dict[str, dict[tuple, dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def config(self) -> dict[str, Any]:
        return config_for(self.handle, oauth=False)

    def reference(self) -> dict[str, dict[tuple, dict[str, Any]]]:
        """Stream -> primary key -> record, from a clean run selecting every stream compared here."""
        if self._reference is None:
            clean = run_tap(self.config, catalog=_catalog(WITH_ANSWERS))
            COUNTS["runs"] += 1
            assert clean.ok, clean.failure_summary or clean.error_text[-2000:]
            self._reference = {stream: _keyed(clean, stream) for stream in WITH_ANSWERS}
            assert set(self._reference["responses"]) == set(self.truth)
            assert self._reference["response_answers"], "the clean run wrote no answer rows"
        return self._reference

    def corrupted_run(self, mode: str, index: int, streams: tuple[str, ...]) -> TapRun:
        """One run from scratch while every export file is served damaged."""
        handle = self.handle
        handle.set_faults({"corrupt_export": mode, "corrupt_export_index": index})
        served = handle.stats()["requests"].get(EXPORT_FILE, 0)
        try:
            outcome = run_tap(self.config, catalog=_catalog(streams))
        finally:
            handle.set_faults({})
        COUNTS["corrupt_files_served"] += handle.stats()["requests"].get(EXPORT_FILE, 0) - served
        COUNTS["runs"] += 1
        return outcome


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def account(request: pytest.FixtureRequest) -> Iterator[Account]:
    seed = request.param
    with sandbox(seed=300 + seed, surveys=3, responses=8, large_responses=10) as handle:
        truth = truth_responses(handle.truth())
        order: dict[str, list[str]] = {}
        for (survey_id, response_id), _ in sorted(
            truth.items(), key=lambda item: (item[1], item[0][1])
        ):
            order.setdefault(survey_id, []).append(response_id)
        COUNTS["seeds"] += 1
        yield Account(seed, handle, truth, order)


def _key(stream: str, record: dict[str, Any]) -> tuple:
    return tuple(record[name] for name in KEYS[stream])


def _keyed(outcome: TapRun, stream: str) -> dict[tuple, dict[str, Any]]:
    """What a target upserting on the stream's primary key holds after this run; no key twice."""
    records = outcome.records(stream)
    keyed = {_key(stream, record): record for record in records}
    assert len(keyed) == len(records), f"{stream}: a primary key was emitted twice in one run"
    return keyed


def _of(rows: dict[tuple, dict[str, Any]], responses: set[tuple[str, str]]) -> dict:
    return {k: r for k, r in rows.items() if (r["survey_id"], r["response_id"]) in responses}


def _count_compared(expected: dict[str, dict]) -> None:
    COUNTS["records_compared"] += len(expected["responses"])
    COUNTS["answer_rows_compared"] += len(expected["response_answers"])
    COUNTS["embedded_rows_compared"] += len(expected["response_embedded_data"])


@pytest.mark.parametrize("variant", sorted(FAILING))
def test_unreadable_exports_fail_loudly_and_lose_nothing(account: Account, variant: str) -> None:
    """A failed survey emitted a prefix of its export (with every row of those responses, and never a
    row without its response), keeps its bookmark and is named in the run's failure; a clean run from
    the last STATE then completes exactly what a clean run emits, for every stream."""
    mode, sentence = FAILING[variant]
    index = _late_index(account.seed) if variant.endswith("_late") else 0
    reference = account.reference()
    bad = account.corrupted_run(mode, index, WITH_ANSWERS)
    clean = run_tap(account.config, state=bad.states[-1], catalog=_catalog(WITH_ANSWERS))
    COUNTS["runs"] += 1

    assert bad.error is None, bad.error_text[-2000:]
    assert not bad.ok  # the CLI exits non-zero exactly when the run has failures
    assert set(bad.failed_surveys) >= set(account.order)  # every survey with responses failed
    COUNTS["surveys_failed"] += len(account.order)
    assert sentence in bad.failure_summary and "keep their bookmarks" in bad.failure_summary
    for survey_id in account.order:
        assert survey_id in bad.failure_summary

    emitted = _keyed(bad, "responses")
    bookmarks = response_bookmarks(bad.states[-1])
    for survey_id, response_ids in account.order.items():
        mine = [r["response_id"] for r in bad.records("responses") if r["survey_id"] == survey_id]
        # what the failed survey emitted is a prefix of its export: nothing before the damage skipped
        assert mine == response_ids[: len(mine)], (survey_id, mine, response_ids)
        if mode == "missing_metadata":  # exactly the responses before the damaged one
            assert len(mine) == min(index, len(response_ids) - 1)
        COUNTS["surveys_failed_midway"] += bool(mine)
        dates = [emitted[(survey_id, rid)]["last_modified_date"] for rid in mine]
        assert bookmarks.get(survey_id) == (max(dates) if dates else None)
    for key, record in emitted.items():  # whatever was emitted before the damage is exactly right
        assert record == reference["responses"][key]
    for stream in ("response_answers", "response_embedded_data"):
        rows = _keyed(bad, stream)
        orphans = {(r["survey_id"], r["response_id"]) for r in rows.values()} - set(emitted)
        assert not orphans, f"{stream} rows of responses that were not emitted: {orphans}"
        # every row of every emitted response, and only those, exactly as a clean run has them
        assert rows == _of(reference[stream], set(emitted)), stream

    assert clean.ok, clean.failure_summary
    for stream in WITH_ANSWERS:  # the union of both runs, upserted, is what a clean run emits
        assert {**_keyed(bad, stream), **_keyed(clean, stream)} == reference[stream], stream
    _count_compared(reference)


@pytest.mark.parametrize("mode", sorted(NORMALISED))
def test_odd_values_are_emitted_valid_and_normalised(account: Account, mode: str) -> None:
    """Every record and row validates against its stream's schema; the damaged value comes out as
    documented (NUL removed, non-UTF-8 bytes as U+FFFD); everything else is exactly a clean run's."""
    index = account.seed % 4  # which response of each export carries the odd value
    reference = account.reference()
    outcome = account.corrupted_run(mode, index, WITH_ANSWERS)

    assert outcome.ok, outcome.failure_summary or outcome.error_text[-2000:]
    changed = {
        (survey_id, ids[min(index, len(ids) - 1)]) for survey_id, ids in account.order.items()
    }
    COUNTS["responses_normalised"] += len(changed)
    key, expected_value = NORMALISED[mode]
    records = _keyed(outcome, "responses")
    assert set(records) == set(account.truth)
    expected_records = {}
    for response_key, record in reference["responses"].items():
        expected_records[response_key] = (
            {**record, "values": {**record["values"], key: expected_value}}
            if response_key in changed
            else record
        )
    assert records == expected_records

    answers = _keyed(outcome, "response_answers")
    assert (
        answers == reference["response_answers"]
    )  # the odd key is not a question's: no answer row
    embedded = _keyed(outcome, "response_embedded_data")
    expected_embedded = dict(reference["response_embedded_data"])
    for survey_id, response_id in changed:
        expected_embedded[(survey_id, response_id, key)] = {
            "survey_id": survey_id,
            "response_id": response_id,
            "field": key,
            "value": EMBEDDED_VALUE[mode],
            "last_modified_date": records[(survey_id, response_id)]["last_modified_date"],
        }
    assert embedded == expected_embedded

    for stream in WITH_ANSWERS:  # every record and row emitted fits its stream's schema
        assert SCHEMAS[stream].errors(outcome.records(stream)) == [], stream
    assert "\\u0000" not in outcome.stdout and "\x00" not in outcome.stdout
    outcome.stdout.encode("utf-8")  # every line is valid UTF-8 (no lone surrogates)
    if mode == "non_utf8":
        assert "not UTF-8; they were replaced by U+FFFD" in outcome.stderr
    if mode == "lone_surrogate":
        assert "half of a UTF-16 character pair; it was replaced by U+FFFD" in outcome.stderr
    if mode == "control_character":
        assert "raw control characters inside its text; they were kept" in outcome.stderr
    _count_compared(
        {"responses": records, "response_answers": answers, "response_embedded_data": embedded}
    )


def test_a_duration_past_64_bits_is_loaded_as_null_and_named(account: Account) -> None:
    """The typed column cannot hold it (a warehouse's bigint would refuse the whole load): NULL, the exported
    text stays in ``values``, a warning names the response; every other record is exactly a clean run's."""
    index = account.seed % 4
    reference = account.reference()
    outcome = account.corrupted_run("huge_duration", index, ("responses",))
    assert outcome.ok, outcome.failure_summary or outcome.error_text[-2000:]
    changed = {
        (survey_id, ids[min(index, len(ids) - 1)]) for survey_id, ids in account.order.items()
    }
    records = _keyed(outcome, "responses")
    expected = {}
    for response_key, record in reference["responses"].items():
        expected[response_key] = record
        if response_key in changed:
            expected[response_key] = {
                **record,
                "duration": None,
                "values": {**record["values"], "duration": "99999999999999999999"},
            }
            assert (
                f"Response {response_key[1]} of {response_key[0]}: duration does not fit"
                in outcome.stderr
            )
    assert records == expected
    assert SCHEMAS["responses"].errors(outcome.records("responses")) == []


def test_failed_survey_makes_the_process_exit_non_zero_naming_it(tmp_path: Path) -> None:
    """The real CLI: rows of the responses read before the damage, then exit 1 naming the survey."""
    with sandbox(seed=398, surveys=2, responses=6) as handle:
        handle.set_faults({"corrupt_export": "missing_metadata", "corrupt_export_index": 2})
        workdir = tmp_path / "run"
        workdir.mkdir()
        run = run_tap_process(
            config_for(handle, oauth=False), workdir, catalog=_catalog(WITH_ANSWERS)
        )
        surveys = sorted({sid for sid, _ in truth_responses(handle.truth())})
    assert run.returncode == 1, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if "keep their bookmarks" in line]
    assert len(errors) == 1 and all(survey_id in errors[0] for survey_id in surveys)
    emitted = {(r["survey_id"], r["response_id"]) for r in run.records("responses")}
    assert len(emitted) == 2 * len(surveys)
    rows = {(r["survey_id"], r["response_id"]) for r in run.records("response_answers")}
    assert rows and rows <= emitted
    assert list(workdir.iterdir()) == []


def test_schema_check_sees_every_kind_of_bad_row() -> None:
    """The shape-deduplicating check used above misses nothing jsonschema (plus date-time) finds."""
    check = SCHEMAS["response_embedded_data"]
    good = {
        "survey_id": "SV_1",
        "response_id": "R_1",
        "field": "f",
        "value": "v",
        "last_modified_date": "2024-01-02T03:04:05.123000Z",
    }
    assert check.errors([good, {**good, "value": None}]) == []
    for bad in (
        {**good, "value": 3},
        {**good, "extra": "x"},
        {k: v for k, v in good.items() if k != "field"},
        {**good, "last_modified_date": "yesterday"},
        {**good, "last_modified_date": "2024-01-02T03:04:05"},  # no time zone
    ):
        assert check.errors([good, bad]) != [], bad


def test_corrupt_export_knob_is_validated_and_resettable() -> None:
    with sandbox(seed=399, surveys=1, responses=2) as handle:
        with pytest.raises(ValueError, match="corrupt_export must be null or one of"):
            handle.set_faults({"corrupt_export": "gremlins"})
        with pytest.raises(ValueError, match="corrupt_export_index must be an integer >= 0"):
            handle.set_faults({"corrupt_export": "nul_text", "corrupt_export_index": -1})
        applied = handle.set_faults({"corrupt_export": "bad_zip", "corrupt_export_index": 3})
        assert (applied["corrupt_export"], applied["corrupt_export_index"]) == ("bad_zip", 3)
        reset = handle.set_faults({})
        assert (reset["corrupt_export"], reset["corrupt_export_index"]) == (None, 0)


@pytest.mark.parametrize(("index", "changed"), [(0, "R_a"), (1, "R_b"), (2, "R_c"), (9, "R_c")])
def test_corrupt_export_index_picks_the_response(index: int, changed: str) -> None:
    lines = [{"responseId": rid, "values": {"_recordId": rid}} for rid in ("R_a", "R_b", "R_c")]
    member = b"\n".join([b"{}", *(json.dumps(line).encode() for line in lines), b""])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("export.json", member)
    assert target_response_id(archive.getvalue(), index) == changed
    with zipfile.ZipFile(io.BytesIO(corrupt(archive.getvalue(), "nul_text", index))) as zipped:
        served = [json.loads(line) for line in zipped.read("export.json").split(b"\n")[1:-1]]
    assert [r["responseId"] for r in served if "QID_nul" in r["values"]] == [changed]


def test_bad_export_counts_are_meaningful() -> None:
    """Runs last in this module: the suite damaged files over every seed and compared records."""
    if COUNTS["runs"] == 0:
        pytest.skip("run together with the bad-export tests")
    print(f"\nbad-export suite: {COUNTS}")
    assert COUNTS["seeds"] == len(SEEDS)
    assert COUNTS["surveys_failed_midway"] >= len(SEEDS)  # the _late variant read some first
    assert COUNTS["corrupt_files_served"] >= COUNTS["surveys_failed"]
    assert COUNTS["responses_normalised"] >= len(SEEDS) * len(NORMALISED)
    assert COUNTS["answer_rows_compared"] > COUNTS["records_compared"] > 0
    assert COUNTS["embedded_rows_compared"] > 0
