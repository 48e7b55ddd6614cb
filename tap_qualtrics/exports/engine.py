"""The response-export engine: start an export, poll it, download the file, stream the responses.

Qualtrics exports are server-side jobs: ``POST /surveys/{id}/export-responses`` ->
``GET .../{progressId}`` until ``complete`` -> ``GET .../{fileId}/file`` (a zip with one ndjson member).
The file is spooled to a temporary file (never the working directory; removed afterwards) and read back
one line at a time, so memory does not depend on the export's size.

This module knows nothing of Singer: it is handed a transport that sends requests with the stream's
authentication, retries and timeouts.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §11-§13, §16.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import logging
import re
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

import msgspec

from tap_qualtrics.exports.inflate import InflateAhead
from tap_qualtrics.model.response_records import EXACT_JSON, escapes_to_normalize
from tap_qualtrics.model.timestamps import api_timestamp, parse_timestamp

#: Every number keeps its exact value: integers of any size stay ``int`` (orjson turns those past 64 bits
#: into floats), and fractions are read as ``Decimal`` (so ``0.1000000000000000055511`` or ``1e400`` are
#: not rounded to a double). Writers emit a ``Decimal`` as the same JSON number.
_loads = EXACT_JSON.decode

MAX_POLL_INTERVAL_SECONDS = 30.0
START_MARGIN = datetime.timedelta(seconds=1)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
POLL_GROWTH = 1.5
SPOOL_PREFIX = "tap-qualtrics-export-"
ZIP_MAGIC = b"PK\x03\x04"
READ_BUFFER_BYTES = 1 << 20  # C-level line splitting over the decompressor
SHORT_LINE_BYTES = 16

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


class SplittableExportError(ExportFailedError):
    """An export that may succeed as several shorter windows (``pieces`` of them).

    Qualtrics ends an export over its 1.8 GB cap with status ``failed`` and no reason, so every ``failed``
    export is one; so is a window the caller knows holds more responses than one export should carry.
    Timeouts and malformed answers are not: a shorter window would not fix them.
    """

    def __init__(self, message: str, pieces: int = 2) -> None:
        super().__init__(message)
        self.pieces = pieces


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
    """Runs one survey's export: requests it, waits for it and downloads the file (read it with
    :func:`read_export_file`)."""

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

    def fetch(
        self, survey_id: str, window: ExportWindow, options: Mapping[str, Any] | None = None
    ) -> IO[bytes]:
        """Start, wait for and download one export of ``window`` (with ``options`` such as ``questionIds``
        added); returns the file rewound (the caller closes it).

        Safe to call from several threads at once (the concurrent export pipeline does).
        """
        return self.fetch_body(survey_id, {**export_request_body(window), **(options or {})})

    def fetch_body(
        self, survey_id: str, body: Mapping[str, Any], what: str = "response export"
    ) -> IO[bytes]:
        """:meth:`fetch` with the export options given whole (in-progress or ID-only exports)."""
        base = f"/surveys/{survey_id}/export-responses"
        deadline = self._clock() + self._timing.timeout
        started = self._transport.request_result("POST", base, body)
        progress_id = started.get("progressId")
        if not progress_id:
            raise ExportFailedError("Qualtrics started the export without a progressId")
        file_id = self._wait_for_file(f"{base}/{progress_id}", started, deadline)
        spool = tempfile.TemporaryFile(prefix=SPOOL_PREFIX)  # noqa: SIM115 - the caller closes it
        try:
            self._transport.download(f"{base}/{file_id}/file", spool)
            logger.info("Downloaded the %s of %s (%d bytes)", what, survey_id, spool.tell())
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    def _wait_for_file(
        self, progress_path: str, progress: Mapping[str, Any], deadline: float
    ) -> str:
        interval = self._timing.poll_interval
        while True:
            status = progress.get("status")
            if status == "complete":
                file_id = progress.get("fileId")
                if not file_id:
                    raise ExportFailedError("Qualtrics completed the export without a fileId")
                return str(file_id)
            if status == "failed":
                raise SplittableExportError("Qualtrics reported the export as failed")
            if self._clock() + interval > deadline:
                raise ExportFailedError(
                    f"the export was not ready within {self._timing.timeout:g} s (export_timeout_seconds)"
                )
            self._sleep(interval)
            interval = min(max(interval * POLL_GROWTH, interval), self._timing.max_poll_interval)
            progress = self._transport.request_result("GET", progress_path)


def export_request_body(window: ExportWindow) -> dict[str, Any]:
    """The export options: compressed ndjson sorted by last-modified date, bounded by the window.

    ``startDate`` is asked one second early: Qualtrics documents it as inclusive, and asking early makes
    that assumption unnecessary (the reader drops what precedes the window's own start)."""
    body: dict[str, Any] = {
        "format": "ndjson",
        "compress": True,
        "sortByLastModifiedDate": True,
        "endDate": window.end,
    }
    if window.start is not None:
        body["startDate"] = api_timestamp(parse_timestamp(window.start) - START_MARGIN)
    return body


def read_export_file(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Responses from a downloaded export: a zip of ndjson members, or raw ndjson (``compress`` ignored)."""
    for line in export_lines(spool):
        response = parse_response(line)
        if response is not None:
            yield response


def export_lines(spool: IO[bytes]) -> Iterator[bytes]:
    """The lines of a downloaded export that can hold a response (blank lines and the ``{}`` lines
    Qualtrics emits are skipped); parse each with :func:`parse_response`."""
    if zipfile.is_zipfile(spool):
        spool.seek(0)
        try:
            with zipfile.ZipFile(spool) as archive:
                for member in archive.infolist():
                    if member.is_dir():
                        continue
                    with (
                        archive.open(member) as compressed,
                        # inflated on another core; buffering it makes line reads cheap
                        io.BufferedReader(InflateAhead(compressed), READ_BUFFER_BYTES) as lines,
                    ):
                        yield from _response_lines(lines)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ExportFailedError(
                f"the downloaded export file is a corrupt zip archive ({error})"
            ) from None
    else:
        spool.seek(0)
        if spool.read(4) == ZIP_MAGIC:
            raise ExportFailedError(
                "the downloaded export file is a damaged zip archive (truncated or corrupt)"
            )
        spool.seek(0)
        yield from _response_lines(spool)


def _response_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    for line in lines:
        if len(line) < SHORT_LINE_BYTES:  # only short lines can be blank or ``{}`` (no copies)
            stripped = line.strip()
            if not stripped or stripped == b"{}":
                continue
        yield line  # the parsers accept the surrounding whitespace and newline


def parse_response(line: bytes) -> dict[str, Any] | None:
    """One exported line as a response (``None``: not a response object).

    Normalisation: bytes that are not UTF-8 become U+FFFD (with a warning) and NUL characters are
    removed from every string, so each record can be loaded into any target (PostgreSQL refuses NUL).
    A line that is not JSON fails the export (:class:`ExportFailedError`), never skipped silently.
    """
    try:
        response = _loads(line)
    except msgspec.DecodeError:  # not strict JSON (NaN, bytes that are not UTF-8): json reads more
        response = _lenient_loads(line)
    nul, surrogate = escapes_to_normalize(line)
    if nul:
        response = without_nul(response)
    if surrogate:  # perhaps half of a UTF-16 pair
        response = _without_lone_surrogates(response)
    return response if isinstance(response, dict) and response else None


def _lenient_loads(line: bytes) -> Any:
    """Lines the strict parser refuses: ``json`` reads NaN and raw control characters inside strings (kept:
    every target can store them but NUL); bytes that are not UTF-8 become U+FFFD."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        logger.warning(
            "An exported response held bytes that are not UTF-8; they were replaced by U+FFFD"
        )
        text = line.decode("utf-8", "replace")
    try:
        return json.loads(text, parse_float=decimal.Decimal)
    except json.JSONDecodeError:
        pass
    try:
        response = json.loads(text, parse_float=decimal.Decimal, strict=False)
    except json.JSONDecodeError as error:
        raise ExportFailedError(
            f"the downloaded export file holds a line that is not JSON ({error})"
        ) from None
    logger.warning(
        "Exported response %s held raw control characters inside its text; they were kept as they are",
        _response_id(response),
    )
    return response


def _response_id(response: Any) -> str:
    return str(response.get("responseId") or "without an ID") if isinstance(response, dict) else "?"


def _without_lone_surrogates(response: Any) -> Any:
    r"""Half of a UTF-16 surrogate pair (what a producer that cut an emoji in two writes as ``\\ud83d``)
    cannot be encoded by any writer: it becomes U+FFFD, with a warning naming the response."""
    cleaned = _replace_surrogates(response)
    if cleaned != response:
        logger.warning(
            "Exported response %s held half of a UTF-16 character pair; it was replaced by U+FFFD",
            _response_id(response),
        )
    return cleaned


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    return value


def without_nul(value: Any) -> Any:
    """NUL characters removed from every string (PostgreSQL text and jsonb cannot hold them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value
