"""Response exports: option validation, the progress state machine and streamed export files.

Workflow: ``POST /surveys/{id}/export-responses`` validates the options, snapshots the
responses that belong in the export (references to the immutable ``ResponseRecord`` objects) and
queues the file generation on a small worker pool; ``GET .../{progressId}`` advances the job; ``GET
.../{fileId}/file`` streams the finished file from disk.

Selection
  - recorded responses only (finished ones, and closed partial ones with Finished = False), or
    with ``exportResponsesInProgress`` only the sessions in progress (``FS_`` IDs, no recordedDate;
    then ``sortByLastModifiedDate`` has no effect);
  - ``startDate`` inclusive / ``endDate`` exclusive on ``recordedDate`` or, with
    ``sortByLastModifiedDate``, on the last-modified time; records are then ordered by
    (last-modified, responseId) and ``values["LastModifiedDate"]`` is added; otherwise ordered by
    (recordedDate, responseId). An in-progress export windows and orders on ``startDate`` instead
    (the recordings show start order and cannot tell which date the window uses, §24);
  - ``continuationToken``: only records after the cursor the token was issued with (new and modified
    responses when the token came from a ``sortByLastModifiedDate`` export, new ones otherwise);
  - ``filterId`` must name one of the survey's saved filters (else 400); after the selection above
    (recorded or in progress, ``startDate``/``endDate`` as above) it keeps the responses
    its predicate ``{"field", "equals"}`` matches: ``str()`` of the response's exported JSON value
    for that metadata key or embedded-data field equals ``equals`` (so ``finished`` compares
    ``"1"``/``"0"``, ``status`` ``"0"``/``"1"``; a response without the field never matches). The
    built filters have no predicate and keep every response; ``POST /_sandbox/mutate {"add_filter":
    {"name", "field", "equals"}}`` adds one that has (``Account.filter_predicates``), and truth
    ``surveys[id]["filters"][filterId]`` lists the recorded responses it keeps. ``filterId`` with
    ``sortByLastModifiedDate`` or continuation is refused, as by Qualtrics;
  - ``limit`` keeps the first N (of the filtered responses).

Continuation: with ``allowContinuation`` (or when ``continuationToken`` is given) the completed
progress result carries a new ``continuationToken``. Its cursor is the newest (timestamp,
responseId) the export could have seen, capped at ``endDate`` and at the last record kept by
``limit``, so a follow-up export never skips a response. Tokens and files expire one week (virtual
clock) after they are issued.

Progress: a job completes on the poll after ``export_polls`` in-progress polls (polls 1..k report
``100 * (i-1)/k`` percent, the first one 0.0), once ``export_seconds`` of real time have passed, and
once the file is written. A job drawn as failed (fault ``export_failed``), or one whose file exceeds
``max_bytes`` (Qualtrics' 1.8 GB cap), ends ``{"fileId": null, "percentComplete": 100, "status":
"failed"}``.

Files are generated in chunks straight to a temporary file (a zip with one streamed member named
``"{survey name}.{format}"``, or the raw file with ``compress: false``), so memory does not depend
on the export size. They are deterministic: the same data and options give the same bytes (fixed zip
timestamp), and a finished file is reused for later exports with the same survey state and options.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from qualtrics_sandbox.data import (
    METADATA_IDS,  # the metadata keys a response renders, in export order
)

RETENTION = timedelta(days=7)
MAX_RID = "\U0010ffff"
CHUNK = 500
DEFAULT_MAX_BYTES = 1_800_000_000
#: How long the completing poll waits for an export file still being written (small ones finish in time).
FILE_WAIT_SECONDS = 0.25
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FULL_PERCENT = 100.0
#: The most a job still in progress reports: 100 comes with the poll that completes it.
IN_PROGRESS_MAX_PERCENT = 99.0

FORMATS = ("csv", "tsv", "json", "ndjson", "spss", "xml")
SUPPORTED_FORMATS = ("csv", "tsv", "json", "ndjson")
JSON_FORBIDDEN = (
    "includeDisplayOrder",
    "useLabels",
    "formatDecimalAsComma",
    "seenUnansweredRecode",
    "multiselectSeenUnansweredRecode",
    "timeZone",
    "newlineReplacement",
    "breakoutSets",
)
OPTION_TYPES: dict[str, str] = {
    "format": "str",
    "startDate": "date",
    "endDate": "date",
    "limit": "int",
    "useLabels": "bool",
    "includeLabelColumns": "bool",
    "seenUnansweredRecode": "int",
    "multiselectSeenUnansweredRecode": "int",
    "includeDisplayOrder": "bool",
    "formatDecimalAsComma": "bool",
    "timeZone": "str",
    "newlineReplacement": "str",
    "breakoutSets": "bool",
    "questionIds": "strlist",
    "embeddedDataIds": "strlist",
    "surveyMetadataIds": "strlist",
    "compress": "bool",
    "exportResponsesInProgress": "bool",
    "filterId": "str",
    "allowContinuation": "bool",
    "continuationToken": "str",
    "sortByLastModifiedDate": "bool",
}
CONTENT_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}

# Error codes for rejected export requests. Qualtrics' real codes are not public;
# these are the sandbox's own and stay stable.
E_BODY = "ERX_1"  # body is not a JSON object
E_FORMAT_MISSING = "ERX_2"
E_FORMAT_INVALID = "ERX_3"
E_FORMAT_UNSUPPORTED = "ERX_4"  # spss/xml: valid in Qualtrics, not produced by the sandbox
E_UNKNOWN_OPTION = "ERX_5"
E_OPTION_TYPE = "ERX_6"
E_JSON_FORBIDDEN = "ERX_7"
E_LABELS_CONFLICT = "ERX_8"  # includeLabelColumns + useLabels
E_CONTINUATION_CONFLICT = "ERX_9"  # continuationToken + allowContinuation
E_FILTER_CONTINUATION = "ERX_10"  # filterId + allowContinuation / continuationToken
E_FILTER_SORT = "ERX_11"  # filterId + sortByLastModifiedDate
E_DATE = "ERX_12"
E_DATE_RANGE = "ERX_13"
E_LIMIT = "ERX_14"
E_BAD_CONTINUATION = "ERX_15"  # unknown, expired or foreign continuation token
E_FILTER_UNKNOWN = "ERX_16"
E_QUESTION_UNKNOWN = "ERX_17"
E_METADATA_UNKNOWN = "ERX_18"
E_TIMEZONE = "ERX_19"


class ExportRequestError(Exception):
    """A rejected export request (HTTP 400 with the Qualtrics error envelope)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ExportTooLargeError(Exception):
    """The export body exceeded ``max_bytes``."""


class ExportCancelledError(Exception):
    """The sandbox is shutting down."""


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def iso_ms(dt: datetime) -> str:
    """``2024-01-02T03:04:05.123Z`` (UTC)."""
    dt = _aware(dt).astimezone(UTC)  # type: ignore[union-attr]
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_date(name: str, value: Any) -> datetime:
    """Parse an ISO 8601 date-time option; a time part is required, no zone means UTC."""
    if not isinstance(value, str) or "T" not in value:
        raise ExportRequestError(
            E_DATE, f"Invalid request. {name} must be an ISO 8601 date-time, got {value!r}."
        )
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ExportRequestError(
            E_DATE, f"Invalid request. {name} is not a valid ISO 8601 date-time: {value!r}."
        ) from None
    return _aware(parsed).astimezone(UTC)  # type: ignore[union-attr]


@dataclass(frozen=True)
class ExportOptions:
    """A validated export request."""

    raw: dict[str, Any]
    format: str
    start: datetime | None
    end: datetime | None
    limit: int | None
    compress: bool
    in_progress: bool
    sort_by_last_modified: bool
    allow_continuation: bool
    continuation_token: str | None
    filter_id: str | None
    question_ids: list[str] | None
    embedded_ids: list[str] | None
    metadata_ids: list[str] | None

    @property
    def wants_token(self) -> bool:
        return self.allow_continuation or self.continuation_token is not None

    @property
    def time_field(self) -> str:
        """The date ``startDate``/``endDate`` apply to and the export is ordered by: the start date of
        an in-progress session (it has no recorded date, docs/qualtrics-api.md §24), else the
        last-modified time with ``sortByLastModifiedDate``, else the recorded date."""
        if self.in_progress:
            return "start_date"
        return "last_modified" if self.sort_by_last_modified else "recorded_date"

    def content_key(self) -> str:
        """Canonical JSON of the options that shape the file's bytes (selection is keyed
        separately)."""
        skip = {
            "continuationToken",
            "allowContinuation",
            "startDate",
            "endDate",
            "limit",
            "filterId",
        }
        kept = {k: v for k, v in self.raw.items() if k not in skip}
        kept["compress"] = self.compress
        kept["sortByLastModifiedDate"] = self.sort_by_last_modified and not self.in_progress
        return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode()


def validate_options(body: Any) -> ExportOptions:
    """Validate an export request body (the survey-dependent checks happen in
    :meth:`ExportManager.start`)."""
    if not isinstance(body, dict):
        raise ExportRequestError(E_BODY, "Invalid request. The request body must be a JSON object.")
    unknown = sorted(set(body) - set(OPTION_TYPES))
    if unknown:
        raise ExportRequestError(
            E_UNKNOWN_OPTION, f"Invalid request. Unrecognized parameter(s): {', '.join(unknown)}."
        )
    if "format" not in body:
        raise ExportRequestError(
            E_FORMAT_MISSING, "Invalid request. Missing or invalid parameter format."
        )
    for name, value in body.items():
        kind = OPTION_TYPES[name]
        ok = {
            "str": isinstance(value, str),
            "date": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "strlist": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[kind]
        if not ok:
            expected = {
                "str": "a string",
                "date": "an ISO 8601 string",
                "bool": "a boolean",
                "int": "an integer",
                "strlist": "an array of strings",
            }[kind]
            raise ExportRequestError(
                E_OPTION_TYPE, f"Invalid request. Parameter {name} must be {expected}."
            )
    fmt = body["format"]
    if fmt not in FORMATS:
        raise ExportRequestError(
            E_FORMAT_INVALID, f"Invalid request. Missing or invalid parameter format: {fmt!r}."
        )
    if fmt not in SUPPORTED_FORMATS:
        raise ExportRequestError(
            E_FORMAT_UNSUPPORTED, f"The format {fmt!r} is not supported by qualtrics-sandbox."
        )
    if fmt in ("json", "ndjson"):
        bad = [k for k in JSON_FORBIDDEN if k in body]
        if bad:
            raise ExportRequestError(
                E_JSON_FORBIDDEN,
                f"Invalid request. Parameter(s) {', '.join(bad)} cannot be used with format {fmt}.",
            )
    if body.get("includeLabelColumns") and body.get("useLabels"):
        raise ExportRequestError(
            E_LABELS_CONFLICT, "Invalid request. includeLabelColumns cannot be used with useLabels."
        )
    if "continuationToken" in body and "allowContinuation" in body:
        raise ExportRequestError(
            E_CONTINUATION_CONFLICT,
            "Invalid request. allowContinuation cannot be used with continuationToken.",
        )
    if "filterId" in body and (body.get("allowContinuation") or "continuationToken" in body):
        raise ExportRequestError(
            E_FILTER_CONTINUATION, "Invalid request. filterId cannot be used with continuation."
        )
    if "filterId" in body and body.get("sortByLastModifiedDate"):
        raise ExportRequestError(
            E_FILTER_SORT, "Invalid request. filterId cannot be used with sortByLastModifiedDate."
        )
    start = parse_date("startDate", body["startDate"]) if "startDate" in body else None
    end = parse_date("endDate", body["endDate"]) if "endDate" in body else None
    if start is not None and end is not None and start > end:
        raise ExportRequestError(
            E_DATE_RANGE, "Invalid request. startDate must not be after endDate."
        )
    limit = body.get("limit")
    if limit is not None and limit < 1:
        raise ExportRequestError(E_LIMIT, "Invalid request. limit must be a positive integer.")
    if "timeZone" in body:
        try:
            ZoneInfo(body["timeZone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ExportRequestError(
                E_TIMEZONE, f"Invalid request. Unknown timeZone {body['timeZone']!r}."
            ) from None
    if "seenUnansweredRecode" in body and body["seenUnansweredRecode"] < 0:
        raise ExportRequestError(
            E_OPTION_TYPE, "Invalid request. seenUnansweredRecode must be >= 0."
        )
    metadata = body.get("surveyMetadataIds")
    if metadata is not None:
        bad = [m for m in metadata if m not in METADATA_IDS]
        if bad:
            raise ExportRequestError(
                E_METADATA_UNKNOWN, f"Invalid request. Unknown surveyMetadataIds: {', '.join(bad)}."
            )
    token = body.get("continuationToken")
    if token is not None and not token:
        raise ExportRequestError(
            E_BAD_CONTINUATION, "Invalid request. continuationToken must not be empty."
        )
    return ExportOptions(
        raw=dict(body),
        format=fmt,
        start=start,
        end=end,
        limit=limit,
        compress=body.get("compress", True),
        in_progress=body.get("exportResponsesInProgress", False),
        sort_by_last_modified=body.get("sortByLastModifiedDate", False),
        allow_continuation=body.get("allowContinuation", False),
        continuation_token=token,
        filter_id=body.get("filterId"),
        question_ids=body.get("questionIds"),
        embedded_ids=body.get("embeddedDataIds"),
        metadata_ids=metadata,
    )


# --------------------------------------------------------------------------------------------------
# jobs and files
# --------------------------------------------------------------------------------------------------
@dataclass
class ExportFile:
    """A generated (or generating) export file on disk, shared by jobs with the same content key."""

    key: str
    path: Path
    survey_name: str
    format: str
    compress: bool
    total: int
    done: threading.Event = field(default_factory=threading.Event)
    rows_done: int = 0
    size: int = 0
    error: str | None = None

    @property
    def member_name(self) -> str:
        return f"{self.survey_name}.{self.format}"

    @property
    def content_type(self) -> str:
        return "application/zip" if self.compress else CONTENT_TYPES[self.format]

    @property
    def download_name(self) -> str:
        return f"{quote_plus(self.survey_name)}.{'zip' if self.compress else self.format}"

    def fraction(self) -> float:
        if self.done.is_set():
            return 1.0
        return self.rows_done / self.total if self.total else 0.0


@dataclass
class _Continuation:
    survey_id: str
    field: str
    cursor: tuple[datetime, str] | None
    issued_at: datetime


@dataclass
class ExportJob:
    """One export request: its progress knobs, its file once generated, and its continuation."""

    progress_id: str
    survey_id: str
    failed: bool
    polls_needed: int
    seconds_needed: float
    started: float
    file: ExportFile | None
    continuation: _Continuation | None
    polls: int = 0
    file_id: str | None = None
    continuation_token: str | None = None
    completed_at: datetime | None = None


class ExportManager:
    """All export jobs of one sandbox."""

    def __init__(
        self,
        account: Any,
        now: Callable[[], datetime],
        seed: int = 0,
        workdir: str | None = None,
        workers: int = 2,
        zip_level: int = 1,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.account = account
        self._now = now
        self._lock = threading.Lock()
        self._rng = random.Random(f"exports:{seed}")
        self._dir = tempfile.mkdtemp(prefix="qualtrics-sandbox-exports-", dir=workdir)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="sandbox-export"
        )
        self._cancel = threading.Event()
        self.zip_level = zip_level
        self.max_bytes = max_bytes
        #: per-survey caps that override ``max_bytes`` (``POST /_sandbox/limits``)
        self.max_bytes_by_survey: dict[str, int] = {}
        self._jobs: dict[str, ExportJob] = {}
        self._files_by_id: dict[str, ExportJob] = {}
        self._cache: dict[str, ExportFile] = {}
        self._tokens: dict[str, _Continuation] = {}
        self.counters = {
            "export_jobs": 0,
            "export_files_generated": 0,
            "export_files_reused": 0,
            "export_responses_rendered": 0,
            "export_generation_seconds": 0.0,
        }
        self._closed = False

    # -- ids ---------------------------------------------------------------------------------------
    def _new_progress_id(self) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "ES_" + "".join(self._rng.choice(alphabet) for _ in range(15))

    def _new_file_id(self) -> str:
        return f"{uuid.UUID(int=self._rng.getrandbits(128), version=4)}-def"

    def _new_token(self) -> str:
        return (
            uuid.UUID(int=self._rng.getrandbits(128), version=4).hex
            + uuid.UUID(int=self._rng.getrandbits(128), version=4).hex
        )

    # -- start -------------------------------------------------------------------------------------
    def start(
        self,
        survey: Any,
        body: Any,
        *,
        failed: bool,
        polls: int,
        seconds: float,
        start_exclusive: bool = False,
    ) -> dict[str, Any]:
        """Validate and start an export; returns the ``result`` of the start call.

        ``start_exclusive``: treat ``startDate`` as exclusive (Qualtrics documents it inclusive; a client
        must not depend on it)."""
        opts = validate_options(body)
        account = self.account
        with account.lock:
            self._check_survey_options(survey, opts)
            cont = self._resolve_token(survey.id, opts)
            records, cursor_field, cursor = self._select(survey, opts, cont, start_exclusive)
            # a file made under another size cap is not reused: it might not have failed under this one
            key = f"{self._content_key(survey, opts, records)}|cap={self._cap_for(survey.id)}"
            survey_name = survey.name
        with self._lock:
            progress_id = self._new_progress_id()
            export_file = None
            if not failed:
                export_file = self._cache.get(key)
                if export_file is None or export_file.error is not None:
                    export_file = ExportFile(
                        key=key,
                        path=Path(self._dir) / hashlib.sha256(key.encode()).hexdigest()[:32],
                        survey_name=survey_name,
                        format=opts.format,
                        compress=opts.compress,
                        total=len(records),
                    )
                    self._cache[key] = export_file
                    self._pool.submit(self._generate, export_file, survey, records, opts)
                else:
                    self.counters["export_files_reused"] += 1
            continuation = None
            if opts.wants_token:
                continuation = _Continuation(survey.id, cursor_field, cursor, self._now())
            job = ExportJob(
                progress_id=progress_id,
                survey_id=survey.id,
                failed=failed,
                polls_needed=polls,
                seconds_needed=seconds,
                started=time.monotonic(),
                file=export_file,
                continuation=continuation,
            )
            self._jobs[progress_id] = job
            self.counters["export_jobs"] += 1
        return {"progressId": progress_id, "percentComplete": 0.0, "status": "inProgress"}

    def _cap_for(self, survey_id: str) -> int:
        """The size past which this survey's export fails (Qualtrics: 1.8 GB)."""
        return self.max_bytes_by_survey.get(survey_id, self.max_bytes)

    def _check_survey_options(self, survey: Any, opts: ExportOptions) -> None:
        if opts.filter_id is not None:
            filters = getattr(self.account, "filters", {}).get(survey.id, [])
            if opts.filter_id not in {f.get("filterId") for f in filters}:
                raise ExportRequestError(
                    E_FILTER_UNKNOWN, f"Invalid request. Unknown filterId {opts.filter_id!r}."
                )
        if opts.question_ids is not None:
            known = set(survey.live_question_ids())
            bad = [q for q in opts.question_ids if q not in known]
            if bad:
                raise ExportRequestError(
                    E_QUESTION_UNKNOWN, f"Invalid request. Unknown questionIds: {', '.join(bad)}."
                )

    def _resolve_token(self, survey_id: str, opts: ExportOptions) -> _Continuation | None:
        if opts.continuation_token is None:
            return None
        with self._lock:
            cont = self._tokens.get(opts.continuation_token)
        if cont is None or cont.survey_id != survey_id:
            raise ExportRequestError(
                E_BAD_CONTINUATION, "Invalid request. The continuationToken is invalid."
            )
        if self._now() - cont.issued_at > RETENTION:
            raise ExportRequestError(
                E_BAD_CONTINUATION, "Invalid request. The continuationToken has expired."
            )
        return cont

    @staticmethod
    def _ts(rec: Any, name: str) -> datetime:
        value = getattr(rec, name, None)
        if value is None:
            value = rec.start_date
        return _aware(value)  # type: ignore[return-value]

    def _select(
        self,
        survey: Any,
        opts: ExportOptions,
        cont: _Continuation | None,
        start_exclusive: bool = False,
    ) -> tuple[list[Any], str, tuple[datetime, str] | None]:
        """The records of the export (in order) and the continuation cursor it leads to."""
        want_recorded = not opts.in_progress
        field_name = cont.field if cont is not None else opts.time_field
        pool = [r for r in survey.responses.values() if _recorded(r) == want_recorded]
        keyed = [((getattr(r, field_name), r.response_id), r) for r in pool]
        if not all(k[0] is not None and k[0].tzinfo is not None for k, _ in keyed):
            keyed = [
                ((self._ts(r, field_name), r.response_id), r) for r in pool
            ]  # naive or missing times
        old = cont.cursor if cont is not None else None
        picked = []
        for k, r in keyed:
            if opts.start is not None and (
                k[0] < opts.start or (start_exclusive and k[0] == opts.start)
            ):
                continue
            if opts.end is not None and k[0] >= opts.end:
                continue
            if old is not None and k <= old:
                continue
            picked.append((k, r))
        if opts.filter_id is not None:
            predicate = getattr(self.account, "filter_predicates", {}).get(opts.filter_id)
            if predicate is not None:
                picked = [(k, r) for k, r in picked if survey.filter_matches(r, predicate)]
        picked.sort(key=lambda kr: kr[0])
        truncated = opts.limit is not None and len(picked) > opts.limit
        if truncated:
            picked = picked[: opts.limit]
        # the cursor a follow-up continuation export starts after
        cursor: tuple[datetime, str] | None = None
        if keyed:
            cursor = (max(k for k, _ in keyed)[0], MAX_RID)
        if old is not None and (cursor is None or old > cursor):
            cursor = old
        if opts.end is not None and cursor is not None:
            cap = (opts.end - timedelta(microseconds=1), MAX_RID)
            if cap < cursor:
                cursor = max(cap, old) if old is not None else cap
        if truncated and picked:
            cursor = picked[-1][0]
        records = [r for _, r in picked]
        if opts.time_field != "last_modified" and field_name == "last_modified":
            # a token from a sortByLastModifiedDate export: keep this export's recorded-date order
            records.sort(key=lambda r: (self._ts(r, opts.time_field), r.response_id))
        return records, field_name, cursor

    def _content_key(self, survey: Any, opts: ExportOptions, records: list[Any]) -> str:
        h = hashlib.blake2b(digest_size=20)
        h.update(
            "\x00".join(
                [survey.id, survey.name, str(survey.last_modified), opts.content_key(), ""]
            ).encode()
        )
        for i in range(0, len(records), 10_000):
            h.update(
                orjson.dumps(
                    [
                        (
                            r.response_id,
                            getattr(r, "version", 0),
                            r.last_modified,
                            r.recorded_date,
                            r.finished,
                            r.progress,
                            getattr(r, "embedded", None),
                        )
                        for r in records[i : i + 10_000]
                    ],
                    option=orjson.OPT_NAIVE_UTC,
                )
            )
        return h.hexdigest()

    # -- progress ----------------------------------------------------------------------------------
    def progress(self, survey_id: str, progress_id: str) -> dict[str, Any] | None:
        """One poll; None when the job is unknown (404)."""
        self._await_small_file(progress_id)
        with self._lock:
            job = self._jobs.get(progress_id)
            if job is None or job.survey_id != survey_id:
                return None
            if job.completed_at is not None:
                return self._final_result(job)
            job.polls += 1
            fractions = []
            if job.polls_needed > 0:
                fractions.append(min(1.0, (job.polls - 1) / job.polls_needed))
            if job.seconds_needed > 0:
                fractions.append(min(1.0, (time.monotonic() - job.started) / job.seconds_needed))
            if job.file is not None:
                fractions.append(job.file.fraction())
            ready = _knobs_satisfied(job, job.polls)
            if ready and job.file is not None and not job.file.done.is_set():
                ready = False
            if not ready:
                pct = FULL_PERCENT * min(fractions) if fractions else 0.0
                return {
                    "percentComplete": min(pct, IN_PROGRESS_MAX_PERCENT)
                    if pct >= FULL_PERCENT
                    else pct,
                    "status": "inProgress",
                }
            job.completed_at = self._now()
            if job.file is not None and job.file.error is not None:
                job.failed = True
            if not job.failed:
                job.file_id = self._new_file_id()
                self._files_by_id[job.file_id] = job
                if job.continuation is not None:
                    job.continuation_token = self._new_token()
                    job.continuation.issued_at = job.completed_at
                    self._tokens[job.continuation_token] = job.continuation
            return self._final_result(job)

    def _await_small_file(self, progress_id: str) -> None:
        """On the poll that would complete the job, give its file up to FILE_WAIT_SECONDS to be written.

        A small file is then always ready on that poll, so how many polls an export takes depends on the
        ``export_polls`` / ``export_seconds`` knobs, not on thread scheduling (faults are drawn per poll).
        """
        with self._lock:
            job = self._jobs.get(progress_id)
            if job is None or job.completed_at is not None or job.file is None:
                return
            due = _knobs_satisfied(job, job.polls + 1)
            done = job.file.done
        if due:
            done.wait(FILE_WAIT_SECONDS)  # outside the lock: the writer takes it when it finishes

    @staticmethod
    def _final_result(job: ExportJob) -> dict[str, Any]:
        if job.failed:
            return {"fileId": None, "percentComplete": 100, "status": "failed"}
        result: dict[str, Any] = {
            "fileId": job.file_id,
            "percentComplete": 100.0,
            "status": "complete",
        }
        if job.continuation_token is not None:
            result["continuationToken"] = job.continuation_token
        return result

    def file(self, survey_id: str, file_id: str) -> ExportFile | None:
        """The finished file, or None when unknown, of another survey, or expired (404)."""
        with self._lock:
            job = self._files_by_id.get(file_id)
        if (
            job is None
            or job.survey_id != survey_id
            or job.file is None
            or job.completed_at is None
        ):
            return None
        if self._now() - job.completed_at > RETENTION:
            return None
        if not job.file.done.is_set() or job.file.error is not None:
            return None
        return job.file

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out = dict(self.counters)
            out["export_jobs_in_progress"] = sum(
                1 for j in self._jobs.values() if j.completed_at is None
            )
            out["export_files_on_disk"] = sum(
                1 for f in self._cache.values() if f.done.is_set() and not f.error
            )
            return out

    # -- generation --------------------------------------------------------------------------------
    def _generate(
        self, export_file: ExportFile, survey: Any, records: list[Any], opts: ExportOptions
    ) -> None:
        started = time.perf_counter()
        tmp = export_file.path.with_name(export_file.path.name + ".part")
        limit = self._cap_for(survey.id)
        try:
            with tmp.open("wb") as raw:
                if opts.compress:
                    zinfo = zipfile.ZipInfo(export_file.member_name, date_time=ZIP_DATE_TIME)
                    zinfo.compress_type = zipfile.ZIP_DEFLATED
                    zinfo.external_attr = 0o644 << 16
                    level_attr = (
                        "compress_level" if hasattr(zinfo, "compress_level") else "_compresslevel"
                    )
                    setattr(zinfo, level_attr, self.zip_level)  # public from Python 3.13 on
                    with (
                        zipfile.ZipFile(
                            raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.zip_level
                        ) as zf,
                        zf.open(zinfo, "w", force_zip64=True) as member,
                    ):
                        self._write_body(
                            _Limited(member, limit), export_file, survey, records, opts
                        )
                else:
                    self._write_body(_Limited(raw, limit), export_file, survey, records, opts)
            tmp.replace(export_file.path)
            export_file.size = export_file.path.stat().st_size
            with self._lock:
                self.counters["export_files_generated"] += 1
                self.counters["export_responses_rendered"] += len(records)
                self.counters["export_generation_seconds"] += time.perf_counter() - started
        except ExportCancelledError:
            export_file.error = "cancelled"
        except ExportTooLargeError:
            export_file.error = "too large"
        except Exception as exc:  # noqa: BLE001 - a broken generator fails the job, not the server
            export_file.error = f"{type(exc).__name__}: {exc}"
            sys.stderr.write(
                f"qualtrics-sandbox: export generation failed:\n{traceback.format_exc()}\n"
            )
        finally:
            if export_file.error is not None:
                with suppress(OSError):
                    tmp.unlink()
            export_file.done.set()

    def _chunks(
        self, export_file: ExportFile, survey: Any, records: list[Any], opts: ExportOptions
    ) -> Iterator[list[tuple[Any, dict]]]:
        add_lm = opts.time_field == "last_modified"
        qids, eids, mids = opts.question_ids, opts.embedded_ids, opts.metadata_ids
        for i in range(0, len(records), CHUNK):
            if self._cancel.is_set():
                raise ExportCancelledError
            chunk = records[i : i + CHUNK]
            # records are immutable snapshots and Survey.render is thread-safe: no lock needed
            rendered = [
                (r, survey.render(r, question_ids=qids, embedded_ids=eids, metadata_ids=mids))
                for r in chunk
            ]
            if add_lm:
                for r, out in rendered:
                    out["values"]["LastModifiedDate"] = iso_ms(r.last_modified)
            yield rendered
            export_file.rows_done = i + len(chunk)

    def _write_body(
        self,
        out: BinaryIO,
        export_file: ExportFile,
        survey: Any,
        records: list[Any],
        opts: ExportOptions,
    ) -> None:
        fmt = opts.format
        dumps = orjson.dumps
        if fmt == "json":
            out.write(b'{"responses":[')
            first = True
            for chunk in self._chunks(export_file, survey, records, opts):
                data = b",".join(dumps(item) for _, item in chunk)
                out.write(data if first else b"," + data)
                first = False
            out.write(b"]}")
        elif fmt == "ndjson":
            any_rows = False
            for chunk in self._chunks(export_file, survey, records, opts):
                parts = []
                for rec, item in chunk:
                    parts.append(dumps(item))
                    if zlib.crc32(rec.response_id.encode()) % 20 == 0:
                        parts.append(b"{}")
                out.write(b"\n".join(parts) + b"\n")
                any_rows = True
            if any_rows:
                out.write(b"{}\n")
        else:
            buf = io.StringIO()
            writer = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\r\n")
            csv_opts = {
                "include_display_order": bool(opts.raw.get("includeDisplayOrder", False)),
                "question_ids": opts.question_ids,
                "embedded_ids": opts.embedded_ids,
                "metadata_ids": opts.metadata_ids,
            }
            use_labels = bool(opts.raw.get("useLabels", False))
            tags, texts, import_ids = (list(row) for row in survey.csv_header_rows(**csv_opts))
            add_lm = opts.time_field == "last_modified"
            if add_lm:
                tags.append("LastModifiedDate")
                texts.append("Last Modified Date")
                import_ids.append('{"ImportId":"lastModifiedDate","timeZone":"Z"}')
            writer.writerows([tags, texts, import_ids])
            for chunk in self._chunks(export_file, survey, records, opts):
                for rec, item in chunk:
                    row = list(survey.csv_row(item, use_labels=use_labels, **csv_opts))
                    if add_lm:
                        row.append(
                            _aware(rec.last_modified).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                        )  # type: ignore[union-attr]
                    writer.writerow(row)
                out.write(buf.getvalue().encode("utf-8"))
                buf.seek(0)
                buf.truncate()
            out.write(buf.getvalue().encode("utf-8"))

    @property
    def workdir(self) -> str:
        """The directory holding this manager's export files (removed by :meth:`close`)."""
        return self._dir

    # -- shutdown ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop generation and remove every temporary file."""
        if self._closed:
            return
        self._closed = True
        self._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._dir, ignore_errors=True)


def _recorded(rec: Any) -> bool:
    """A recorded response (finished or closed), as opposed to one in progress."""
    recorded = getattr(rec, "recorded", None)
    return bool(rec.finished) if recorded is None else bool(recorded)


def _knobs_satisfied(job: ExportJob, polls: int) -> bool:
    """Whether a job polled ``polls`` times has waited out ``export_polls`` and ``export_seconds``."""
    return polls > job.polls_needed and time.monotonic() - job.started >= job.seconds_needed


class _Limited(io.RawIOBase):
    """A write-only wrapper that raises :class:`ExportTooLargeError` past ``limit`` bytes."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        super().__init__()
        self._inner = inner
        self._left = limit

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        n = len(data)
        self._left -= n
        if self._left < 0:
            raise ExportTooLargeError
        self._inner.write(data)
        return n

    def close(self) -> None:  # the inner stream is closed by its owner
        super().close()


def read_chunks(
    path: Path, size: int = 256 * 1024, stop_after: int | None = None
) -> Iterator[bytes]:
    """Yield a file's bytes in chunks (at most ``stop_after`` bytes when given)."""
    left = stop_after
    with path.open("rb") as fh:
        while True:
            want = size if left is None else min(size, left)
            if want <= 0:
                return
            data = fh.read(want)
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data
