"""``distributions`` and ``distribution_contacts``: how each selected survey was sent, and to whom.

Both are partitioned by survey: the surveys ``survey_ids`` selects from the live survey list (as for
``responses``), because ``GET /distributions`` requires a ``surveyId``.

- ``distributions`` is incremental per survey on ``modified_date``. The list has no modified-date
  filter (only send dates), so each run lists a survey's distributions (a few per survey) and emits
  those modified in ``[bookmark, run start - export_safety_lag_seconds)``, sorted; the bookmark then
  moves to the window end.
- ``distribution_contacts`` (``GET /distributions/{id}/history``) is re-read in full on every run:
  opens, starts and completions change without the distribution's ``modified_date`` changing.

``GET /distributions/{id}/links`` is never called: it updates the contacts' contact-frequency state.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §20, §22.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.account import PartitionedStream, record_from
from tap_qualtrics.streams.windowed import WindowedStream


class SurveyPartitioned(PartitionedStream):
    """One partition per selected survey (the survey list is read once per stream and run)."""

    required_scopes: ClassVar[tuple[str, ...]] = ("read:surveys", "read:distributions")
    partition_key = "survey_id"
    partition_source = "the survey list"

    @override
    def partition_ids(self) -> list[str]:
        return list(self.selected_surveys())

    def distributions_of(self, survey_id: str) -> Iterator[Mapping[str, Any]]:
        """Every distribution of a survey (``GET /distributions?surveyId=``, paged)."""
        for element in self.list_elements(self.paged_path("/distributions", surveyId=survey_id)):
            if isinstance(element, Mapping) and element.get("id"):
                yield element


class DistributionsStream(WindowedStream, SurveyPartitioned):
    """Email distributions of each selected survey, stats and headers as objects; incremental."""

    name = "distributions"
    primary_keys = ("distribution_id",)
    replication_key = "modified_date"
    schema = StreamSchema(SCHEMAS)

    @override
    def window_records(self, context: Context, start: str | None, end: str) -> Iterator[Record]:
        survey_id = context["survey_id"]
        properties = self.schema["properties"]
        records = []
        for element in self.distributions_of(survey_id):
            record = distribution_record(element, survey_id, properties)
            modified = record["modified_date"]
            if modified is None or ((start is None or modified >= start) and modified < end):
                records.append(record)
        records.sort(key=lambda r: (r["modified_date"] or "", r["distribution_id"]))
        yield from records
        self.finish_window(context, end)


def distribution_record(
    element: Mapping[str, Any], survey_id: str, properties: Mapping[str, Any]
) -> Record:
    """One ``distributions`` record; the recipients' mailing list is also a column (for joins)."""
    recipients = element.get("recipients")
    mailing_list_id = recipients.get("mailingListId") if isinstance(recipients, Mapping) else None
    return record_from(
        element,
        properties,
        {"id": "distribution_id"},
        survey_id=survey_id,
        mailing_list_id=mailing_list_id or None,
    )


class DistributionContactsStream(SurveyPartitioned):
    """Per-recipient history of every distribution of the selected surveys; full table each run."""

    name = "distribution_contacts"
    read_in_full = True
    primary_keys = ("distribution_id", "contact_id", "contact_lookup_id")
    schema = StreamSchema(SCHEMAS)
    # One state entry for the stream, not one per survey: this stream has no bookmark.
    state_partitioning_keys: ClassVar[list[str]] = []

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context:
            return
        survey_id = context["survey_id"]
        yield from self.guarded(self._survey_records(survey_id), context, f"for survey {survey_id}")

    def _survey_records(self, survey_id: str) -> Iterator[Record]:
        properties = self.schema["properties"]
        for distribution in self.distributions_of(survey_id):
            distribution_id = str(distribution["id"])
            for row in self.list_elements(
                self.paged_path(f"/distributions/{distribution_id}/history")
            ):
                if isinstance(row, Mapping):
                    yield history_record(row, distribution_id, survey_id, properties)


def history_record(
    row: Mapping[str, Any], distribution_id: str, survey_id: str, properties: Mapping[str, Any]
) -> Record:
    """One ``distribution_contacts`` record. A missing lookup ID becomes "" (it is part of the key)."""
    record = record_from(row, properties, distribution_id=distribution_id, survey_id=survey_id)
    if record["contact_lookup_id"] is None:
        record["contact_lookup_id"] = ""
    return record
