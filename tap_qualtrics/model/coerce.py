"""Lenient conversions for Qualtrics values, which mix real JSON types with their string spellings.

A value that cannot be read becomes ``None`` rather than failing the sync or breaking the schema.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def to_int(value: Any) -> int | None:
    """``12``, ``"12"``, ``12.0`` -> 12; anything else, or past a 64-bit integer (no warehouse integer
    column holds it) -> ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else None
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number) if INT64_MIN <= number <= INT64_MAX else None


def to_bool(value: Any) -> bool | None:
    """``true``/``"true"``/``1``/``"1"`` -> True and their opposites -> False; else ``None``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
    return None


def to_number(value: Any) -> decimal.Decimal | int | float | None:
    """A JSON number, or a numeric string (kept exact as ``Decimal``); else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_text(value: Any) -> str | None:
    """Strings stay; numbers become their text; empty strings become ``None``."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if text != "" else None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """Objects pass; anything else (``None``, the empty list Qualtrics sends for an empty object) reads as
    an empty object."""
    return value if isinstance(value, Mapping) else {}


def response_counts(legacy: Mapping[str, Any]) -> list[int | None]:
    """[auditable, generated, deleted] from a legacy survey's (``GET /surveys/{id}``) ``responseCounts``."""
    counts = legacy.get("responseCounts")
    counts = counts if isinstance(counts, Mapping) else {}
    return [to_int(counts.get(key)) for key in ("auditable", "generated", "deleted")]


def exported_response_count(counts: Sequence[int | None]) -> int:
    """How many responses an unfiltered export of the survey holds, from ``[auditable, generated, deleted]``:
    ``auditable + generated - deleted`` (docs/qualtrics-api.md §25: ``generated`` counts the test and preview
    responses, which the export holds too, and a deletion raises ``deleted`` without lowering the other two).
    A missing count reads as 0; never below 0."""
    auditable, generated, deleted = (value or 0 for value in counts)
    return max(0, auditable + generated - deleted)
