"""``surveys``: the survey list, plus details for each survey modified since the bookmark.

The list (``GET /surveys``) is cheap; details cost two requests per survey (legacy ``GET /surveys/{id}``
for response counts, expiration and organization; ``GET /survey-definitions/{id}`` for status, options
and questions), so they are fetched only for surveys modified since the bookmark, surveys this stream has
not emitted yet, surveys refused last run, and surveys named in ``survey_ids`` that the list leaves out.

Response counts change without the survey changing. Every other selected survey costs one request per run
(the legacy survey): when its counts differ from the ones last emitted (kept in the state), the survey is
emitted again with its current counts, but its questions and structure are not (they did not change).
The definition and the legacy survey are handed to the child streams (``questions``, ``question_choices``,
``sub_questions``, ``blocks``, ``export_columns``) so each is fetched once per survey.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §8-§10.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context, Record

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.http.errors import QualtricsAuthError
from tap_qualtrics.model.coerce import response_counts, to_bool, to_int
from tap_qualtrics.model.timestamps import format_timestamp, normalize_or_none, parse_timestamp
from tap_qualtrics.schema_files import SCHEMAS

DEFINITION_KEY = "definition"
LEGACY_KEY = "legacy"
SELECTION_KEY = "survey_ids"
#: surveys whose details (and so structure) this stream emitted: a survey not among them is read whatever
#: its ``lastModified`` (newly shared or newly selected surveys are often older than the bookmark)
KNOWN_KEY = "synced_survey_ids"
#: surveys Qualtrics refused last run: read again this run
RETRY_KEY = "retry_survey_ids"
#: survey ID -> [auditable, generated, deleted] as last emitted
COUNTS_KEY = "response_counts"
#: when the last run that read details started: a survey modified in the bookmark's own second, which had
#: ended before that run began, was read in its final state then
READ_AT_KEY = "details_read_at"


class SurveysStream(QualtricsStream):
    """Surveys visible to the credentials (filtered by ``survey_ids``), incremental on ``last_modified``."""

    name = "surveys"
    path = "/surveys"
    primary_keys = ("survey_id",)
    replication_key = "last_modified"
    schema = StreamSchema(SCHEMAS)
    required_scopes: ClassVar[tuple[str, ...]] = ("read:surveys",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._definitions_for_children: dict[str, Mapping[str, Any]] = {}
        self._legacy_for_children: dict[str, Mapping[str, Any]] = {}
        #: surveys emitted again for their response counts only: no child rows
        self._counts_only: set[str] = set()

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Details for each selected survey that is new to this stream, was refused last run, or changed
        since the bookmark; a survey refused now (403, 400, 404) is reported and retried next run."""
        selection = self.run.settings.surveys
        bookmark = self._stored_bookmark()
        state = self.stream_state
        known = set(state.get(KNOWN_KEY) or ()) if bookmark else set()
        retry = set(state.get(RETRY_KEY) or ())
        emitted_counts: dict[str, Any] = dict(state.get(COUNTS_KEY) or {})
        unchanged = _Unchanged(bookmark, state.get(READ_AT_KEY), known - retry)
        synced: set[str] = set()
        refused: set[str] = set()
        counts: dict[str, list[int | None]] = {}
        for survey_id, element in self._surveys_to_read(context, selection):
            settled = unchanged.includes(survey_id, element)
            read_this_run = self.run.response_counts.get(survey_id)  # by response_deletion_checks
            if (
                settled
                and read_this_run is not None
                and read_this_run == emitted_counts.get(survey_id)
            ):
                counts[survey_id] = read_this_run
                synced.add(survey_id)
                continue
            legacy = self._legacy_survey(survey_id)
            if legacy is None:
                refused.add(survey_id)
                continue
            counts[survey_id] = self.run.response_counts[survey_id] = response_counts(legacy)
            if settled and counts[survey_id] == emitted_counts.get(survey_id):
                synced.add(survey_id)
                continue
            record = self._survey_record(survey_id, element, legacy)
            if record is None:
                refused.add(survey_id)
                continue
            if settled:  # only its counts changed
                self._counts_only.add(survey_id)
            synced.add(survey_id)
            yield record
        # Every listed survey was seen: the bookmark (promoted by the SDK next) belongs to this selection.
        state[SELECTION_KEY] = self._selection_signature()
        state[KNOWN_KEY] = sorted(synced)
        state[COUNTS_KEY] = {
            survey_id: counts.get(survey_id, emitted_counts.get(survey_id))
            for survey_id in sorted(synced | refused)
            if survey_id in counts or survey_id in emitted_counts
        }
        state[READ_AT_KEY] = self.run.started_at_text
        if refused:
            state[RETRY_KEY] = sorted(refused)
        else:
            state.pop(RETRY_KEY, None)

    def _surveys_to_read(
        self, context: Context | None, selection: Any
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(survey ID, list element) of each selected survey; named surveys the list leaves out (shared
        through a group) come last, with only their ID."""
        listed: set[str] = set()
        for element in self.request_records(context):
            survey_id = element.get("id")
            if not survey_id or not selection.includes(survey_id):
                continue
            listed.add(survey_id)
            yield survey_id, element
        for survey_id in selection.explicit_ids:
            if survey_id not in listed:
                yield survey_id, {"id": survey_id}

    def _legacy_survey(self, survey_id: str) -> Mapping[str, Any] | None:
        return self._guarded(survey_id, lambda: self.request_result("GET", f"/surveys/{survey_id}"))

    def _survey_record(
        self, survey_id: str, element: Mapping[str, Any], legacy: Mapping[str, Any]
    ) -> Record | None:
        """The survey's record from its details and definition; ``None`` (reported) when Qualtrics refuses
        the definition."""
        definition = self._guarded(
            survey_id, lambda: self.request_result("GET", f"/survey-definitions/{survey_id}")
        )
        if definition is None:
            return None
        if self.child_streams:
            self._definitions_for_children[survey_id] = definition
            self._legacy_for_children[survey_id] = legacy
        return survey_record(element, legacy, definition)

    def _guarded(
        self, survey_id: str, read: Callable[[], Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        """``read()``, or ``None`` (reported) when Qualtrics refuses it: one survey must not stop the
        others, nor the streams after this one."""
        try:
            return read()
        except QualtricsAuthError:
            raise  # the credentials are refused: no other survey can succeed either
        except Exception as error:  # noqa: BLE001 - isolate the survey, retry it next run
            reason = self.run.redact(str(error))
            self.logger.error(
                "Survey %s was not synced this run (retried next run): %s", survey_id, reason
            )
            self.run.failures.record_stream(self.name, f"{survey_id}: {reason}")
            return None

    def _stored_bookmark(self) -> str | None:
        """The previous run's bookmark, if it was made for the same ``survey_ids``.

        A survey newly added to ``survey_ids`` may be older than the bookmark; with another selection
        every survey is read again. ``start_date`` is about responses and is not applied here: a survey
        edited long ago can still be collecting responses today.
        """
        state = self.stream_state
        if state.get("replication_key") != self.replication_key:
            return None
        if state.get(SELECTION_KEY) != self._selection_signature():
            return None
        return normalize_or_none(state.get("replication_key_value"))

    def _selection_signature(self) -> list[str]:
        patterns = self.run.settings.surveys.patterns
        return sorted(patterns) if patterns is not None else ["*"]

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """None for a survey emitted again only for its response counts: its structure did not change."""
        if record["survey_id"] in self._counts_only:
            self._counts_only.discard(record["survey_id"])
            return ()
        return super().generate_child_contexts(record, context)

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context:
        """The survey ID, plus the already fetched definition and legacy survey (children strip them before
        syncing)."""
        survey_id = record["survey_id"]
        return {
            "survey_id": survey_id,
            DEFINITION_KEY: self._definitions_for_children.pop(survey_id, None),
            LEGACY_KEY: self._legacy_for_children.pop(survey_id, None),
        }


class _Unchanged:
    """Which listed surveys need no details this run: emitted before (and not refused last run), and not
    modified since the bookmark."""

    def __init__(self, bookmark: str | None, read_at: Any, known: set[str]) -> None:
        self._bookmark = bookmark
        self._known = known
        # a survey modified in the bookmark's second was read in its final state if that second had ended
        # when the last run started
        settled = normalize_or_none(read_at) if read_at else None
        self._edge_settled = bool(bookmark and settled and _plus_one_second(bookmark) <= settled)

    def includes(self, survey_id: str, element: Mapping[str, Any]) -> bool:
        if self._bookmark is None or survey_id not in self._known:
            return False
        last_modified = normalize_or_none(element.get("lastModified"))
        if last_modified is None:
            return False
        return last_modified < self._bookmark or (
            last_modified == self._bookmark and self._edge_settled
        )


def _plus_one_second(timestamp: str) -> str:
    return format_timestamp(parse_timestamp(timestamp) + datetime.timedelta(seconds=1))


def survey_record(
    element: Mapping[str, Any], legacy: Mapping[str, Any], definition: Mapping[str, Any]
) -> dict[str, Any]:
    """One ``surveys`` record from the list element, the legacy details and the definition."""
    options = definition.get("SurveyOptions")
    expiration = legacy.get("expiration") or {}
    counts = legacy.get("responseCounts") or {}
    project = definition.get("ProjectInfo") or {}
    return {
        "survey_id": element["id"],
        "name": element.get("name") or legacy.get("name") or definition.get("SurveyName"),
        "owner_id": element.get("ownerId") or legacy.get("ownerId") or definition.get("OwnerID"),
        "creator_id": definition.get("CreatorID"),
        "organization_id": legacy.get("organizationId"),
        "brand_id": definition.get("BrandID"),
        "is_active": to_bool(element.get("isActive", legacy.get("isActive"))),
        "status": definition.get("SurveyStatus"),
        "creation_date": normalize_or_none(
            element.get("creationDate") or legacy.get("creationDate")
        ),
        "last_modified": normalize_or_none(
            element.get("lastModified") or legacy.get("lastModifiedDate")
        ),
        "last_activated": normalize_or_none(definition.get("LastActivated")),
        "last_accessed": normalize_or_none(definition.get("LastAccessed")),
        "expiration_start_date": normalize_or_none(expiration.get("startDate")),
        "expiration_end_date": normalize_or_none(expiration.get("endDate")),
        "question_count": to_int(definition.get("QuestionCount")),
        "response_count_auditable": to_int(counts.get("auditable")),
        "response_count_generated": to_int(counts.get("generated")),
        "response_count_deleted": to_int(counts.get("deleted")),
        "survey_language": options.get("SurveyLanguage") if isinstance(options, dict) else None,
        "project_category": project.get("ProjectCategory"),
        "project_type": project.get("ProjectType"),
        "brand_base_url": definition.get("BrandBaseURL"),
        "embedded_data_defaults": _embedded_data_defaults(legacy.get("embeddedData")),
        "options": options if isinstance(options, dict) else None,
    }


def _embedded_data_defaults(fields: Any) -> dict[str, Any] | None:
    if not isinstance(fields, list):
        return None
    return {
        f["name"]: f.get("defaultValue") for f in fields if isinstance(f, dict) and f.get("name")
    }
