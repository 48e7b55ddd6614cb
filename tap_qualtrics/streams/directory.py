"""XM Directory: ``directories``, ``contacts``, ``mailing_lists`` and ``mailing_list_contacts``.

Every stream but ``directories`` is partitioned by directory: the ``directory_ids`` setting, or every
directory ``GET /directories`` lists (with a ``shard``, the directories that belong to it). With
``directory_ids`` set the directory list is never read, so ``read:directories`` is not needed.

``contacts`` is incremental on ``last_modified``. The contact list (``GET .../contacts``) has no dates
and no filter, so contacts come from contact search (``POST .../contacts/search``), filtered to the
window ``[bookmark, run start - export_safety_lag_seconds)``. Search cannot page past 10,000 results:
a window that has more is split in two by time, until every part fits (a first sync of a big
directory becomes several windows). Each window is sorted before it is emitted and the bookmark
moves to the window's end, so an interrupted run resumes at the last finished window.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §19, §22.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlparse

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.errors import QualtricsAPIError
from tap_qualtrics.model.timestamps import UTC, format_timestamp, parse_timestamp
from tap_qualtrics.schema_files import SCHEMAS
from tap_qualtrics.streams.account import AccountStream, ListStream, PartitionedStream, record_from
from tap_qualtrics.streams.windowed import WindowedStream

#: Qualtrics refuses to page contact search beyond this many results (HTTP 400).
SEARCH_DEPTH_LIMIT = 10_000
#: Lower edge used to halve an open-ended first window (no XM Directory contact is older).
WINDOW_FLOOR = datetime.datetime(2000, 1, 1, tzinfo=UTC)
MAILING_LIST_CONTACTS_MAX_PAGE_SIZE = 50


def selected_directory_ids(stream: AccountStream) -> list[str]:
    """``directory_ids`` as given, or every directory the credentials can list; with a ``shard``, those
    of them that belong to it."""
    settings = stream.run.settings
    ids = settings.directory_ids
    if ids is None:
        listed = stream.list_elements(stream.paged_path("/directories"))
        ids = tuple(
            dict.fromkeys(
                str(e["directoryId"])
                for e in listed
                if isinstance(e, Mapping) and e.get("directoryId")
            )
        )
    shard = settings.shard
    return [directory_id for directory_id in ids if shard is None or shard.owns(directory_id)]


def directory_list_scopes(stream: AccountStream) -> tuple[str, ...]:
    """``read:directories`` unless ``directory_ids`` spares listing the directories."""
    return () if stream.run.settings.directory_ids is not None else ("read:directories",)


class DirectoryPartitioned(PartitionedStream):
    """One partition per selected directory (listed once per stream and run)."""

    partition_key = "directory_id"
    partition_source = "the directory list"

    @override
    def partition_ids(self) -> list[str]:
        return selected_directory_ids(self)


class DirectoriesStream(ListStream):
    """The XM directories (``POOL_...``) the credentials see, filtered by ``directory_ids``."""

    name = "directories"
    read_in_full = True
    account_wide = True
    path = "/directories"
    primary_keys = ("directory_id",)
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = ("read:directories",)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        configured = self.run.settings.directory_ids
        if configured is not None and row.get("directoryId") not in configured:
            return None
        return record_from(row, self.schema["properties"], {"directoryId": "directory_id"})


class ContactsStream(WindowedStream, DirectoryPartitioned):
    """Directory contacts with their dates and embedded data, incremental per directory."""

    name = "contacts"
    primary_keys = ("directory_id", "contact_id")
    replication_key = "last_modified"
    schema = StreamSchema(SCHEMAS)

    @property
    def required_scopes(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("read:directory_contacts", *directory_list_scopes(self))

    @override
    def window_records(self, context: Context, start: str | None, end: str) -> Iterator[Record]:
        directory_id = context["directory_id"]
        pending = [(start, end)]
        while pending:
            low, high = pending.pop()
            records = self._search_window(directory_id, low, high)
            if records is None:
                middle = _midpoint(low, high)
                if middle is None:
                    msg = (
                        f"more contacts were modified within one millisecond ({low}) than contact "
                        f"search can page through (Qualtrics stops at {SEARCH_DEPTH_LIMIT:,}); the "
                        "directory keeps its bookmark and is retried next run."
                    )
                    raise QualtricsAPIError(msg)
                self.logger.info(
                    "Directory %s: too many contacts modified in [%s, %s) for one search; split at %s",
                    directory_id,
                    low or "the beginning",
                    high,
                    middle,
                )
                pending.extend([(middle, high), (low, middle)])
                continue
            records.sort(key=lambda r: (r["last_modified"] or "", r["contact_id"]))
            yield from records
            self.finish_window(context, high)

    def _search_window(self, directory_id: str, low: str | None, high: str) -> list[Record] | None:
        """The contacts modified in ``[low, high)``, or ``None`` if search cannot page through them."""
        body = {"filter": _window_filter(low, high)}
        query = urlencode({"pageSize": self.page_size, "includeEmbedded": "true"})
        url: str | None = f"{self.url_base}/directories/{directory_id}/contacts/search?{query}"
        properties = self.schema["properties"]
        records: dict[str, Record] = {}
        received = 0
        seen_urls: set[str] = set()
        while url:
            if url in seen_urls:
                msg = f"Qualtrics returned a contact-search link that loops back ({directory_id})."
                raise QualtricsAPIError(msg)
            seen_urls.add(url)
            prepared = self.build_prepared_request(
                method="POST", url=url, headers=self.http_headers, json=body
            )
            try:
                response = self.request_decorator(self._send)(prepared)
            except QualtricsAPIError as error:
                if (
                    received and error.status == HTTPStatus.BAD_REQUEST
                ):  # paging past the search depth
                    return None
                raise
            result = response.json().get("result") or {}
            elements = result.get("elements") or []
            received += len(elements)
            for element in elements:
                record = contact_record(element, directory_id, properties)
                modified = record["last_modified"]
                if record["contact_id"] and _within(modified, low, high):
                    records[record["contact_id"]] = record
            url = self._next_search_url(result, url)
            if url and received >= SEARCH_DEPTH_LIMIT:
                return None
        return list(records.values())

    def _next_search_url(self, result: Mapping[str, Any], current: str) -> str | None:
        next_page = result.get("nextPage")
        if next_page:
            return self._on_configured_host(urlparse(str(next_page)))
        token = result.get("skipToken")
        if not token:
            return None
        parts = urlparse(current)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = [(k, v) for k, v in pairs if k != "skipToken"] + [("skipToken", str(token))]
        return parts._replace(query=urlencode(query)).geturl()


def contact_record(
    element: Mapping[str, Any], directory_id: str, properties: Mapping[str, Any]
) -> Record:
    """One ``contacts`` record from a contact-search element (``id``) or a list element (``contactId``)."""
    record = record_from(
        element,
        properties,
        {
            "id": "contact_id",
            "contactId": "contact_id",
            "lastModifiedDate": "last_modified",
            "unsubscribed": "directory_unsubscribed",
        },
        directory_id=directory_id,
    )
    if element.get("directoryUnsubscribed") is not None:
        record["directory_unsubscribed"] = bool(element["directoryUnsubscribed"])
    return record


def _window_filter(low: str | None, high: str) -> dict[str, Any]:
    upper = {"filterType": "lastModified", "comparison": "lt", "value": _filter_time(high)}
    if low is None:
        return upper
    lower = {"filterType": "lastModified", "comparison": "gte", "value": _filter_time(low)}
    return {"conjunction": "and", "filters": [lower, upper]}


def _filter_time(timestamp: str) -> str:
    """``2024-01-02T03:04:05.123Z``: milliseconds, as Qualtrics keeps contact times (floored)."""
    moment = parse_timestamp(timestamp)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _within(modified: str | None, low: str | None, high: str) -> bool:
    if modified is None:  # undated (never seen from Qualtrics): once, in a first run's first window
        return low is None
    return (low is None or modified >= low) and modified < high


def _midpoint(low: str | None, high: str) -> str | None:
    """The millisecond halfway through ``[low, high)``, or ``None`` if the window cannot be split."""
    start = parse_timestamp(low) if low else WINDOW_FLOOR
    end = parse_timestamp(high)
    middle = start + (end - start) / 2
    middle = middle.replace(microsecond=middle.microsecond // 1000 * 1000)
    if middle <= start or middle >= end:
        return None
    return format_timestamp(middle)


class MailingListsStream(DirectoryPartitioned, ListStream):
    """Mailing lists (``CG_...``) of each selected directory; full table."""

    name = "mailing_lists"
    read_in_full = True
    path = "/directories/{directory_id}/mailinglists"
    primary_keys = ("directory_id", "mailing_list_id")
    schema = StreamSchema(SCHEMAS)

    @property
    def required_scopes(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("read:mailing_lists", *directory_list_scopes(self))

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context:
            return
        yield from super().get_records(context)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return record_from(
            row,
            self.schema["properties"],
            {"mailingListId": "mailing_list_id"},
            directory_id=(context or {})["directory_id"],
        )

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {
            "directory_id": record["directory_id"],
            "mailing_list_id": record["mailing_list_id"],
        }


class MailingListContactsStream(ListStream):
    """Members of each mailing list, with their list-level unsubscribe state; full table."""

    name = "mailing_list_contacts"
    read_in_full = True
    path = "/directories/{directory_id}/mailinglists/{mailing_list_id}/contacts"
    primary_keys = ("mailing_list_id", "contact_id")
    schema = StreamSchema(SCHEMAS)
    parent_stream_type = MailingListsStream
    max_page_size: ClassVar[int] = MAILING_LIST_CONTACTS_MAX_PAGE_SIZE
    # One state entry for the stream, not one per mailing list: this stream has no bookmark.
    state_partitioning_keys: ClassVar[list[str]] = []

    @property
    def required_scopes(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("read:mailing_list_contacts", "read:mailing_lists", *directory_list_scopes(self))

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: Any | None
    ) -> dict[str, Any]:
        return {**super().get_url_params(context, next_page_token), "includeEmbedded": "true"}

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        context = context or {}
        record = record_from(
            row,
            self.schema["properties"],
            {
                "mailingListUnsubscribeDate": "unsubscribe_date",
                "unsubscribeDate": "unsubscribe_date",
            },
            directory_id=context["directory_id"],
            mailing_list_id=context["mailing_list_id"],
        )
        if row.get("mailingListUnsubscribed") is not None:  # the list's own flag, where given
            record["unsubscribed"] = bool(row["mailingListUnsubscribed"])
        return record
