"""Schemas that PostgreSQL (target-postgres) takes: short names, keys that are never null, stable types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tap_qualtrics.tap import TapQualtrics

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
NEW_STREAMS = (
    "question_choices",
    "sub_questions",
    "blocks",
    "export_columns",
    "response_answers",
    "response_embedded_data",
)
POSTGRES_IDENTIFIER_BYTES = 63


def _names(schema: dict[str, Any]) -> list[str]:
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        out.append(name)
        if isinstance(prop, dict) and prop.get("properties"):
            out.extend(_names(prop))
    return out


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.stem)
def test_every_name_fits_a_postgres_identifier(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert len(path.stem.encode()) <= POSTGRES_IDENTIFIER_BYTES
    too_long = [n for n in _names(schema) if len(n.encode()) > POSTGRES_IDENTIFIER_BYTES]
    assert not too_long


@pytest.fixture(scope="module")
def streams() -> dict[str, Any]:
    return TapQualtrics(config={}, validate_config=False).streams


@pytest.mark.parametrize("name", NEW_STREAMS)
def test_new_streams_load_cleanly(name: str, streams: dict[str, Any]) -> None:
    stream = streams[name]
    properties = stream.schema["properties"]
    assert stream.primary_keys, "target-postgres upserts only streams with key properties"
    for key in stream.primary_keys:
        assert properties[key]["type"] == "string", f"{key}: keys are never null"
    assert sorted(stream.schema["required"]) == sorted(stream.primary_keys)
    assert stream.schema["additionalProperties"] is False
    for prop_name, prop in properties.items():
        types = [prop["type"]] if isinstance(prop["type"], str) else prop["type"]
        assert len(set(types) - {"null"}) == 1, (
            f"{prop_name}: one type, so the column type never changes"
        )
        if "array" in types:
            assert prop["items"] == {"type": "string"}, f"{prop_name}: text[]"
    if name == "response_answers":
        assert properties["value"]["type"] == ["string", "null"]
        assert properties["value_number"]["type"] == ["number", "null"]
