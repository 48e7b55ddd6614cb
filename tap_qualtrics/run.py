"""What the streams of one tap run share: checked settings, the one authenticator, the failure ledger.

Created once per :class:`~tap_qualtrics.tap.TapQualtrics` instance (never a process-wide singleton, so
several taps with different configs can live in one test process).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from singer_sdk.authenticators import APIKeyAuthenticator

from tap_qualtrics.exports.engine import ExportTiming
from tap_qualtrics.http.auth import ClientCredentialsAuthenticator, build_authenticator
from tap_qualtrics.http.rate_budget import RateBudget
from tap_qualtrics.http.reachability import Reachability
from tap_qualtrics.model.timestamps import format_timestamp, window_end
from tap_qualtrics.output import TapMessageWriter
from tap_qualtrics.redaction import Redactor
from tap_qualtrics.settings import Settings, parse_settings
from tap_qualtrics.time_box import TimeBox

logger = logging.getLogger("tap-qualtrics")


@dataclass(frozen=True)
class SurveyFailure:
    """One survey whose responses could not be synced this run (its bookmark was kept)."""

    survey_id: str
    reason: str


@dataclass(frozen=True)
class StreamFailure:
    """A stream (or one of its directories, mailing lists or surveys) that was not synced this run."""

    stream: str
    reason: str


@dataclass
class FailureLedger:
    """Surveys and streams that failed during the run; reported together, once, when the run ends."""

    surveys: list[SurveyFailure] = field(default_factory=list)
    streams: list[StreamFailure] = field(default_factory=list)

    def record(self, survey_id: str, reason: str) -> None:
        self.surveys.append(SurveyFailure(survey_id, reason))

    def record_stream(self, stream: str, reason: str) -> None:
        self.streams.append(StreamFailure(stream, reason))

    def __bool__(self) -> bool:
        return bool(self.surveys or self.streams)

    def summary(self) -> str:
        """One sentence naming every failed survey, and one naming every failed stream."""
        sentences = []
        if self.surveys:
            count = len(self.surveys)
            noun = "survey" if count == 1 else "surveys"
            listed = "; ".join(f"{f.survey_id} ({f.reason.rstrip('.')})" for f in self.surveys)
            sentences.append(
                f"Responses of {count} {noun} could not be synced and keep their bookmarks for the "
                f"next run: {listed}."
            )
        if self.streams:
            streams = list(dict.fromkeys(f.stream for f in self.streams))
            noun = "stream was" if len(streams) == 1 else "streams were"
            listed = "; ".join(f"{f.stream} ({f.reason.rstrip('.')})" for f in self.streams)
            sentences.append(f"{len(streams)} {noun} not synced fully this run: {listed}.")
        return " ".join(sentences)


#: the failure ledgers of the runs created inside :func:`collect_failures` (one command-line invocation)
_collected: ContextVar[list[FailureLedger] | None] = ContextVar(
    "collected_failure_ledgers", default=None
)


@contextmanager
def collect_failures() -> Iterator[FailureLedger]:
    """One ledger holding the failures of every run created inside the block: the command line creates the
    tap inside the SDK, and reads how its sync went here."""
    ledgers: list[FailureLedger] = []
    combined = FailureLedger()
    token = _collected.set(ledgers)
    try:
        yield combined
    finally:
        _collected.reset(token)
        for ledger in ledgers:
            combined.surveys.extend(ledger.surveys)
            combined.streams.extend(ledger.streams)


class SyncRun:
    """Per-run shared state. Settings are parsed lazily so that discovery works without credentials."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        started_at: datetime.datetime,
        required_scopes: Callable[[], tuple[str, ...]],
    ) -> None:
        self._config = config
        self._required_scopes = required_scopes
        self.started_at = started_at
        self.failures = FailureLedger()
        collected = _collected.get()
        if collected is not None:
            collected.append(self.failures)
        self._monotonic_start = time.monotonic()
        #: set when SIGTERM / SIGINT arrives: export threads stop polling and downloading
        self.stopping = threading.Event()
        #: the tap's message writer (set by the tap), which streams may write records to directly
        self.writer: TapMessageWriter | None = None
        #: whether Qualtrics has answered yet: a host that never does stops the run once, not per stream
        self.reachability = Reachability()
        #: streams (by name) that missed a part this run: their full-table reads are not complete
        self.incomplete_streams: set[str] = set()
        #: survey ID -> [auditable, generated, deleted], read at most once per run (GET /surveys/{id})
        self.response_counts: dict[str, list[int | None]] = {}

    @cached_property
    def settings(self) -> Settings:
        return parse_settings(self._config)

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator | ClientCredentialsAuthenticator:
        return build_authenticator(self.settings, self._required_scopes())

    @cached_property
    def export_timing(self) -> ExportTiming:
        """How every export of this run is polled, and how long one may take."""
        return ExportTiming(
            poll_interval=self.settings.export_poll_interval, timeout=self.settings.export_timeout
        )

    @cached_property
    def time_box(self) -> TimeBox:
        """The run's time budget for starting response exports (``max_run_minutes``)."""
        return TimeBox(self.settings.max_run_minutes, started=self._monotonic_start)

    @cached_property
    def rate_budget(self) -> RateBudget:
        """The one request budget every stream and export thread of this run draws from."""
        return RateBudget(self.settings.rate_limits)

    @cached_property
    def redact(self) -> Redactor:
        """Scrubs this run's secrets from any text that leaves the tap."""
        return Redactor(
            [
                self._config.get("api_token"),
                self._config.get("client_id"),
                self._config.get("client_secret"),
            ]
        )

    @cached_property
    def started_at_text(self) -> str:
        return format_timestamp(self.started_at)

    @cached_property
    def export_window_end(self) -> str:
        """Exclusive end of every survey's export window this run (run start minus the safety lag)."""
        return window_end(self.started_at, self.settings.export_safety_lag)
