"""Which surveys a run covers (``survey_ids``, and the run's ``shard``), and how each survey is exported
(``export_subsets``, ``filter_ids``); all take exact IDs or glob patterns."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Generic, TypeVar

from tap_qualtrics.shards import Shard

GLOB_CHARACTERS = frozenset("*?[")
T = TypeVar("T")


@dataclass(frozen=True)
class SurveySelection:
    """Survey IDs and glob patterns from ``survey_ids``; ``None`` patterns mean every survey. With a
    ``shard``, only the selected surveys that belong to it."""

    patterns: tuple[str, ...] | None = None
    shard: Shard | None = None

    def includes(self, survey_id: str) -> bool:
        """Whether a survey from the live list is selected (case-sensitive, like Qualtrics IDs)."""
        if self.shard is not None and not self.shard.owns(survey_id):
            return False
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
        return tuple(
            p
            for p in self.patterns
            if not GLOB_CHARACTERS.intersection(p) and (self.shard is None or self.shard.owns(p))
        )


#: ``export_subsets`` keys -> the response export's option names
SUBSET_OPTIONS = {
    "question_ids": "questionIds",
    "embedded_data_ids": "embeddedDataIds",
    "survey_metadata_ids": "surveyMetadataIds",
}
#: metadata every export keeps, whatever the subset: the response's ID and the dates its bookmark needs
KEPT_METADATA = ("_recordId", "recordedDate")


@dataclass(frozen=True)
class PerSurvey(Generic[T]):
    """Survey ID or glob pattern -> a value. A survey takes the entry naming it exactly, else the first
    pattern (in the order given) that matches it."""

    entries: tuple[tuple[str, T], ...] = ()

    def get(self, survey_id: str) -> T | None:
        exact = next((value for key, value in self.entries if key == survey_id), None)
        if exact is not None:
            return exact
        return next(
            (
                value
                for key, value in self.entries
                if GLOB_CHARACTERS.intersection(key) and fnmatch.fnmatchcase(survey_id, key)
            ),
            None,
        )


#: one ``export_subsets`` entry: (setting key, IDs) pairs
Subset = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ExportSubsets(PerSurvey[Subset]):
    """``export_subsets``: survey ID or glob pattern -> the questions, embedded data and metadata to export."""

    def options_for(self, survey_id: str) -> dict[str, list[str]]:
        """The export options for a survey (``{}``: the whole export)."""
        options = {SUBSET_OPTIONS[name]: list(ids) for name, ids in self.get(survey_id) or ()}
        if "surveyMetadataIds" in options:
            wanted = options["surveyMetadataIds"]
            options["surveyMetadataIds"] = [*wanted, *(m for m in KEPT_METADATA if m not in wanted)]
        return options
