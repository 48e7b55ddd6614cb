"""``python -m bench.scaled_tap``: the tap on a clock that runs ``BENCH_TAP_CLOCK_SCALE`` times faster.

The account-scale benchmark compresses time: the sandbox's rate buckets and statistics run on a clock
``scale`` times faster than real time, its export jobs and latency are ``scale`` times shorter, and the tap
must wait the same way, or its own waits (the rate budget's 60.5 s window, the export poll interval, retry
delays) would stay at real length while everything else shrinks. So before the tap is imported,
``time.monotonic`` runs ``scale`` times faster and ``time.sleep`` sleeps ``1 / scale`` of what is asked:
the tap then makes exactly the decisions it makes at real speed (same limits, same window, same polling),
only sooner. Wall-clock time (``time.time``, ``datetime.now``) is untouched: bookmarks and the data stay
real. What cannot be compressed is CPU time, so a compressed run overstates the CPU's share of the time.
"""

from __future__ import annotations

import os
import time

ENV = "BENCH_TAP_CLOCK_SCALE"


def compress_time(scale: float) -> None:
    """Make ``time.monotonic`` run ``scale`` times faster and ``time.sleep`` ``scale`` times shorter."""
    if scale == 1:
        return
    real_monotonic, real_sleep = time.monotonic, time.sleep
    origin = real_monotonic()

    def monotonic() -> float:
        return origin + (real_monotonic() - origin) * scale

    def sleep(seconds: float) -> None:
        real_sleep(seconds / scale)

    time.monotonic = monotonic
    time.sleep = sleep


if __name__ == "__main__":
    compress_time(float(os.environ.get(ENV, "1")))
    # imported only now, so the defaults bound at import (clock=time.monotonic) are the compressed ones
    from tap_qualtrics.tap import TapQualtrics

    TapQualtrics.cli()
