"""How long to wait before retrying a request: ``Retry-After`` when Qualtrics sends it, else exponential.

Shared by the streams (through the SDK's backoff hooks) and the OAuth token request, so ``max_retries``
and ``retry_delay`` mean the same everywhere.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §6.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import requests

MAX_WAIT_SECONDS = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` retries after the first try; the n-th waits ``retry_delay * 2**(n-1)`` seconds."""

    max_retries: int
    retry_delay: float

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def wait_seconds(self, retry_number: int, response: requests.Response | None = None) -> float:
        """Seconds before retry ``retry_number`` (1-based); honours ``Retry-After`` on the response."""
        retry_after = retry_after_seconds(response)
        if retry_after is not None:
            return min(retry_after, MAX_WAIT_SECONDS)
        exponential: float = self.retry_delay * 2 ** max(retry_number - 1, 0)
        return min(exponential, MAX_WAIT_SECONDS)


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or ``None`` when absent or unreadable."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
