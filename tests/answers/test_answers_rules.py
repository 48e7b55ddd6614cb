"""The documented rules for what the exportColumnMap does not cover, on a small hand-written survey."""

from __future__ import annotations

from decimal import Decimal

from tap_qualtrics.model.answers import (
    KIND_ANSWER,
    KIND_DISPLAY_ORDER,
    KIND_EMBEDDED_DATA,
    KIND_METADATA,
    KIND_TEXT_ENTRY,
    KIND_UNKNOWN,
    SOURCE_DEFINITION,
    SOURCE_MAP,
    SOURCE_RULE,
    build_column_map,
)

DEFINITION = {
    "Questions": {
        "QID1": {
            "QuestionID": "QID1",
            "DataExportTag": "Q1",
            "QuestionType": "MC",
            "Selector": "SAVR",
            "Choices": {"1": {"Display": "Yes"}, "2": {"Display": "No"}},
            "ChoiceOrder": [1, 2],
            "RecodeValues": {"1": "10", "2": "20"},
        },
        "QID2": {
            "QuestionID": "QID2",
            "DataExportTag": "rating",
            "QuestionType": "Matrix",
            "Selector": "Likert",
            "SubSelector": "SingleAnswer",
            "Choices": {"1": {"Display": "Speed"}, "2": {"Display": "Price"}},
            "Answers": {"1": {"Display": "Bad"}, "2": {"Display": "OK"}, "3": {"Display": "Good"}},
        },
        "QID3": {
            "QuestionID": "QID3",
            "DataExportTag": "Q3",
            "QuestionType": "TE",
            "Selector": "SL",
        },
        "QID4": {
            "QuestionID": "QID4",
            "DataExportTag": "Q4",
            "QuestionType": "MC",
            "Selector": "MAVR",
            "Choices": {"1": {"Display": "A"}, "2": {"Display": "B"}},
        },
        "QID6": {
            "QuestionID": "QID6",
            "DataExportTag": "T1",
            "QuestionType": "Timing",
            "Selector": "PageTimer",
            "Choices": {"1": {"Display": "First Click"}, "4": {"Display": "Click Count"}},
        },
    },
    "SurveyFlow": {"Flow": [{"Type": "EmbeddedData", "EmbeddedData": [{"Field": "source"}]}]},
}
LEGACY = {
    "exportColumnMap": {
        "Q1": {"question": "QID1"},
        "Q3": {"question": "QID3"},
        "Q4_1": {"question": "QID4", "choice": "QID4.choices.1"},
        "Q4_2": {"question": "QID4", "choice": "QID4.choices.2"},
        "T1_1": {"question": "QID6", "choice": "QID6.choices.1"},
        "T1_4": {"question": "QID6", "choice": "QID6.choices.4"},
        "Q7": {"question": "QID7"},
    },
    "embeddedData": [{"name": "campaign"}],
}


def test_map_entries_and_rules_for_the_rest() -> None:
    """Columns come from the definition, export tags from the map; a question only the map knows keeps the
    map's columns."""
    column_map = build_column_map("SV_1", LEGACY, DEFINITION)
    columns = column_map.columns
    assert [c for c in columns if columns[c].source == SOURCE_DEFINITION] == [
        "QID1",
        "QID2_1",
        "QID2_2",
        "QID3_TEXT",
        "QID4",
        "QID6_FIRST_CLICK",
        "QID6_LAST_CLICK",
        "QID6_PAGE_SUBMIT",
        "QID6_CLICK_COUNT",
    ]
    assert [c for c in columns if columns[c].source == SOURCE_MAP] == ["QID7"]
    assert columns["QID4"].export_tag == "Q4_1" and columns["QID4"].is_multi_valued
    assert (columns["QID6_CLICK_COUNT"].export_tag, columns["QID6_CLICK_COUNT"].choice_id) == (
        "T1_4",
        "4",
    )
    assert columns["QID6_LAST_CLICK"].export_tag is None  # the map does not list every timing part
    assert (columns["QID3_TEXT"].kind, columns["QID3_TEXT"].export_tag) == (KIND_TEXT_ENTRY, "Q3")
    assert [c for c in columns if columns[c].kind == KIND_EMBEDDED_DATA] == ["campaign", "source"]
    assert list(columns)[-1] == "LastModifiedDate"


def test_decomposition_by_rule() -> None:
    column_map = build_column_map("SV_1", LEGACY, DEFINITION)
    values = {
        "startDate": "2024-01-01T00:00:00Z",
        "externalDataReference": "EXT-1",
        "QID1": 20,
        "QID1_DO": ["2", "1"],
        "QID2_1": 3,
        "QID3_TEXT": "12",
        "QID4": ["1", "2"],
        "QID9_7_TEXT": "free text",
        "QID5": None,
        "Q_TotalDuration": 33,
        "flag": True,
        "score": Decimal("1.50"),
        "campaign": "",
    }
    labels = {"QID1": "No", "QID1_DO": ["No", "Yes"], "QID2_1": "Good", "QID4": ["A", "B"]}
    answers, embedded = column_map.decompose(
        "R_1", values, labels, ["QID1", "QID2_1", "QID2_2", "QID4"]
    )
    slim = [
        (
            r["column"],
            r["kind"],
            r["question_id"],
            r["sub_question_id"],
            r["choice_id"],
            r["value"],
            r["value_number"],
            r["label"],
            r["text"],
            r["is_seen_unanswered"],
        )
        for r in answers
    ]
    assert slim == [
        ("QID1", KIND_ANSWER, "QID1", None, "2", "20", 20, "No", None, False),
        ("QID1_DO", KIND_DISPLAY_ORDER, "QID1", None, "2", "1", 1, "No", None, False),
        ("QID1_DO", KIND_DISPLAY_ORDER, "QID1", None, "1", "2", 2, "Yes", None, False),
        ("QID2_1", KIND_ANSWER, "QID2", "1", "3", "3", 3, "Good", None, False),
        ("QID3_TEXT", KIND_TEXT_ENTRY, "QID3", None, None, "12", None, None, "12", False),
        ("QID4", KIND_ANSWER, "QID4", None, "1", "1", 1, "A", None, False),
        ("QID4", KIND_ANSWER, "QID4", None, "2", "2", 2, "B", None, False),
        # QID9 is not a question of the survey: the value is kept raw, nothing is guessed
        ("QID9_7_TEXT", KIND_UNKNOWN, "QID9", None, None, "free text", None, None, None, False),
        ("QID2_2", KIND_ANSWER, "QID2", "2", None, None, None, None, None, True),
    ]
    assert [(r["field"], r["value"]) for r in embedded] == [
        ("Q_TotalDuration", "33"),
        ("flag", "true"),
        ("score", "1.50"),
        ("campaign", ""),
    ]
    assert sorted(column_map.rule_columns) == sorted(
        ["QID1_DO", "QID9_7_TEXT", "QID5", "Q_TotalDuration", "flag", "score"]
    )
    assert column_map.column("externalDataReference").kind == KIND_METADATA
    assert column_map.column("QID1_DO").source == SOURCE_RULE


def test_no_map_no_definition() -> None:
    """Without the legacy survey or the definition every key still lands somewhere, by rule."""
    column_map = build_column_map("SV_2", None, None)
    assert [c.kind for c in column_map.columns.values()] == [KIND_METADATA] * 18
    answers, embedded = column_map.decompose(
        "R_2", {"QID1": 3, "QID2_4_TEXT": "x", "city": "Oslo"}, None, None
    )
    assert [(r["column"], r["kind"], r["choice_id"], r["value"]) for r in answers] == [
        ("QID1", KIND_ANSWER, None, "3"),
        ("QID2_4_TEXT", KIND_TEXT_ENTRY, "4", "x"),
    ]
    assert [(r["field"], r["value"]) for r in embedded] == [("city", "Oslo")]


def test_numbers() -> None:
    """value_number: JSON numbers and plain decimal text; never for text entries, never for odd spellings."""
    column_map = build_column_map("SV_3", None, None)
    values = {
        "QID1": "7",
        "QID2": "-2.5",
        "QID3": "007",
        "QID4": "1e3",
        "QID5": 4.25,
        "QID6": float("nan"),
        "QID7_TEXT": "42",
        "QID8": True,
    }
    answers, _ = column_map.decompose("R_3", values)
    assert [(r["value"], r["value_number"]) for r in answers] == [
        ("7", 7),
        ("-2.5", -2.5),
        ("007", None),
        ("1e3", None),
        ("4.25", 4.25),
        ("nan", None),
        ("42", None),
        ("true", None),
    ]
