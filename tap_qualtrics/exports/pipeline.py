"""Several surveys' exports in flight at once, handed back one at a time in the order asked for.

Qualtrics exports are server-side jobs that mostly make the client wait. While the records of one survey are
parsed and emitted, up to ``max_in_flight`` later surveys' exports are started, polled and downloaded to
temporary files by worker threads (the run's rate budget keeps them inside Qualtrics' limits). Knows nothing of
Singer: it is given a function that fetches one export into a file.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §6, §11.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

from tap_qualtrics.exports.engine import ExportWindow

logger = logging.getLogger("tap-qualtrics.exports")

Fetch = Callable[[str, ExportWindow], IO[bytes]]


class ExportPipeline:
    """Prefetches exports ahead of the one being read; ``take`` returns a survey's downloaded file."""

    def __init__(self, fetch: Fetch, max_in_flight: int) -> None:
        self._fetch = fetch
        self._max_in_flight = max_in_flight
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, tuple[ExportWindow, Future[IO[bytes]]]] = {}

    @property
    def concurrent(self) -> bool:
        return self._max_in_flight > 1

    def prefetch(self, survey_id: str, window: ExportWindow) -> None:
        """Start fetching ``survey_id`` in the background (no-op when sequential or already pending)."""
        if not self.concurrent or survey_id in self._pending:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self._max_in_flight, thread_name_prefix="tap-qualtrics-export"
            )
        self._pending[survey_id] = (window, self._pool.submit(self._fetch, survey_id, window))

    def started(self, survey_id: str) -> bool:
        """Whether an export of ``survey_id`` was handed to the workers (and will cost nothing more)."""
        return survey_id in self._pending

    def take(self, survey_id: str, window: ExportWindow) -> IO[bytes]:
        """The downloaded export of ``survey_id`` for ``window`` (raises what fetching it raised)."""
        pending = self._pending.pop(survey_id, None)
        if pending is not None:
            planned, future = pending
            if planned == window:
                return future.result()
            _discard(future)  # planned from a bookmark that changed since: export again
        return self._fetch(survey_id, window)

    def close(self) -> None:
        """Cancel exports not started yet and delete the files of those nobody will read."""
        for _, future in self._pending.values():
            _discard(future)
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _discard(future: Future[IO[bytes]]) -> None:
    if future.cancel():
        return
    future.add_done_callback(_close_result)


def _close_result(future: Future[IO[bytes]]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()
