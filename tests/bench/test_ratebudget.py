"""The run's rate budget: never more requests per window than a bucket allows, under many threads."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tap_qualtrics.http.rate_budget import RateBudget, buckets_for


class FakeTime:
    """A clock that only moves when someone sleeps (so the test waits for nothing)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()
        self.slept = 0.0

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/API/v3/surveys/SV_1/export-responses", ("brand", "export_start")),
        ("GET", "/API/v3/surveys/SV_1/export-responses/ES_9", ("brand", "export_progress")),
        ("GET", "/API/v3/surveys/SV_1/export-responses/FILE_9/file", ("brand", "export_file")),
        ("GET", "/API/v3/surveys", ("brand",)),
        ("GET", "/API/v3/surveys/SV_1", ("brand",)),
    ],
)
def test_requests_are_counted_against_their_buckets(
    method: str, path: str, expected: tuple
) -> None:
    assert buckets_for(method, path) == expected


def test_threads_never_exceed_any_bucket_in_any_window() -> None:
    fake = FakeTime()
    budget = RateBudget(
        {"brand": 7, "export_start": 3, "export_progress": 5},
        window=60.0,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    taken: list[tuple[str, float]] = []
    lock = threading.Lock()

    def worker(bucket: str) -> None:
        for _ in range(6):
            budget.acquire(("brand", bucket))
            with lock:
                taken.append((bucket, fake.clock()))

    threads = [
        threading.Thread(target=worker, args=(b,)) for b in ("export_start", "export_progress") * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(bucket for bucket, _ in taken) == {"export_start": 18, "export_progress": 18}
    assert _max_in_window([t for _, t in taken], 60.0) <= 7
    assert _max_in_window([t for b, t in taken if b == "export_start"], 60.0) <= 3
    assert _max_in_window([t for b, t in taken if b == "export_progress"], 60.0) <= 5
    assert fake.slept > 0  # 36 requests at 7 per minute: the budget had to make them wait


def test_unlimited_names_and_default_limits() -> None:
    fake = FakeTime()
    budget = RateBudget(clock=fake.clock, sleep=fake.sleep)
    assert budget.limits == {
        "brand": 3000,
        "export_start": 100,
        "export_progress": 1000,
        "export_file": 100,
    }
    for _ in range(100):
        assert budget.acquire(("brand", "export_start", "no_such_bucket")) == 0.0
    assert budget.acquire(("export_start",)) == pytest.approx(60.5)
