"""The long rows lose nothing: every response's ``values`` and ``labels`` are rebuilt exactly from its
``response_answers`` and ``response_embedded_data`` rows (docs/answer-model.md, "Rebuilding a response")."""

from __future__ import annotations

from typing import Any

from tap_qualtrics.model.answers import (
    KIND_DISPLAY_ORDER,
    KIND_METADATA,
    KIND_TEXT_ENTRY,
    ColumnMap,
)


def rebuild(
    answers: list[dict], embedded: list[dict], column_map: ColumnMap
) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """(values without metadata, labels without metadata, seen-but-unanswered keys) from the rows."""
    values: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    orders: dict[str, list[tuple[int, str, Any]]] = {}
    unanswered: set[str] = set()
    for row in answers:
        key = row["column"]
        if row["is_seen_unanswered"]:
            unanswered.add(key)
            continue
        column = column_map.column(key)
        if column.kind == KIND_DISPLAY_ORDER:
            item = row["sub_question_id"] if row["choice_id"] is None else row["choice_id"]
            orders.setdefault(key, []).append((row["value_number"], item, row["label"]))
            continue
        if column.kind == KIND_TEXT_ENTRY:
            value = row["text"]
        elif column.is_multi_valued:
            value = row["value"]
        else:
            value = row["value_number"] if row["value_number"] is not None else row["value"]
        if column.is_multi_valued:
            values.setdefault(key, []).append(value)
            labels.setdefault(key, []).append(row["label"])
        else:
            values[key] = value
            if row["label"] is not None:
                labels[key] = row["label"]
    for key, items in orders.items():
        items.sort()
        assert [position for position, _, _ in items] == list(range(1, len(items) + 1))
        values[key] = [item for _, item, _ in items]
        labels[key] = [label for _, _, label in items]
    for row in embedded:
        values[row["field"]] = row["value"]
    return values, labels, unanswered


def test_values_and_labels_round_trip(
    surveys: list[Any], column_maps: dict, rendered: dict
) -> None:
    keys = 0
    for survey in surveys:
        column_map = column_maps[survey.id]
        for response in rendered[survey.id]:
            values, labels = response["values"], response["labels"]
            answers, embedded = column_map.decompose(
                response["responseId"], values, labels, response["displayedFields"]
            )
            got_values, got_labels, unanswered = rebuild(answers, embedded, column_map)
            non_metadata = {
                k: v for k, v in values.items() if column_map.column(k).kind != KIND_METADATA
            }
            assert got_values == non_metadata
            assert got_labels == {k: v for k, v in labels.items() if k in non_metadata}
            assert unanswered == set(response["displayedFields"]) - set(values)
            keys += len(non_metadata)
    assert keys > 5000


def test_value_types_survive(surveys: list[Any], column_maps: dict, rendered: dict) -> None:
    """Numbers come back as the same numbers (ints stay ints, timings stay floats), text stays text."""
    survey = surveys[0]
    column_map = column_maps[survey.id]
    kinds_seen = set()
    for response in rendered[survey.id]:
        answers, embedded = column_map.decompose(
            response["responseId"], response["values"], response["labels"]
        )
        got, _, _ = rebuild(answers, embedded, column_map)
        for key, value in got.items():
            original = response["values"][key]
            assert type(value) is type(original), key
            kinds_seen.add(type(value).__name__)
    assert kinds_seen == {"int", "float", "str", "list"}
