"""``max_run_minutes``: a run stops starting response exports when its time is spent, and says what waits.

An account of thousands of surveys cannot be exported within one run at Qualtrics' 100 export starts a
minute. With a time box, a run exports surveys until the time is up, then defers the rest: their bookmarks
are unchanged, the run ends normally (exit 0) with one line naming how many were deferred, and the next run
starts with the stalest surveys (``responses`` orders its surveys by bookmark, oldest first), so every survey
is reached within a few runs and none starves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: deferred surveys named in the run's last line (the rest are counted)
NAMED_AT_MOST = 10


@dataclass
class TimeBox:
    """The run's time budget for starting exports (``minutes`` None: no limit)."""

    minutes: int | None
    #: seconds, monotonic; replaceable (tests)
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    #: surveys whose export was not started because the time was spent, in the order met
    deferred: list[str] = field(default_factory=list)

    def spent(self) -> bool:
        """Whether no new export may start."""
        return self.minutes is not None and self.clock() - self.started >= self.minutes * 60

    def summary(self, noun: str = "survey") -> str:
        """One sentence about the deferred surveys ("" when none was deferred)."""
        count = len(self.deferred)
        if not count:
            return ""
        shown = ", ".join(self.deferred[:NAMED_AT_MOST]) + (
            ", ..." if count > NAMED_AT_MOST else ""
        )
        plural = noun if count == 1 else noun + "s"
        return (
            f"max_run_minutes ({self.minutes}) was reached: {count} {plural} deferred to the next run, "
            f"which starts with them (their bookmarks are unchanged): {shown}."
        )
