"""Spending export starts where data changes: a quiet survey may skip its export for a bounded time.

Qualtrics allows 100 export starts a minute, and most surveys of a large account have not changed since the
last run. What the API gives cheaply is each survey's ``responseCounts`` (one ``GET /surveys/{id}``, against
3,000 requests a minute, and read once per run anyway when the deletion check is selected). New, deleted and
test responses change it; an edit of an existing response does not. So the rule is:

* a survey is **quiet** after ``quiet_after_empty_exports`` consecutive complete exports that held no
  response (the counts are then noted in its state);
* a quiet survey **skips** this run's export when its counts equal the noted ones and its last export was
  less than ``quiet_survey_max_skip_hours`` ago. Its bookmark does not move, so its next export covers
  everything since; an edit made while it was skipped arrives at most that many hours late;
* any export that holds a response makes the survey busy again.

``quiet_after_empty_exports: 0`` turns skipping off.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from tap_qualtrics.model.timestamps import parse_timestamp

EMPTY_KEY = "empty_exports"
COUNTS_KEY = "quiet_counts"
EXPORTED_AT_KEY = "exported_at"


@dataclass(frozen=True)
class QuietRule:
    """When a survey may skip its export (settings ``quiet_after_empty_exports``, ``quiet_survey_max_skip_hours``)."""

    after_empty_exports: int
    max_skip_hours: int

    def skips(
        self,
        state: MutableMapping[str, Any],
        counts: Callable[[], list[int | None]],
        now: datetime.datetime,
    ) -> bool:
        """Whether the survey whose partition state is ``state`` skips this run (``counts`` is read only
        for a quiet survey)."""
        if not self.after_empty_exports or state.get(EMPTY_KEY, 0) < self.after_empty_exports:
            return False
        noted, exported_at = state.get(COUNTS_KEY), state.get(EXPORTED_AT_KEY)
        if noted is None or exported_at is None:
            return False
        if now - parse_timestamp(exported_at) >= datetime.timedelta(hours=self.max_skip_hours):
            return False
        return list(noted) == list(counts())

    def note_export(
        self,
        state: MutableMapping[str, Any],
        emitted: int,
        counts: Callable[[], list[int | None]],
        exported_at: str,
    ) -> None:
        """A complete export of the survey emitted ``emitted`` responses: count it towards quiet, or not."""
        state[EXPORTED_AT_KEY] = exported_at
        if emitted or not self.after_empty_exports:
            for key in (EMPTY_KEY, COUNTS_KEY):
                state.pop(key, None)
            return
        state[EMPTY_KEY] = min(state.get(EMPTY_KEY, 0) + 1, self.after_empty_exports)
        if state[EMPTY_KEY] >= self.after_empty_exports:
            state[COUNTS_KEY] = list(counts())
