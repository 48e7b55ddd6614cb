"""``groups`` and ``divisions``: the brand's organisation, for auditing who owns and shares what.

Both are small full-table lists that need brand-administrator rights (``read:groups``,
``read:divisions``); without them the stream fails with one sentence and the run goes on.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §21, §22.
"""

from __future__ import annotations

from typing import ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.account import ListStream, record_from


class GroupsStream(ListStream):
    """User groups (``GR_...``) of the brand."""

    name = "groups"
    read_in_full = True
    account_wide = True
    path = "/groups"
    primary_keys = ("group_id",)
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = ("read:groups",)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return record_from(row, self.schema["properties"], {"id": "group_id", "type": "group_type"})


class DivisionsStream(ListStream):
    """Divisions (``DV_...``) of the brand."""

    name = "divisions"
    read_in_full = True
    account_wide = True
    path = "/divisions"
    primary_keys = ("division_id",)
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = ("read:divisions",)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return record_from(row, self.schema["properties"], {"id": "division_id"})
