"""Which surveys a run covers: the ``survey_ids`` setting (exact IDs or glob patterns)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class SurveySelection:
    """Survey IDs and glob patterns from ``survey_ids``; ``None`` patterns mean every survey."""

    patterns: tuple[str, ...] | None = None

    def includes(self, survey_id: str) -> bool:
        """Whether a survey from the live list is selected (case-sensitive, like Qualtrics IDs)."""
        if self.patterns is None:
            return True
        return any(fnmatch.fnmatchcase(survey_id, pattern) for pattern in self.patterns)

    @property
    def explicit_ids(self) -> tuple[str, ...]:
        """Entries that name one survey: they are synced even when ``GET /surveys`` does not list them.

        ``GET /surveys`` leaves out surveys shared through groups, and naming an ID is a clear request.
        """
        if self.patterns is None:
            return ()
        return tuple(p for p in self.patterns if not GLOB_CHARACTERS.intersection(p))
