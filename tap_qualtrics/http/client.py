"""The base stream: Qualtrics' envelope and paging, the run's one authenticator, retries and timeouts.

Every request the tap makes goes through here, so timeouts, retries (429 with ``Retry-After``, 5xx,
connection errors), the OAuth refresh-on-401 and the one-sentence error messages apply everywhere,
including the export engine's polls and downloads.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §4, §5, §7.
"""

from __future__ import annotations

import itertools
import logging
import random
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from functools import cached_property
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any, ClassVar
from urllib.parse import ParseResult, urlparse, urlsplit

import backoff
import requests
from requests.adapters import HTTPAdapter
from singer_sdk import RESTStream
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    MaxRecordsLimitException,
    RetriableAPIError,
)
from singer_sdk.pagination import BaseHATEOASPaginator

from tap_qualtrics._compat import override
from tap_qualtrics.http.auth import ClientCredentialsAuthenticator
from tap_qualtrics.http.errors import (
    AccessTokenRejectedError,
    QualtricsAPIError,
    QualtricsAuthError,
    TransientQualtricsError,
    describe_failure,
    describe_redirect,
    endpoint_of,
    qualtrics_error_detail,
)
from tap_qualtrics.http.rate_budget import RateBudget, buckets_for
from tap_qualtrics.http.reachability import Reachability
from tap_qualtrics.http.retry import RetryPolicy
from tap_qualtrics.model.coerce import response_counts
from tap_qualtrics.model.timestamps import normalize_or_none, normalize_timestamp
from tap_qualtrics.output import TapMessageWriter, sdk_path_is_identity
from tap_qualtrics.settings import API_PATH
from tap_qualtrics.table_versions import activate_after_read, note_complete_reads

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext
    from singer_sdk.tap_base import Tap

    from tap_qualtrics.run import SyncRun

DOWNLOAD_CHUNK_BYTES = 1 << 20
#: Connections kept per host: enough for the export threads plus the main thread.
CONNECTION_POOL_SIZE = 64


class BudgetedAdapter(HTTPAdapter):
    """Takes a slot of the run's rate budget before every request it sends (retries included), and notes
    that the host answered when a response arrives."""

    def __init__(
        self, budget: Callable[[], RateBudget], reachability: Reachability, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._budget = budget
        self._reachability = reachability

    @override
    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self._budget().acquire(
            buckets_for(request.method or "GET", urlsplit(request.url or "").path)
        )
        response = super().send(request, *args, **kwargs)
        self._reachability.note_answer()
        return response


#: what the SDK's ``Stream.sync`` logs (at ERROR) for any exception leaving a stream's sync
SDK_SYNC_ERROR_MESSAGE = "An unhandled error occurred while syncing '%s'"


class ExpectedEndingsFilter(logging.Filter):
    """Drops the SDK's ``An unhandled error occurred while syncing`` line when nothing unhandled happened:

    * the dry run of ``--test`` (and the SDK's test suite) stops every stream at its record limit by raising
      ``MaxRecordsLimitException`` (wrapped in ``AbortedSync...Exception``) out of the record loop, which
      ``Stream.sync`` logs as an error before the dry run swallows it: 16 ERROR lines for a test that passed;
    * an error of the tap's own (:class:`QualtricsAPIError`: refused credentials, an unreachable host) stops
      the run with its one sentence, logged by the tap when the run ends.

    Any other exception keeps the SDK's line. Reads the exception being handled (the SDK logs inside its
    ``except`` block).
    """

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != SDK_SYNC_ERROR_MESSAGE:
            return True
        error = sys.exc_info()[1]
        if isinstance(error, (AbortedSyncFailedException, AbortedSyncPausedException)):
            return not isinstance(error.__cause__, MaxRecordsLimitException)
        return not isinstance(error, QualtricsAPIError)


EXPECTED_ENDINGS = ExpectedEndingsFilter()


class NextPageLinkPaginator(BaseHATEOASPaginator):
    """Qualtrics lists carry the next page as an absolute URL in ``result.nextPage`` (``null`` at the end)."""

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        result = response.json().get("result")
        next_page = result.get("nextPage") if isinstance(result, dict) else None
        return str(next_page) if next_page else None


class QualtricsStream(RESTStream[ParseResult | None]):
    """Base for every Qualtrics stream of the tap."""

    records_jsonpath = "$.result.elements[*]"
    #: Credentials travel in ``X-API-TOKEN``, which ``requests`` keeps on a redirect to another host: the
    #: Qualtrics API never redirects a client, so a redirect is refused, never followed.
    allow_redirects = False
    #: OAuth scopes this stream's requests need (the default ``oauth_scopes`` is their union).
    required_scopes: ClassVar[tuple[str, ...]] = ()
    #: Every run re-reads all this stream holds, so what is not read is gone: its records carry the run's
    #: table version, and ACTIVATE_VERSION follows a complete read (:mod:`tap_qualtrics.table_versions`).
    read_in_full: ClassVar[bool] = False
    #: Belongs to no survey and no directory: with a ``shard``, only shard 0 reads it (:mod:`tap_qualtrics.shards`).
    account_wide: ClassVar[bool] = False

    def __init__(self, tap: Tap, *, run: SyncRun) -> None:
        self.run = run
        self._warned_foreign_next_page = False
        super().__init__(tap)
        self.logger.addFilter(EXPECTED_ENDINGS)  # once per logger: the same filter object
        adapter = BudgetedAdapter(
            lambda: run.rate_budget, run.reachability, pool_maxsize=CONNECTION_POOL_SIZE
        )
        self.requests_session.mount("http://", adapter)
        self.requests_session.mount("https://", adapter)
        if (
            self.read_in_full
        ):  # each record carries the run's table version (tap_qualtrics.table_versions)
            self._stream_version = tap.initialized_at

    @override
    def finalize_state_progress_markers(self, state: dict[str, Any] | None = None) -> None:
        """The SDK calls this (without a state) when a top-level stream and its children have finished."""
        finished = (
            state is None
            and self.parent_stream_type is None
            and self.run.settings.activate_versions
        )
        if finished:  # into the STATE the SDK writes next
            note_complete_reads(self, self.run, self._tap.initialized_at)
        super().finalize_state_progress_markers(state)
        if finished:
            activate_after_read(self, self.run, self._tap.initialized_at)

    @cached_property
    def record_writer(self) -> TapMessageWriter | None:
        """The tap's writer, when this stream's records (built to its schema) can skip the SDK's record path:
        no stream map, no flattening, no deselected property (:mod:`tap_qualtrics.output`)."""
        writer = self.run.writer
        return writer if writer is not None and sdk_path_is_identity(self) else None

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never at the start of a sync: the tap sends ACTIVATE_VERSION itself, after a complete read."""
        return False

    # -- where and how to ask -------------------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        return self.run.settings.api_root

    @property
    @override
    def authenticator(self) -> Any:
        return self.run.authenticator

    @property
    @override
    def timeout(self) -> int:
        return self.run.settings.request_timeout

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @override
    def get_new_paginator(self) -> NextPageLinkPaginator:
        return NextPageLinkPaginator()

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        if page.next_page_token is not None:
            # The link already holds every query parameter: follow it verbatim, adding none.
            request.url = self._on_configured_host(page.next_page_token)
            request.params = {}
        return request

    def _on_configured_host(self, link: ParseResult) -> str:
        """Keep credentials on the configured host even if a link names another one."""
        ours = urlsplit(self.url_base)
        if (link.scheme, link.netloc) != (ours.scheme, ours.netloc):
            if not self._warned_foreign_next_page:
                self.logger.warning(
                    "Qualtrics returned a nextPage link on another host; following it on ours"
                )
                self._warned_foreign_next_page = True
            link = link._replace(scheme=ours.scheme, netloc=ours.netloc)
        return link.geturl()

    # -- what the run covers -----------------------------------------------------------------------------

    def response_counts(self, survey_id: str) -> list[int | None]:
        """[auditable, generated, deleted] of a survey (``GET /surveys/{id}``), read once per run and shared."""
        counts = self.run.response_counts.get(survey_id)
        if counts is None:
            legacy = self.request_result("GET", f"/surveys/{survey_id}")
            counts = self.run.response_counts[survey_id] = response_counts(legacy)
        return counts

    def selected_surveys(self) -> dict[str, Mapping[str, Any]]:
        """Selected surveys of the live list, by ID with their list element, in list order; then any
        ``survey_ids`` entry naming a survey the list lacks (with an empty element)."""
        selection = self.run.settings.surveys
        listed: dict[str, Mapping[str, Any]] = {}
        for element in self.list_elements("/surveys"):
            if isinstance(element, Mapping) and element.get("id"):
                listed.setdefault(str(element["id"]), element)
        chosen = {survey_id: e for survey_id, e in listed.items() if selection.includes(survey_id)}
        for survey_id in selection.explicit_ids:
            chosen.setdefault(survey_id, {})
        return chosen

    def stored_partition_state(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        """The partition's state as the run received it or has written it so far, read without writing."""
        bookmarks = (self.tap_state.get("bookmarks") or {}).get(self.name) or {}
        return next(
            (p for p in bookmarks.get("partitions") or [] if p.get("context") == dict(context)), {}
        )

    def stored_bookmark(self, context: Mapping[str, Any]) -> str | None:
        """The partition's bookmark as the state holds it (``None`` if it was kept for another replication
        key). Reads without writing, so it can look ahead at partitions not synced yet."""
        state = self.stored_partition_state(context)
        if state.get("replication_key") != self.replication_key:
            return None
        return normalize_or_none(state.get("replication_key_value"))

    def write_bookmark(self, context: Context, value: str) -> dict[str, Any]:
        """Move the partition's bookmark to ``value`` (under this stream's replication key); returns the
        partition's state, e.g. for ``finalize_state_progress_markers``."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = value
        return state

    # -- retries ---------------------------------------------------------------------------------------

    @property
    def retry_policy(self) -> RetryPolicy:
        settings = self.run.settings
        return RetryPolicy(settings.max_retries, settings.retry_delay)

    @override
    def backoff_max_tries(self) -> int:
        return self.retry_policy.max_attempts

    @override
    def backoff_wait_generator(self) -> Generator[float, None, None]:
        """``Retry-After`` when given, else ``retry_delay`` doubling per retry (a fresh count per request)."""
        retry_numbers = itertools.count(1)
        policy = self.retry_policy
        reachability = self.run.reachability

        def wait(error: Exception) -> float:
            seconds = policy.wait_seconds(next(retry_numbers), getattr(error, "response", None))
            if isinstance(error, requests.exceptions.ConnectionError) and not reachability.answered:
                # the host never answered this run: likely a wrong base_url, not worth doubling waits
                return min(seconds, float(policy.retry_delay))
            return seconds

        return self.backoff_runtime(value=wait)

    @override
    def backoff_jitter(self, value: float) -> float:
        """Up to 10% extra (never less: ``Retry-After`` is a minimum)."""
        return value + random.uniform(0, min(1.0, value * 0.1)) if value > 0 else 0.0

    @override
    def backoff_handler(self, details: Details) -> None:
        error = details.get("exception")
        request = (details.get("args") or (None,))[0]
        target = (
            f"{request.method} {urlsplit(request.url or '').path}"
            if isinstance(request, requests.PreparedRequest)
            else self.name
        )
        self.logger.warning(
            "Retrying %s in %.1f s (attempt %d of %d): %s",
            target,
            details.get("wait") or 0.0,
            details.get("tries", 0) + 1,
            self.backoff_max_tries(),
            self.run.redact(str(error)) if error is not None else "no response",
        )

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's retries (one WARNING line per retry, from :meth:`backoff_handler`: the retry library's own
        log lines are off), plus one retry with a fresh OAuth token when Qualtrics rejects the old one. A host
        that has not answered any request of the run is given up on after one request's retries
        (:mod:`tap_qualtrics.http.reachability`)."""
        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            (
                ConnectionResetError,
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)

        reachability = self.run.reachability

        def send_with_token_refresh(*args: Any, **kwargs: Any) -> Any:
            reachability.check()  # an earlier request found the host unreachable: no more attempts
            try:
                try:
                    return retrying(*args, **kwargs)
                except AccessTokenRejectedError:
                    return retrying(*args, **kwargs)
            except requests.exceptions.ConnectionError as error:
                if reachability.answered:
                    raise  # a transient failure of a host that works: the stream or survey fails alone
                origin = self.url_base.removesuffix(API_PATH)
                raise reachability.give_up(origin, error, self.backoff_max_tries()) from None

        return send_with_token_refresh

    # -- responses -------------------------------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        authenticator = self.authenticator
        uses_oauth = isinstance(authenticator, ClientCredentialsAuthenticator)
        if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            raise QualtricsAPIError(self.run.redact(describe_redirect(response)), status=status)
        if status < HTTPStatus.BAD_REQUEST:
            if uses_oauth:
                authenticator.note_accepted(response.request)
            return
        message = self.response_error_message(response)
        if status == HTTPStatus.UNAUTHORIZED:
            if uses_oauth and authenticator.forget_rejected_token(response.request):
                raise AccessTokenRejectedError(message)
            raise QualtricsAuthError(message, status=status)
        if status in self.extra_retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise TransientQualtricsError(message, response)
        code, _ = qualtrics_error_detail(response)
        raise QualtricsAPIError(message, status=status, error_code=code)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Endpoint plus Qualtrics' errorCode/errorMessage; never the body or headers."""
        uses_oauth = isinstance(self.authenticator, ClientCredentialsAuthenticator)
        return self.run.redact(describe_failure(response, uses_oauth=uses_oauth))

    # -- direct requests (details, export engine) --------------------------------------------------------

    def request_result(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """Send one request to ``/API/v3{path}`` and return the envelope's ``result`` object."""
        prepared = self.build_prepared_request(
            method=method, url=self.url_base + path, headers=self.http_headers, json=body
        )
        response = self.request_decorator(self._send)(prepared)
        try:
            result = response.json().get("result")
        except (ValueError, AttributeError):
            result = None
        if not isinstance(result, dict):
            msg = f"Qualtrics answered {endpoint_of(response)} without a result object."
            raise QualtricsAPIError(msg, status=response.status_code)
        return result

    def list_elements(self, path: str) -> Iterator[Mapping[str, Any]]:
        """Every element of a Qualtrics list at ``/API/v3{path}``, following ``nextPage`` links."""
        url: str | None = self.url_base + path
        seen: set[str] = set()
        while url:
            if url in seen:
                msg = f"Qualtrics returned a nextPage link that loops back ({urlsplit(url).path})."
                raise QualtricsAPIError(msg)
            seen.add(url)
            prepared = self.build_prepared_request(method="GET", url=url, headers=self.http_headers)
            response = self.request_decorator(self._send)(prepared)
            result = response.json().get("result") or {}
            yield from result.get("elements") or []
            next_page = result.get("nextPage")
            url = self._on_configured_host(urlparse(str(next_page))) if next_page else None

    def download(self, path: str, destination: IO[bytes]) -> None:
        """Stream ``/API/v3{path}`` into ``destination``; a broken transfer restarts from the beginning."""
        prepared = self.build_prepared_request(method="GET", url=self.url_base + path, headers={})

        def fetch_into_destination(request: requests.PreparedRequest) -> None:
            destination.seek(0)
            destination.truncate()
            with self._send(request, stream=True) as response:
                for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                    destination.write(chunk)

        self.request_decorator(fetch_into_destination)(prepared)

    def _send(
        self, request: requests.PreparedRequest, *, stream: bool = False
    ) -> requests.Response:
        authenticated = self.authenticator(request)
        response = self.requests_session.send(
            authenticated, timeout=self.timeout, stream=stream, allow_redirects=self.allow_redirects
        )
        try:
            self.validate_response(response)
        except Exception:
            response.close()
            raise
        return response

    # -- bookmarks in the tap's one timestamp form -----------------------------------------------------

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str | None:
        """The run's start, in the same string form as every bookmark (the SDK compares strings)."""
        return (
            self.run.started_at_text
            if self.replication_key and self.is_timestamp_replication_key
            else None
        )

    @override
    def compare_start_date(self, value: str, start_date_value: str) -> str:
        return max(normalize_timestamp(value) or "", normalize_timestamp(start_date_value) or "")

    def starting_timestamp(self, context: Context | None) -> str | None:
        """Where this partition's sync starts: max(bookmark, start_date) in the tap's timestamp form."""
        return normalize_or_none(self.get_starting_replication_key_value(context))
