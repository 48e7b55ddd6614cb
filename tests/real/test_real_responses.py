"""Real JSON export responses (values, labels, displayedFields, displayedValues) through the answer model.

No definition of these surveys is public, so the map has only the metadata and embedded-data rules and
the key rules: every key must still land somewhere (an answer row, an embedded-data row, or a metadata
column of ``responses``), with the structure its shape says.
"""

from __future__ import annotations

import pytest
from support.real_keys import load

from tap_qualtrics.model.answers import (
    KIND_ANSWER,
    KIND_DISPLAY_ORDER,
    KIND_METADATA,
    KIND_NPS_GROUP,
    KIND_TEXT_ENTRY,
    build_column_map,
)
from tap_qualtrics.model.response_records import response_record


def _rows(name: str) -> list[tuple[dict, list[dict], list[dict]]]:
    out = []
    for response in load(name, "responses.json"):
        column_map = build_column_map("SV_real", None, None)
        answers, embedded = column_map.decompose(
            response["responseId"],
            response["values"],
            response.get("labels"),
            response.get("displayedFields"),
        )
        out.append((response, answers, embedded))
    return out


@pytest.mark.parametrize("name", ["sx_response", "poprox", "rita_asi"])
def test_no_key_of_a_real_response_is_dropped(name: str) -> None:
    for response, answers, embedded in _rows(name):
        column_map = build_column_map("SV_real", None, None)
        landed = {row["column"] for row in answers} | {row["field"] for row in embedded}
        for key, value in response["values"].items():
            if column_map.column(key).kind == KIND_METADATA:
                continue
            assert key in landed or value in (None, [], ""), key


def _by_column(answers: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in answers:
        out.setdefault(row["column"], []).append(
            (
                row["kind"],
                row["question_id"],
                row["sub_question_id"],
                row["choice_id"],
                row["value"],
                row["label"],
            )
        )
    return out


def test_pick_group_rank_of_a_real_response() -> None:
    """The items put in group 0 are a list of choice IDs (strings); each item's rank is a number."""
    ((_, answers, _),) = _rows("rita_asi")
    rows = _by_column(answers)
    assert rows["QID64_0_GROUP"] == [
        (KIND_ANSWER, "QID64", "0", None, "14", "RD"),
        (KIND_ANSWER, "QID64", "0", None, "16", "RE"),
        (KIND_ANSWER, "QID64", "0", None, "13", "RA"),
        (KIND_ANSWER, "QID64", "0", None, "15", "RB"),
        (KIND_ANSWER, "QID64", "0", None, "18", "RC"),
    ]
    assert rows["QID64_G0_13_RANK"] == [(KIND_ANSWER, "QID64", "0", "13", "3", None)]
    assert rows["QID67_7"] == [(KIND_ANSWER, "QID67", None, "7", "4", "Fairly confident  4")]
    # shown but not answered: a rank key of displayedFields without a value
    assert rows["QID64_G0_2_RANK"] == [(KIND_ANSWER, "QID64", "0", "2", None, None)]


def test_other_text_nps_and_text_entry_of_a_real_response() -> None:
    ((_, answers, embedded),) = _rows("poprox")
    rows = _by_column(answers)
    assert rows["QID1718062218_4_TEXT"] == [
        (KIND_TEXT_ENTRY, "QID1718062218", None, "4", "text 3", None)
    ]
    assert rows["QID1718062228_NPS_GROUP"] == [
        (KIND_NPS_GROUP, "QID1718062228", None, None, "2", "Passive")
    ]
    assert rows["QID1718062228"] == [(KIND_ANSWER, "QID1718062228", None, None, "8", None)]
    assert rows["QID1718062213_TEXT"] == [
        (KIND_TEXT_ENTRY, "QID1718062213", None, None, "text 1", None)
    ]
    assert [(row["field"], row["value"]) for row in embedded] == [("survey_id", "embedded 1")]


def test_display_orders_and_file_uploads_of_a_real_response() -> None:
    ((_, answers, _),) = _rows("sx_response")
    rows = _by_column(answers)
    assert rows["QID968_DO"] == [
        (KIND_DISPLAY_ORDER, "QID968", None, "28", "1", "Yes"),
        (KIND_DISPLAY_ORDER, "QID968", None, "29", "2", "No"),
    ]
    assert rows["QID975_DO"][0][:4] == (
        KIND_DISPLAY_ORDER,
        "QID975",
        None,
        "1",
    )  # shown, not answered
    assert rows["QID857_FILE_SIZE"] == [(KIND_ANSWER, "QID857", None, None, "6637", None)]
    assert rows["QID857_FILE_TYPE"] == [(KIND_ANSWER, "QID857", None, None, "image/png", None)]


@pytest.mark.parametrize("name", ["sx_response", "poprox", "rita_asi"])
def test_real_metadata_fills_the_typed_columns(name: str) -> None:
    """``externalDataReference`` (not ``externalReference``) and a response without ``_recordId`` (2019)."""
    for response in load(name, "responses.json"):
        record = response_record("SV_real", response)
        assert record is not None and record["response_id"] == response["responseId"]
        values = response["values"]
        assert record["duration"] == values["duration"] and record["progress"] == values["progress"]
        if "externalDataReference" in values:
            assert record["external_reference"] == values["externalDataReference"]
