"""Qualtrics-style rate limits (leaky buckets) and request statistics.

Buckets (requests per minute, per brand):

========================  =====  =================================================
bucket                    limit  requests
========================  =====  =================================================
``brand``                  3000  every authenticated ``/API/v3`` request
``export_start``            100  ``POST /surveys/{id}/export-responses``
``export_progress``        1000  ``GET /surveys/{id}/export-responses/{progressId}``
``export_file``             100  ``GET /surveys/{id}/export-responses/{fileId}/file``
``distribution_history``    300  ``GET /distributions/{id}/history``
========================  =====  =================================================

Each bucket holds up to ``limit`` requests and drains at ``limit / 60`` requests per second, so a
client may burst a minute's worth and then sustain the per-minute rate. A request must fit in the
brand bucket *and* its endpoint bucket; otherwise it gets 429 and ``Retry-After`` (the configured
``retry_after_seconds``, or else the whole seconds until one slot drains, at least 1). Real time
(``time.monotonic``), not the sandbox's virtual clock, drives the buckets.

:class:`RequestStats` counts every request per endpoint and records the most requests seen in any
sliding 60-second window, so tests can prove a client stays within the budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

DEFAULT_LIMITS: dict[str, int] = {
    "brand": 3000,
    "export_start": 100,
    "export_progress": 1000,
    "export_file": 100,
    "distribution_history": 300,
}


class RateLimitConfigError(ValueError):
    """The posted rate-limit configuration is invalid."""


class LeakyBucket:
    """A leaky bucket of ``capacity`` requests draining ``capacity / 60`` per second."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = self.capacity / 60.0
        self._clock = clock
        self.level = 0.0
        self._last = clock()

    def _drain(self) -> None:
        now = self._clock()
        self.level = max(0.0, self.level - (now - self._last) * self.rate)
        self._last = now

    def wait_time(self) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        self._drain()
        if self.level + 1.0 <= self.capacity + 1e-9:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (self.level + 1.0 - self.capacity) / self.rate

    def add(self) -> None:
        self.level += 1.0


class RateLimiter:
    """The per-brand buckets; thread-safe."""

    def __init__(
        self,
        enabled: bool = True,
        limits: dict[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.enabled = enabled
        self.limits = dict(DEFAULT_LIMITS)
        self._buckets: dict[str, LeakyBucket] = {}
        self.rejected: dict[str, int] = {}
        self.configure({"enabled": enabled, "limits": limits or {}})

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Run the buckets on ``clock`` (monotonic seconds) from now on; every bucket is refilled."""
        with self._lock:
            self._clock = clock
            self._buckets = {name: LeakyBucket(limit, clock) for name, limit in self.limits.items()}

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``{"enabled": bool, "limits": {bucket: per_minute}}`` (both optional); refills all
        buckets."""
        if not isinstance(spec, dict) or set(spec) - {"enabled", "limits", "reset"}:
            raise RateLimitConfigError('expected {"enabled": bool, "limits": {bucket: per_minute}}')
        limits = spec.get("limits", {})
        if not isinstance(limits, dict):
            raise RateLimitConfigError("limits must be an object")
        for name, value in limits.items():
            if name not in DEFAULT_LIMITS:
                raise RateLimitConfigError(
                    f"unknown bucket {name!r}; known: {', '.join(DEFAULT_LIMITS)}"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise RateLimitConfigError(f"limit for {name} must be a positive number")
        enabled = spec.get("enabled", self.enabled)
        if not isinstance(enabled, bool):
            raise RateLimitConfigError("enabled must be a boolean")
        with self._lock:
            self.enabled = enabled
            if spec.get("reset"):
                self.limits = dict(DEFAULT_LIMITS)
            self.limits.update(limits)
            self._buckets = {
                name: LeakyBucket(limit, self._clock) for name, limit in self.limits.items()
            }
            return self._snapshot_locked()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limits": dict(self.limits),
            "rejected": dict(self.rejected),
        }

    def acquire(self, bucket: str | None) -> tuple[str, float] | None:
        """Take one slot in the brand bucket and ``bucket``.

        Returns None when allowed, else ``(bucket name that was full, seconds until a slot frees)``.
        """
        if not self.enabled:
            return None
        with self._lock:
            names = ["brand"] + ([bucket] if bucket else [])
            for name in names:
                wait = self._buckets[name].wait_time()
                if wait > 0:
                    self.rejected[name] = self.rejected.get(name, 0) + 1
                    return name, wait
            for name in names:
                self._buckets[name].add()
            return None


class RequestStats:
    """Per-endpoint request counters and the largest number seen in any 60-second window."""

    WINDOW = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._clear()

    def _clear(self) -> None:
        self._counts: dict[str, int] = {}
        self._statuses: dict[str, dict[str, int]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._max_per_minute: dict[str, int] = {}
        self._extra: dict[str, int] = {}
        self._started = self._clock()

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Count on ``clock`` (monotonic seconds) from now on; the counters start over."""
        with self._lock:
            self._clock = clock
            self._clear()

    def record(self, endpoint: str, bucket: str | None = None) -> None:
        """Count one arriving request for ``endpoint`` (and its rate bucket, and the brand
        total)."""
        now = self._clock()
        with self._lock:
            keys = [endpoint, "*"]
            if bucket:
                keys.append(f"bucket:{bucket}")
            for key in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
                window = self._windows.setdefault(key, deque())
                window.append(now)
                while window and window[0] <= now - self.WINDOW:
                    window.popleft()
                if len(window) > self._max_per_minute.get(key, 0):
                    self._max_per_minute[key] = len(window)

    def record_status(self, endpoint: str, status: int | str) -> None:
        with self._lock:
            statuses = self._statuses.setdefault(endpoint, {})
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._extra[name] = self._extra.get(name, 0) + n

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = {
                k: v for k, v in self._counts.items() if k != "*" and not k.startswith("bucket:")
            }
            buckets = {k[7:]: v for k, v in self._counts.items() if k.startswith("bucket:")}
            maxes = {
                k: v
                for k, v in self._max_per_minute.items()
                if k != "*" and not k.startswith("bucket:")
            }
            bucket_maxes = {
                k[7:]: v for k, v in self._max_per_minute.items() if k.startswith("bucket:")
            }
            return {
                "elapsed_seconds": round(self._clock() - self._started, 3),
                "total_requests": self._counts.get("*", 0),
                "max_total_per_minute": self._max_per_minute.get("*", 0),
                "requests": dict(sorted(counts.items())),
                "max_per_minute": dict(sorted(maxes.items())),
                "bucket_requests": dict(sorted(buckets.items())),
                "bucket_max_per_minute": dict(sorted(bucket_maxes.items())),
                "statuses": {k: dict(sorted(v.items())) for k, v in sorted(self._statuses.items())},
                **dict(sorted(self._extra.items())),
            }


def retry_after_header(configured: float | None, wait: float) -> str:
    """The ``Retry-After`` value: the configured seconds, else the wait rounded up (at least 1)."""
    if configured is not None:
        return str(math.ceil(configured))
    return str(max(1, math.ceil(wait)))
