"""Cutting an export window into shorter ones, for surveys too big for one Qualtrics export.

Qualtrics fails an export past 1.8 GB (status ``failed``). The tap then exports the same
``[start, end)`` window as consecutive shorter windows, in time order, so responses still arrive sorted
by last-modified date and the bookmark can follow them. Pure date arithmetic: no HTTP, no Singer.

Soundness never depends on guessing where the responses are: a window without a start keeps no start in
its first piece, and the pieces together cover exactly the window they replace. ``earliest`` (the survey's
creation date) only decides where to cut.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §14, §15.
"""

from __future__ import annotations

import pendulum

from tap_qualtrics.exports.engine import ExportWindow
from tap_qualtrics.model.timestamps import api_timestamp, pendulum_datetime

#: Windows shorter than this are not cut: no survey writes 1.8 GB of responses in a minute, so an export of
#: such a window that fails has another cause, and cutting on would only repeat it.
MIN_WINDOW_SECONDS = 60
#: Where to cut when neither the window nor the survey says when its responses may start.
FALLBACK_EARLIEST = "2002-01-01T00:00:00Z"


def split_window(
    window: ExportWindow, pieces: int, earliest: str | None = None
) -> list[ExportWindow]:
    """``window`` as up to ``pieces`` consecutive windows of equal length, cut on whole seconds.

    Returns ``[window]`` when it is too short to cut (under two :data:`MIN_WINDOW_SECONDS`).
    """
    lower = _lower_bound(window, earliest)
    upper = pendulum_datetime(window.end)
    seconds = int((upper - lower).total_seconds())
    count = min(max(pieces, 1), seconds // MIN_WINDOW_SECONDS)
    if count < 2:  # noqa: PLR2004 - one piece is the window itself
        return [window]
    cuts = [api_timestamp(lower.add(seconds=seconds * index // count)) for index in range(1, count)]
    starts = [window.start, *cuts]
    ends = [*cuts, window.end]
    return [ExportWindow(start=start, end=end) for start, end in zip(starts, ends, strict=True)]


def _lower_bound(window: ExportWindow, earliest: str | None) -> pendulum.DateTime:
    """Where the cuts start: the window's own start, else the survey's creation, else a fixed past date."""
    if window.start is not None:
        return pendulum_datetime(window.start)
    upper = pendulum_datetime(window.end)
    for candidate in (earliest, FALLBACK_EARLIEST):
        if candidate:
            moment = pendulum_datetime(api_timestamp(candidate))  # whole seconds, UTC
            if moment < upper:
                return moment
    return upper
