"""Which surveys a run covers (``survey_ids``), and what each survey's export holds (``export_subsets``);
both take exact IDs or glob patterns."""

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


#: ``export_subsets`` keys -> the response export's option names
SUBSET_OPTIONS = {
    "question_ids": "questionIds",
    "embedded_data_ids": "embeddedDataIds",
    "survey_metadata_ids": "surveyMetadataIds",
}
#: metadata every export keeps, whatever the subset: the response's ID and the dates its bookmark needs
KEPT_METADATA = ("_recordId", "recordedDate")


@dataclass(frozen=True)
class ExportSubsets:
    """``export_subsets``: survey ID or glob pattern -> the questions, embedded data and metadata to export.

    A survey takes the entry naming it exactly, else the first pattern (in the order given) matching it."""

    entries: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()

    def options_for(self, survey_id: str) -> dict[str, list[str]]:
        """The export options for a survey (``{}``: the whole export)."""
        chosen = next((subset for key, subset in self.entries if key == survey_id), None)
        if chosen is None:
            chosen = next(
                (
                    subset
                    for key, subset in self.entries
                    if GLOB_CHARACTERS.intersection(key) and fnmatch.fnmatchcase(survey_id, key)
                ),
                (),
            )
        options = {SUBSET_OPTIONS[name]: list(ids) for name, ids in chosen}
        if "surveyMetadataIds" in options:
            wanted = options["surveyMetadataIds"]
            options["surveyMetadataIds"] = [*wanted, *(m for m in KEPT_METADATA if m not in wanted)]
        return options
