"""What the account streams share: skipToken lists with a page size, element -> record by schema, and
one clear sentence (not a traceback) when a stream or one of its partitions cannot be synced.

The account streams (XM Directory, distributions, groups, divisions) read endpoints that need
permissions many credentials lack. A refusal fails the stream (or the one directory, mailing list or
survey), is logged once, is recorded for the run's final report (the run exits non-zero), and every
other stream and partition goes on.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.http.errors import (
    QualtricsAPIError,
    QualtricsAuthError,
    endpoint_of,
    error_reason,
    in_parentheses,
    qualtrics_error_detail,
)
from tap_qualtrics.model.coerce import to_bool, to_int
from tap_qualtrics.model.text import snake_case
from tap_qualtrics.model.timestamps import format_timestamp, normalize_or_none

#: The largest ``pageSize`` Qualtrics accepts on most skipToken lists (mailing-list contacts: 50).
MAX_PAGE_SIZE = 100

# Endpoint (path below /API/v3) -> (OAuth scope, what an API token's user must be allowed to do).
_PERMISSIONS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), scope, permission)
    for pattern, scope, permission in (
        (
            r"^/directories/[^/]+/mailinglists/[^/]+/contacts",
            "read:mailing_list_contacts",
            "read mailing-list contacts in XM Directory",
        ),
        (
            r"^/directories/[^/]+/mailinglists",
            "read:mailing_lists",
            "read mailing lists in XM Directory",
        ),
        (r"^/directories/[^/]+/contacts", "read:directory_contacts", "read XM Directory contacts"),
        (r"^/directories", "read:directories", "use XM Directory"),
        (r"^/distributions", "read:distributions", "read the surveys' distributions"),
        (r"^/groups", "read:groups", "administer groups (brand administrator)"),
        (r"^/divisions", "read:divisions", "administer divisions (brand administrator)"),
        (r"^/surveys", "read:surveys", "read the surveys"),
    )
)
_API_PATH = re.compile(r"/API/v3(/\S*)$")
_EPOCH_MS_TEXT = re.compile(r"\d{11,14}")


#: Failures that end one stream or partition, not the run (a 401 is QualtricsAuthError: it stops the run).
GUARDED_ERRORS = (QualtricsAPIError, RetriableAPIError, requests.RequestException)
T = TypeVar("T")


class PermissionRefusedError(QualtricsAPIError):
    """HTTP 403 on an account endpoint: the credentials lack a scope or permission (never retried)."""

    def __init__(self, message: str, *, scope: str | None, error_code: str | None) -> None:
        super().__init__(message, status=HTTPStatus.FORBIDDEN, error_code=error_code)
        self.scope = scope


def permission_for(url: str) -> tuple[str, str] | None:
    """``(scope, permission)`` that the endpoint at ``url`` needs, if it is one the tap knows."""
    match = _API_PATH.search(urlsplit(url).path)
    path = match.group(1) if match else urlsplit(url).path
    for pattern, scope, permission in _PERMISSIONS:
        if pattern.search(path):
            return scope, permission
    return None


def to_timestamp(value: Any) -> str | None:
    """A Qualtrics time in the tap's one form: ISO-8601 text, or epoch milliseconds (XM Directory
    writes ``creationDate``/``lastModified`` as numbers, mailing lists as numeric strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) or (
        isinstance(value, str) and _EPOCH_MS_TEXT.fullmatch(value)
    ):
        try:
            moment = datetime.datetime.fromtimestamp(float(value) / 1000, datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return format_timestamp(moment)
    return normalize_or_none(value)


def record_from(
    element: Mapping[str, Any],
    properties: Mapping[str, Any],
    renamed: Mapping[str, str] | None = None,
    **fixed: Any,
) -> dict[str, Any]:
    """The schema's columns from a Qualtrics element: keys snake_cased (or ``renamed``), values
    converted to the declared type (dates normalised, "" -> null); ``fixed`` columns win."""
    record: dict[str, Any] = dict.fromkeys(properties)
    for key, value in element.items():
        column = (renamed or {}).get(key) or snake_case(key)
        if column not in properties or column in fixed:
            continue
        record[column] = _convert(value, properties[column])
    record.update(fixed)
    return record


def _convert(value: Any, declared: Mapping[str, Any]) -> Any:
    types = declared.get("type", ())
    types = (types,) if isinstance(types, str) else tuple(types)
    if value is None:
        return None
    if declared.get("format") == "date-time":
        return to_timestamp(value)
    if "object" in types:
        return dict(value) if isinstance(value, Mapping) else None
    if "boolean" in types:
        return to_bool(value)
    if "integer" in types:
        return to_int(value)
    if "string" in types:
        if isinstance(value, (dict, list)):
            return None
        text = str(value)
        return text if text != "" else None
    return value


class AccountStream(QualtricsStream):
    """Base of the account streams: page size, permission sentences, failures that do not stop the run."""

    #: The endpoint's ``pageSize`` maximum (Qualtrics answers 400 above it).
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refusal_recorded = False

    # -- requests --------------------------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        """The configured ``page_size``, capped at this endpoint's maximum."""
        return min(self.run.settings.page_size, self.max_page_size)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: Any | None
    ) -> dict[str, Any]:
        return {"pageSize": self.page_size}

    def paged_path(self, path: str, **params: Any) -> str:
        """``path?pageSize=...&<params>`` for :meth:`list_elements`."""
        return f"{path}?{urlencode({**params, 'pageSize': self.page_size})}"

    @override
    def validate_response(self, response: requests.Response) -> None:
        """A 403 becomes :class:`PermissionRefusedError`, whose sentence names the missing scope."""
        try:
            super().validate_response(response)
        except QualtricsAuthError:
            raise
        except QualtricsAPIError:
            if response.status_code != HTTPStatus.FORBIDDEN:
                raise
            raise self._refusal(response) from None

    def _refusal(self, response: requests.Response) -> PermissionRefusedError:
        code, message = qualtrics_error_detail(response)
        detail = in_parentheses(code, message)
        needed = permission_for(response.url)
        scope, permission = needed or (None, "read this endpoint")
        if self.run.settings.uses_oauth:
            hint = (
                f"the OAuth client needs the {scope} scope"
                if scope
                else "check the OAuth client's scopes"
            )
        else:
            hint = f"the API token's user needs permission to {permission}"
        sentence = (
            f"Qualtrics refused {endpoint_of(response)} with HTTP 403{detail}: {hint} "
            f"(or deselect the {self.reported_name} stream)."
        )
        return PermissionRefusedError(self.run.redact(sentence), scope=scope, error_code=code)

    # -- failures ----------------------------------------------------------------------------------

    def guarded(
        self, records: Iterable[Record], context: Context | None, what: str
    ) -> Iterator[Record]:
        """Yield ``records``; if the API fails them, record one sentence and stop this partition only.

        Refused credentials (401) stop the run: no other stream could succeed either.
        """
        try:
            yield from records
        except QualtricsAuthError:
            raise
        except GUARDED_ERRORS as error:
            self.record_failure(what, error)

    def call_guarded(self, what: str, produce: Callable[[], T], default: T) -> T:
        """``produce()``, or ``default`` after recording why ``what`` could not be read."""
        try:
            return produce()
        except QualtricsAuthError:
            raise
        except GUARDED_ERRORS as error:
            self.record_failure(what, error)
            return default

    def record_failure(self, what: str, error: Exception) -> None:
        """Log and record that the stream was not synced; ``what`` says which part ("for directory
        POOL_x"; "" for the whole stream)."""
        self.run.incomplete_streams.add(self.name)
        reason = self.run.redact(error_reason(error))
        where = f" {what}" if what else ""
        if isinstance(error, PermissionRefusedError):
            if self._refusal_recorded:
                self.logger.warning(
                    "Stream %s was refused as well%s: %s", self.reported_name, where, reason
                )
                return
            self._refusal_recorded = True
        self.logger.error(
            "Stream %s was not synced this run%s: %s", self.reported_name, where, reason
        )
        summary = f"{what.strip('()')}: {reason}" if what else reason
        self.run.failures.record_stream(self.reported_name, summary)

    @property
    def reported_name(self) -> str:
        """The stream a user selected: a parent synced only for its children reports as them."""
        if self.selected or not self.child_streams:
            return self.name
        children = [child.name for child in self.child_streams if child.selected]
        return ", ".join(children or [child.name for child in self.child_streams])

    def partition_label(self, context: Context | None) -> str:
        """How a partition is named in failure sentences ("for mailing list CG_x")."""
        if not context:
            return ""
        return "for " + ", ".join(
            f"{key.removesuffix('_id').replace('_', ' ')} {value}" for key, value in context.items()
        )


class PartitionedStream(AccountStream):
    """One partition per ID that :meth:`partition_ids` gives, listed once per stream and run; a list
    that cannot be read is recorded (see :meth:`record_failure`) and gives no partitions."""

    #: the partitions' context key (``"survey_id"``)
    partition_key: ClassVar[str]
    #: what :meth:`partition_ids` reads, for the failure sentence (``"the survey list"``)
    partition_source: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._partitions: list[dict[str, Any]] | None = None

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        if self._partitions is None:
            none: list[str] = []
            ids = self.call_guarded(
                f"({self.partition_source} could not be read)", self.partition_ids, none
            )
            self._partitions = [{self.partition_key: partition_id} for partition_id in ids]
        return self._partitions

    def partition_ids(self) -> list[str]:
        """The IDs of this stream's partitions."""
        raise NotImplementedError


class ListStream(AccountStream):
    """A plain skipToken list (one request per page through the SDK), guarded against failures."""

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        yield from self.guarded(
            super().get_records(context), context, self.partition_label(context)
        )
