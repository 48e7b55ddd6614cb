"""Account streams read window by window: incremental per partition without a modified-since filter.

A partition's window is ``[bookmark, run start - export_safety_lag_seconds)`` (the whole past on a
first sync). A stream reads the window (or consecutive parts of it), sorts each part before emitting
it and then moves the bookmark to the part's end, so an interrupted run resumes at the last finished
part.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.streams.account import AccountStream


class WindowedStream(AccountStream):
    """Base of ``contacts`` and ``distributions``: :meth:`window_records` reads one partition's
    window; a failure ends that partition only."""

    @property
    @override
    def is_sorted(self) -> bool:
        """Each window is sorted before it is emitted: the bookmark follows the records."""
        return True

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not context:
            return
        start = self.stored_bookmark(context)
        end = self.run.export_window_end
        if start is not None and start >= end:
            return
        yield from self.guarded(
            self.window_records(context, start, end), context, self.partition_label(context)
        )

    def window_records(self, context: Context, start: str | None, end: str) -> Iterator[Record]:
        """The partition's records modified in ``[start, end)``, sorted, calling
        :meth:`finish_window` after each part."""
        raise NotImplementedError

    def finish_window(self, context: Context, window_end: str) -> None:
        """Every record modified before ``window_end`` was emitted: the bookmark moves there."""
        self.write_bookmark(context, window_end)
