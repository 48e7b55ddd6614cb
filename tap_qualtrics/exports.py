"""The response-export engine: start an export, poll it, download the file, stream the responses.

Qualtrics exports are server-side jobs (contract §5): ``POST /surveys/{id}/export-responses`` ->
``GET .../{progressId}`` until ``complete`` -> ``GET .../{fileId}/file`` (a zip with one ndjson member).
The file is spooled to a temporary file (never the working directory; removed afterwards) and read back
one line at a time, so memory does not depend on the export's size.

This module knows nothing of Singer: it is handed a transport that sends requests with the stream's
authentication, retries and timeouts.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

MAX_POLL_INTERVAL_SECONDS = 30.0
POLL_GROWTH = 1.5
SPOOL_PREFIX = "tap-qualtrics-export-"
READ_BUFFER_BYTES = 1 << 20  # C-level line splitting over the decompressor

logger = logging.getLogger("tap-qualtrics.exports")


class ExportTransport(Protocol):
    """HTTP as the export engine needs it; paths are relative to ``/API/v3``."""

    def request_result(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """Send one request and return the envelope's ``result`` object (raises on failure)."""
        ...

    def download(self, path: str, destination: IO[bytes]) -> None:
        """Stream a response body into ``destination`` (rewinding it on each retry)."""
        ...


class ExportFailedError(Exception):
    """Qualtrics could not produce an export (status ``failed``, timeout, or a missing file id)."""


@dataclass(frozen=True)
class ExportTiming:
    """Polling schedule: first interval, growth to a cap, and an overall deadline per export."""

    poll_interval: float
    timeout: float
    max_poll_interval: float = MAX_POLL_INTERVAL_SECONDS


@dataclass(frozen=True)
class ExportWindow:
    """Responses last modified in ``[start, end)``; ``start`` ``None`` means from the beginning."""

    start: str | None
    end: str


class ResponseExporter:
    """Runs one survey's export at a time and yields its responses as dicts."""

    def __init__(
        self,
        transport: ExportTransport,
        timing: ExportTiming,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._timing = timing
        self._sleep = sleep
        self._clock = clock

    def export(self, survey_id: str, window: ExportWindow) -> Iterator[dict[str, Any]]:
        """Yield every response of ``survey_id`` in ``window``, sorted by last-modified date."""
        base = f"/surveys/{survey_id}/export-responses"
        deadline = self._clock() + self._timing.timeout
        started = self._transport.request_result("POST", base, export_request_body(window))
        progress_id = started.get("progressId")
        if not progress_id:
            raise ExportFailedError("Qualtrics started the export without a progressId")
        file_id = self._wait_for_file(f"{base}/{progress_id}", started, deadline)
        with tempfile.TemporaryFile(prefix=SPOOL_PREFIX) as spool:
            self._transport.download(f"{base}/{file_id}/file", spool)
            logger.info("Downloaded the response export of %s (%d bytes)", survey_id, spool.tell())
            spool.seek(0)
            yield from read_export_file(spool)

    def _wait_for_file(self, progress_path: str, progress: Mapping[str, Any], deadline: float) -> str:
        interval = self._timing.poll_interval
        while True:
            status = progress.get("status")
            if status == "complete":
                file_id = progress.get("fileId")
                if not file_id:
                    raise ExportFailedError("Qualtrics completed the export without a fileId")
                return str(file_id)
            if status == "failed":
                raise ExportFailedError("Qualtrics reported the export as failed")
            if self._clock() + interval > deadline:
                raise ExportFailedError(
                    f"the export was not ready within {self._timing.timeout:g} s (export_timeout_seconds)"
                )
            self._sleep(interval)
            interval = min(max(interval * POLL_GROWTH, interval), self._timing.max_poll_interval)
            progress = self._transport.request_result("GET", progress_path)


def export_request_body(window: ExportWindow) -> dict[str, Any]:
    """The export options: compressed ndjson sorted by last-modified date, bounded by the window."""
    body: dict[str, Any] = {
        "format": "ndjson",
        "compress": True,
        "sortByLastModifiedDate": True,
        "endDate": window.end,
    }
    if window.start is not None:
        body["startDate"] = window.start
    return body


def read_export_file(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Responses from a downloaded export: a zip of ndjson members, or raw ndjson (``compress`` ignored)."""
    if zipfile.is_zipfile(spool):
        spool.seek(0)
        with zipfile.ZipFile(spool) as archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                with (
                    archive.open(member) as compressed,
                    io.BufferedReader(compressed, READ_BUFFER_BYTES) as lines,
                ):
                    yield from _parse_ndjson(lines)
    else:
        spool.seek(0)
        yield from _parse_ndjson(spool)


def _parse_ndjson(lines: IO[bytes]) -> Iterator[dict[str, Any]]:
    """One response per line; blank lines and the ``{}`` lines Qualtrics emits are skipped."""
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped == b"{}":
            continue
        response = json.loads(stripped)
        if isinstance(response, dict) and response:
            yield response
