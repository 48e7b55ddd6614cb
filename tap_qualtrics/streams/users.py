"""``users``: the brand's users (``GET /users``, paged by ``nextPage``), full table.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §18.
"""

from __future__ import annotations

from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.model.coerce import to_bool
from tap_qualtrics.model.text import snake_case
from tap_qualtrics.model.timestamps import normalize_or_none
from tap_qualtrics.schema_files import SCHEMAS

# Qualtrics key -> column, where snake-casing the key is not the column name.
RENAMED = {"id": "user_id", "userName": "username"}


class UsersStream(QualtricsStream):
    """Users of the brand; needs brand-administrator rights (``read:users``)."""

    name = "users"
    read_in_full = True
    account_wide = True
    path = "/users"
    primary_keys = ("user_id",)
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = ("read:users",)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return user_record(row, self.schema["properties"])


def user_record(element: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Columns in the schema, from a list element; dates in the tap's one form, "" as null."""
    record: dict[str, Any] = dict.fromkeys(properties)
    for key, raw in element.items():
        column = RENAMED.get(key) or snake_case(key)
        if column not in properties:
            continue
        declared = properties[column]
        value: Any = raw
        if declared.get("format") == "date-time":
            value = normalize_or_none(raw)
        elif "boolean" in declared.get("type", ()):
            value = to_bool(raw)
        elif isinstance(raw, str) and raw == "":
            value = None
        record[column] = value
    return record
