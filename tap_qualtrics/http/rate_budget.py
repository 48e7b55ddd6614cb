"""One request budget for the whole run, shared by every thread, inside Qualtrics' rate limits.

Qualtrics counts requests per brand (3,000/min) and per export endpoint (start 100/min, progress 1,000/min,
file 100/min) and answers 429 beyond that. With several exports in flight at once the tap could exceed those
limits itself, so every request first takes a slot here. A sliding log per bucket guarantees that no window
of ``window`` seconds ever holds more than the bucket's limit (the way the API counts).

The Qualtrics API facts this relies on: docs/qualtrics-api.md §6.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

#: Qualtrics' documented limits per minute.
DEFAULT_LIMITS: dict[str, int] = {
    "brand": 3000,
    "export_start": 100,
    "export_progress": 1000,
    "export_file": 100,
}
#: A minute plus a margin: requests can reach the server in a different order than they left.
WINDOW_SECONDS = 60.5
LOG_WAITS_LONGER_THAN = 1.0

_EXPORT_START = re.compile(r"/surveys/[^/]+/export-responses/?$")
_EXPORT_FILE = re.compile(r"/surveys/[^/]+/export-responses/[^/]+/file/?$")
_EXPORT_PROGRESS = re.compile(r"/surveys/[^/]+/export-responses/[^/]+/?$")

logger = logging.getLogger("tap-qualtrics.ratebudget")


def buckets_for(method: str, path: str) -> tuple[str, ...]:
    """The buckets a request to ``path`` (URL path, query excluded) counts against."""
    method = method.upper()
    if method == "POST" and _EXPORT_START.search(path):
        return ("brand", "export_start")
    if method == "GET" and _EXPORT_FILE.search(path):
        return ("brand", "export_file")
    if method == "GET" and _EXPORT_PROGRESS.search(path):
        return ("brand", "export_progress")
    return ("brand",)


class RateBudget:
    """Thread-safe sliding-window limiter over named buckets; ``acquire`` blocks until every bucket has room."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {name: deque() for name in self.limits}

    def acquire(self, buckets: Iterable[str]) -> float:
        """Take one slot in each of ``buckets`` (unknown names are unlimited); returns seconds waited."""
        names = [name for name in buckets if name in self.limits]
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = 0.0
                for name in names:
                    sent = self._sent[name]
                    while sent and sent[0] <= now - self._window:
                        sent.popleft()
                    if len(sent) >= self.limits[name]:
                        wait = max(wait, sent[len(sent) - self.limits[name]] + self._window - now)
                if wait <= 0:
                    for name in names:
                        self._sent[name].append(now)
                    return waited
            if wait > LOG_WAITS_LONGER_THAN:
                logger.info(
                    "Waiting %.1f s for the Qualtrics rate budget (%s)", wait, ", ".join(names)
                )
            self._sleep(wait)
            waited += wait
