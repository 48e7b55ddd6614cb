"""Rate budget: the tap never exceeds the configured per-brand and per-endpoint rates, as the sandbox
measures them, with one export or several in flight, and backs off for as long as a 429's Retry-After
says.

The budget's window is a real minute; to keep the suite fast the tap's budget, the sandbox's rate
limiter and the sandbox's request statistics share one virtual clock that jumps forward whenever the
budget would sleep (in process, no wall-clock waiting). A jump never overtakes a request already let
through (see :class:`VirtualClock`), so the sandbox sees each request at the virtual time the budget
granted its slot, as it would with real time, however many export threads share the budget."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support.reliability import catalog_for, config_for, truth_responses
from support.tap import sandbox
from support.taprun import run_tap_in_process

from tap_qualtrics.http.rate_budget import RateBudget

EXPORT_START = "POST /surveys/{surveyId}/export-responses"
EXPORT_FILE = "GET /surveys/{surveyId}/export-responses/{fileId}/file"
LIMITS = {"brand": 40, "export_start": 2, "export_progress": 6, "export_file": 2}
#: real seconds a jump may wait for requests already let through to reach the sandbox
DRAIN_TIMEOUT = 20.0


class VirtualClock:
    """Monotonic time plus an offset; ``sleep`` moves the offset instead of waiting.

    The budget reads the time through :meth:`budget_now` each time it decides on a request; that decision
    stays *pending* until the budget sleeps instead (:meth:`sleep`) or the sandbox has handled the
    request it let through (:meth:`handled`). A jump waits (real milliseconds) until nothing is pending,
    so it never falls between a granted slot and the request's arrival: each request reaches the sandbox
    at its grant time plus the real time of the loopback call, as with a real clock.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._changed = threading.Condition()
        self._pending = 0
        self.slept = 0.0
        self.jumps = 0
        self.errors: list[str] = []

    def now(self) -> float:
        return time.monotonic() + self._offset

    def budget_now(self) -> float:
        with self._changed:
            self._pending += 1
            return time.monotonic() + self._offset

    def handled(self) -> None:
        with self._changed:
            self._pending -= 1
            if self._pending < 0:
                self.errors.append("the sandbox handled a request the budget never let through")
            self._changed.notify_all()

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self._pending -= 1  # the budget's decision was to wait, not to send
            target = time.monotonic() + self._offset + max(seconds, 0.0)
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: self._pending <= 0, timeout=DRAIN_TIMEOUT):
                self.errors.append(f"requests let through did not arrive within {DRAIN_TIMEOUT} s")
                raise RuntimeError(self.errors[-1])
            jump = target - time.monotonic() - self._offset
            if jump > 0:
                self._offset += jump
                self.jumps += 1
            self.slept += max(seconds, 0.0)


class _LoggedBudget(RateBudget):
    """The run's budget, remembering when (virtual time) each request was let through."""

    def __init__(self, clock: VirtualClock, limits: Any) -> None:
        super().__init__(limits, clock=clock.budget_now, sleep=clock.sleep)
        self._now = clock.now
        self.granted: list[tuple[float, tuple[str, ...]]] = []
        self._log_lock = threading.Lock()

    def acquire(self, buckets: Any) -> float:
        names = tuple(buckets)
        waited = super().acquire(names)
        with self._log_lock:  # no jump can happen before this request reaches the sandbox
            self.granted.append((self._now(), names))
        return waited


@contextmanager
def _sandbox_on(clock: VirtualClock, **options: Any) -> Iterator[tuple[Any, list]]:
    """A sandbox whose statistics and rate limiter (at ``LIMITS``) run on ``clock``, and which tells the
    clock when it has handled each API request. Also yields the arrivals: (virtual time, endpoint, path)."""
    with sandbox(**options) as handle:
        handle.app.set_rate_clock(clock.now)  # before configuring: the buckets take the clock then
        handle.set_rate_limits({"enabled": True, "limits": LIMITS})
        handle.reset_stats()
        arrivals: list[tuple[float, str, str]] = []

        @contextmanager
        def counted(method: str, path: str) -> Iterator[None]:
            try:
                arrivals.append((clock.now(), method, path))
                yield
            finally:
                clock.handled()

        handle.app.add_api_observer(counted)
        yield handle, arrivals


def _sync(handle: Any, clock: VirtualClock, concurrent: int) -> tuple[Any, Any, int]:
    config = config_for(
        handle,
        oauth=False,
        rate_limits_per_minute=LIMITS,
        max_concurrent_exports=concurrent,
        max_retries=0,  # a 429 from the sandbox's own rate limiter would fail the survey
    )
    budgets: list[_LoggedBudget] = []

    def log_the_budget(tap: Any) -> None:
        budgets.append(_LoggedBudget(clock, tap.run.settings.rate_limits))
        tap.run.__dict__["rate_budget"] = budgets[0]

    run = run_tap_in_process(config, catalog=catalog_for(["responses"]), prepare=log_the_budget)
    records = sum(
        1 for line in run.stdout.splitlines() if '"type":"RECORD"' in line.replace(" ", "")
    )
    return run.tap, budgets[0], records


def _max_in_flight(arrivals: list[tuple[float, str, str]]) -> int:
    """The most exports started and not yet downloaded at once, in the order the sandbox saw them."""
    started: set[str] = set()
    most = 0
    for _, method, path in arrivals:
        survey = path.split("/surveys/")[-1].split("/")[0] if "/export-responses" in path else None
        if survey is None:
            continue
        if method == "POST":
            started.add(survey)
        elif path.endswith("/file"):
            started.discard(survey)
        most = max(most, len(started))
    return most


@pytest.mark.parametrize("concurrent", [1, 4, 8])
def test_the_tap_stays_inside_the_configured_budget(concurrent: int) -> None:
    """The sandbox's own sliding-minute counts of the requests it received stay within every configured
    limit, with one export at a time and with four or eight in flight sharing the run's one budget."""
    surveys = 8
    clock = VirtualClock()
    options = {"seed": 401 + concurrent, "surveys": surveys, "responses": 4}
    with _sandbox_on(clock, **options) as (handle, arrivals):
        tap, budget, records = _sync(handle, clock, concurrent)
        stats = handle.stats()
        truth = truth_responses(handle.truth())

    assert clock.errors == []
    assert not tap.run.failures, tap.run.failures.summary()
    assert records == len(truth)
    rejected = stats["rate_limits"]["rejected"]
    assert not any(rejected.values()), rejected
    assert stats["requests"][EXPORT_START] == surveys
    for bucket, limit in LIMITS.items():
        assert stats["bucket_max_per_minute"].get(bucket, 0) <= limit, (
            bucket,
            stats["bucket_max_per_minute"],
        )
    assert stats["max_per_minute"][EXPORT_START] <= LIMITS["export_start"]
    assert stats["max_per_minute"][EXPORT_FILE] <= LIMITS["export_file"]
    # the limits were reached (the check is not vacuous): the budget had to wait, and the sandbox
    # saw full minutes of export starts
    assert stats["bucket_max_per_minute"]["export_start"] == LIMITS["export_start"]
    assert stats["elapsed_seconds"] >= 60 * (surveys // LIMITS["export_start"] - 1)
    assert (
        len(budget.granted) == stats["total_requests"] == len(arrivals)
    )  # every request took a slot
    # the tap's own slot log agrees: no sliding minute of grants holds more than a bucket's limit
    for bucket, limit in LIMITS.items():
        times = sorted(t for t, names in budget.granted if bucket in names)
        for index, start in enumerate(times):
            in_window = [t for t in times[index:] if t < start + 60.0]
            assert len(in_window) <= limit, (bucket, start, in_window)
    if concurrent > 1:
        assert _max_in_flight(arrivals) >= 3, "the exports did not overlap"
    else:
        assert _max_in_flight(arrivals) == 1


def test_429_is_retried_after_retry_after() -> None:
    """Real time: every 429 carries Retry-After: 1, and the tap waits at least that long each time."""
    with sandbox(seed=402, surveys=1, responses=4) as handle:
        handle.set_faults({"http_429": 0.3, "retry_after_seconds": 1, "seed": 6})
        config = config_for(handle, oauth=False, max_retries=8)
        started = time.monotonic()
        run = run_tap_in_process(config, catalog=catalog_for(["responses"]))
        tap, seen = run.tap, run.log_messages
        elapsed = time.monotonic() - started
        fired = handle.stats()["faults_fired"].get("http_429", 0)
        truth = truth_responses(handle.truth())
    out = run.stdout
    waits = [
        float(m.group(1)) for m in map(re.compile(r"Retrying .* in ([0-9.]+) s").search, seen) if m
    ]
    assert not tap.run.failures
    assert out.count('"type":"RECORD"') + out.count('"type": "RECORD"') == len(truth)
    assert fired >= 1 and len(waits) == fired
    assert all(wait >= 1.0 for wait in waits)
    assert elapsed >= fired * 1.0
