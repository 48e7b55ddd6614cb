"""Rate budget: the tap never exceeds the configured per-brand and per-endpoint rates, as the sandbox
measures them, and backs off for as long as a 429's Retry-After says.

The budget's window is a real minute; to keep the suite fast the tap's budget, the sandbox's rate
limiter and the sandbox's request statistics share one virtual clock that jumps forward whenever the
budget would sleep (in process, no wall-clock waiting)."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import pytest
from reliability_testing import catalog_for, config_for, truth_responses
from tap_testing import sandbox

from tap_qualtrics.ratebudget import RateBudget
from tap_qualtrics.tap import TapQualtrics

EXPORT_START = "POST /surveys/{surveyId}/export-responses"


class VirtualClock:
    """Monotonic time plus an offset; ``sleep`` moves the offset instead of waiting."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            target = time.monotonic() + self._offset + max(seconds, 0.0)
            self._offset = max(self._offset, target - time.monotonic())
            self.slept += max(seconds, 0.0)


def _run_on_virtual_time(
    config: dict[str, Any], clock: VirtualClock, capsys: pytest.CaptureFixture[str]
):
    tap = TapQualtrics(config=config, catalog=catalog_for(["responses"]))
    tap.run.__dict__["rate_budget"] = RateBudget(
        tap.run.settings.rate_limits, clock=clock.now, sleep=clock.sleep
    )
    tap.sync_all()
    out = capsys.readouterr().out
    return tap, [line for line in out.splitlines() if '"type":"RECORD"' in line.replace(" ", "")]


def test_the_tap_stays_inside_the_configured_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """One export at a time: with several in flight a jump of the virtual clock can overtake a request
    that is already on its way, which real time never does (the budget's 0.5 s margin covers that)."""
    concurrent = 1
    clock = VirtualClock()
    limits = {"brand": 40, "export_start": 2, "export_progress": 6, "export_file": 2}
    with sandbox(seed=401, surveys=6, responses=6) as handle:
        app = handle.app
        app.stats._clock = clock.now
        app.ratelimiter._clock = clock.now
        handle.set_rate_limits({"enabled": True, "limits": limits})
        handle.reset_stats()
        app.stats._started = clock.now()
        config = config_for(
            handle,
            oauth=False,
            rate_limits_per_minute=limits,
            max_concurrent_exports=concurrent,
            max_retries=0,
        )
        tap, records = _run_on_virtual_time(config, clock, capsys)
        stats = handle.stats()
        truth = truth_responses(handle.truth())

    assert not tap.run.failures, tap.run.failures.summary()
    assert len(records) == len(truth)
    assert stats["rate_limits"]["rejected"] in (0, {}) or not any(
        stats["rate_limits"]["rejected"].values()
    )
    assert stats["max_per_minute"][EXPORT_START] <= limits["export_start"]
    for bucket, limit in limits.items():
        assert stats["bucket_max_per_minute"].get(bucket, 0) <= limit, (
            bucket,
            stats["bucket_max_per_minute"],
        )
    assert stats["requests"][EXPORT_START] == 6
    assert clock.slept >= 120  # six export starts at two a minute: the budget had to wait


def test_429_is_retried_after_retry_after(capsys: pytest.CaptureFixture[str]) -> None:
    """Real time: every 429 carries Retry-After: 1, and the tap waits at least that long each time."""
    with sandbox(seed=402, surveys=1, responses=4) as handle:
        handle.set_faults({"http_429": 0.3, "retry_after_seconds": 1, "seed": 6})
        config = config_for(handle, oauth=False, max_retries=8)
        started = time.monotonic()
        tap = TapQualtrics(config=config, catalog=catalog_for(["responses"]))
        seen: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger().addHandler(handler)
        try:
            tap.sync_all()
        finally:
            logging.getLogger().removeHandler(handler)
        elapsed = time.monotonic() - started
        fired = handle.stats()["faults_fired"].get("http_429", 0)
        truth = truth_responses(handle.truth())
    out = capsys.readouterr().out
    waits = [
        float(m.group(1)) for m in map(re.compile(r"Retrying .* in ([0-9.]+) s").search, seen) if m
    ]
    assert not tap.run.failures
    assert out.count('"type":"RECORD"') + out.count('"type": "RECORD"') == len(truth)
    assert fired >= 1 and len(waits) == fired
    assert all(wait >= 1.0 for wait in waits)
    assert elapsed >= fired * 1.0


class _LoggedBudget(RateBudget):
    """The run's budget, remembering when (virtual time) each request was let through."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.granted: list[tuple[float, tuple[str, ...]]] = []
        self._log_lock = threading.Lock()

    def acquire(self, buckets: Any) -> float:
        names = tuple(buckets)
        waited = super().acquire(names)
        with self._log_lock:
            self.granted.append((self._clock(), names))
        return waited


def test_concurrent_exports_share_one_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """Three exports in flight: no sliding minute of the grants holds more than a bucket's limit."""
    clock = VirtualClock()
    limits = {"brand": 40, "export_start": 2, "export_progress": 6, "export_file": 2}
    with sandbox(seed=403, surveys=6, responses=6) as handle:
        config = config_for(
            handle, oauth=False, rate_limits_per_minute=limits, max_concurrent_exports=3
        )
        tap = TapQualtrics(config=config, catalog=catalog_for(["responses"]))
        budget = _LoggedBudget(tap.run.settings.rate_limits, clock=clock.now, sleep=clock.sleep)
        tap.run.__dict__["rate_budget"] = budget
        tap.sync_all()
        stats = handle.stats()
        truth = truth_responses(handle.truth())
    records = [line for line in capsys.readouterr().out.splitlines() if '"RECORD"' in line]

    assert not tap.run.failures, tap.run.failures.summary()
    assert len(records) == len(truth)
    assert len(budget.granted) == stats["total_requests"]  # every request took a slot
    for bucket, limit in limits.items():
        times = sorted(t for t, names in budget.granted if bucket in names)
        for index, start in enumerate(times):
            in_window = [t for t in times[index:] if t < start + 60.0]
            assert len(in_window) <= limit, (bucket, start, in_window)
    assert clock.slept >= 120
