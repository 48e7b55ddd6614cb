"""Time helpers for the sandbox: UTC now (millisecond precision) and Qualtrics-style ISO strings.

Qualtrics writes most timestamps as ``2024-01-02T03:04:05Z`` and a few (``recordedDate``, distribution
history times) with milliseconds, ``2024-01-02T03:04:05.123Z``. CSV exports use ``2024-01-02 03:04:05``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ONE_MS", "UTC", "csv_datetime", "iso", "iso_ms", "parse_iso", "truncate_ms", "utcnow"]
ONE_MS = timedelta(milliseconds=1)


def utcnow() -> datetime:
    """The real current time, aware UTC, truncated to whole milliseconds."""
    return truncate_ms(datetime.now(UTC))


def truncate_ms(dt: datetime) -> datetime:
    """Drop sub-millisecond precision (and make naive datetimes UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset() != timedelta(0):
        dt = dt.astimezone(UTC)
    return dt.replace(microsecond=(dt.microsecond // 1000) * 1000)


def iso(dt: datetime | None) -> str | None:
    """``2024-01-02T03:04:05Z`` (seconds precision), None stays None."""
    if dt is None:
        return None
    return dt.isoformat(timespec="seconds")[:19] + "Z"


def iso_ms(dt: datetime | None) -> str | None:
    """``2024-01-02T03:04:05.123Z`` (milliseconds), None stays None."""
    if dt is None:
        return None
    return dt.isoformat(timespec="milliseconds")[:23] + "Z"


def csv_datetime(dt: datetime | None) -> str:
    """``2024-01-02 03:04:05`` as in CSV exports (UTC); empty string for None."""
    if dt is None:
        return ""
    return dt.isoformat(sep=" ", timespec="seconds")[:19]


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 string (``Z`` or offset, optional fraction) to an aware UTC datetime."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
