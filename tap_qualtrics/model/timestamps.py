"""One timestamp form for everything the tap emits or stores.

Qualtrics mixes ``...:18Z``, ``...:18.487Z`` and offsets. Bookmarks are compared as strings by the SDK,
so every timestamp leaves the tap as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, fixed microsecond precision),
where lexicographic order equals time order. Empty strings become ``None`` (targets reject ``""`` dates).
"""

from __future__ import annotations

import datetime
import re

import pendulum
from pendulum.parsing.exceptions import ParserError

UTC = datetime.UTC

# The shapes Qualtrics actually sends, normalised without parsing (the record path runs this per field).
_UTC_ZULU = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{1,6}))?Z")
_STARTS_WITH_DATE = re.compile(r"\d{4}-\d\d")


class InvalidTimestampError(ValueError):
    """A value that is not an ISO-8601 timestamp."""


def parse_timestamp(value: str | datetime.datetime) -> datetime.datetime:
    """Parse an ISO-8601 timestamp into an aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        text = value.strip()
        if not _STARTS_WITH_DATE.match(text):  # pendulum would read "12:00" as today
            raise InvalidTimestampError(f"{value!r} is not an ISO-8601 timestamp")
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            parsed = pendulum_datetime(text)  # e.g. "2020-04-08 20:25:50", "2020-W15"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def pendulum_datetime(text: str) -> pendulum.DateTime:
    """``text`` as a pendulum date-time; a date, time or duration alone (which pendulum also reads) is refused."""
    try:
        parsed = pendulum.parse(text)
    except (ValueError, ParserError) as error:
        raise InvalidTimestampError(f"{text!r} is not an ISO-8601 timestamp") from error
    if not isinstance(parsed, pendulum.DateTime):
        raise InvalidTimestampError(f"{text!r} is not an ISO-8601 timestamp")
    return parsed


def format_timestamp(moment: datetime.datetime) -> str:
    """Render an aware datetime in the tap's one form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: object) -> str | None:
    """Normalise a Qualtrics timestamp field; ``None``/empty stay ``None``."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return format_timestamp(value)
    if not isinstance(value, str):
        raise InvalidTimestampError(f"{value!r} is not an ISO-8601 timestamp")
    if not value or value.isspace():
        return None
    match = _UTC_ZULU.fullmatch(value)
    if match:
        fraction = match.group(1) or ""
        return f"{value[:19]}.{fraction.ljust(6, '0')}Z"
    return format_timestamp(parse_timestamp(value))


def normalize_or_none(value: object) -> str | None:
    """Like :func:`normalize_timestamp`, but garbage becomes ``None`` instead of failing a sync."""
    try:
        return normalize_timestamp(value)
    except InvalidTimestampError:
        return None


def api_timestamp(moment: datetime.datetime | str) -> str:
    """Render a bound for a Qualtrics request, floored to whole seconds (``...:SSZ``).

    Whole seconds is the form every Qualtrics example uses. Flooring an inclusive start only widens the
    window (records before the bookmark are dropped by the caller), so nothing is lost.
    """
    parsed = parse_timestamp(moment)
    return parsed.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_end(run_started_at: datetime.datetime, safety_lag_seconds: int) -> str:
    """End (exclusive) of this run's export window: run start minus the lag, whole seconds.

    Whole seconds so that the bookmark stored afterwards equals the ``endDate`` that was sent.
    """
    end = pendulum.instance(run_started_at).in_timezone("UTC").subtract(seconds=safety_lag_seconds)
    return format_timestamp(end.replace(microsecond=0))
