"""Deterministic account data of the sandbox: surveys, responses, users, directory data.

Everything is a pure function of ``build_account``'s arguments (``now`` included): same arguments, same IDs,
same answers, same timestamps. Responses are stored as one small immutable ``ResponseRecord`` each; their
answers are rendered on demand by ``Survey.render`` from precomputed per-question answer variants and a
``random.Random`` seeded by (seed, survey, response index, response version).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from qualtrics_sandbox import clock, xm_directory
from qualtrics_sandbox.clock import UTC, iso, iso_ms
from qualtrics_sandbox.ids import IdFactory, make_id, uuid4
from qualtrics_sandbox.questions import (
    LOOP_KINDS,
    Column,
    Question,
    make_question,
    pick_kinds,
)

__all__ = ["METADATA_IDS", "Account", "ResponseRecord", "Survey", "build_account"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000

# metadata keys of JSON exports, in the order of real exports (tests/real/fixtures); the one list: exports.py
# accepts these in surveyMetadataIds
METADATA_IDS = (
    "startDate",
    "endDate",
    "status",
    "ipAddress",
    "progress",
    "duration",
    "finished",
    "recordedDate",
    "_recordId",
    "recipientLastName",
    "recipientFirstName",
    "recipientEmail",
    "externalDataReference",
    "locationLatitude",
    "locationLongitude",
    "distributionChannel",
    "userLanguage",
)
#: ``status`` values counted in ``responseCounts.generated``: "Survey Preview", "Survey Test"
GENERATED_STATUSES = frozenset({1, 2})
STATUS_LABELS = {
    0: "IP Address",
    1: "Survey Preview",
    2: "Survey Test",
    4: "Imported",
    8: "Spam",
    16: "Offline",
}

CSV_METADATA = (
    # (csv tag, csv text, import id, values key)
    ("StartDate", "Start Date", {"ImportId": "startDate", "timeZone": "Z"}, "startDate"),
    ("EndDate", "End Date", {"ImportId": "endDate", "timeZone": "Z"}, "endDate"),
    ("Status", "Response Type", {"ImportId": "status"}, "status"),
    ("IPAddress", "IP Address", {"ImportId": "ipAddress"}, "ipAddress"),
    ("Progress", "Progress", {"ImportId": "progress"}, "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", {"ImportId": "duration"}, "duration"),
    ("Finished", "Finished", {"ImportId": "finished"}, "finished"),
    (
        "RecordedDate",
        "Recorded Date",
        {"ImportId": "recordedDate", "timeZone": "Z"},
        "recordedDate",
    ),
    ("ResponseId", "Response ID", {"ImportId": "_recordId"}, "_recordId"),
    (
        "RecipientLastName",
        "Recipient Last Name",
        {"ImportId": "recipientLastName"},
        "recipientLastName",
    ),
    (
        "RecipientFirstName",
        "Recipient First Name",
        {"ImportId": "recipientFirstName"},
        "recipientFirstName",
    ),
    ("RecipientEmail", "Recipient Email", {"ImportId": "recipientEmail"}, "recipientEmail"),
    (
        "ExternalReference",
        "External Data Reference",
        {"ImportId": "externalDataReference"},
        "externalDataReference",
    ),
    ("LocationLatitude", "Location Latitude", {"ImportId": "locationLatitude"}, "locationLatitude"),
    (
        "LocationLongitude",
        "Location Longitude",
        {"ImportId": "locationLongitude"},
        "locationLongitude",
    ),
    (
        "DistributionChannel",
        "Distribution Channel",
        {"ImportId": "distributionChannel"},
        "distributionChannel",
    ),
    ("UserLanguage", "User Language", {"ImportId": "userLanguage"}, "userLanguage"),
)

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farah",
    "Greta",
    "Hiro",
    "Ines",
    "Jakub",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Søren",
    "Tomás",
    "Uma",
    "Viktor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoë",
]
LAST_NAMES = [
    "Adams",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Neil",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Wójcik",
    "Xu",
    "Yilmaz",
    "Zimmermann",
]
SURVEY_NAMES = [
    "Customer Satisfaction 2023",
    "Employee Pulse Check",
    "Website Feedback",
    "Product Launch NPS",
    "Post-Purchase Survey",
    "Event Feedback – Spring Summit",  # noqa: RUF001 - served as-is: non-ASCII punctuation on purpose
    "Onboarding Experience",
    "Support Ticket CSAT",
    "Brand Awareness Tracker",
    "Course Evaluation",
    "Patient Experience",
    "Market Research: Snacks",
    "Annual Member Survey",
    "Exit Interview",
    "Concept Test B",
    "Mobile App Beta",
]
SPECIAL_NAME = "Café / Q3: Zufriedenheit – ÜX"  # noqa: RUF001 - served as-is: the non-ASCII name

EMBEDDED_FIELDS = [
    ("source", "Custom", None, ["web", "email", "qr-code", "kiosk", "sms"]),
    ("customer_tier", "Custom", "standard", ["gold", "silver", "bronze", "standard"]),
    ("region", "Custom", None, ["EMEA", "AMER", "APAC", "LATAM"]),
    ("store_id", "Custom", None, [str(n) for n in (101, 204, 317, 422, 538, 640, 777, 812)]),
    ("campaign", "Custom", None, ["spring-sale", "winter_promo", "référence-été", "launch/2024"]),
]

LANGUAGES = ["EN", "EN", "EN", "EN", "DE", "FR", "ES", "JA", "PT-BR"]
TIME_ZONES = [
    "America/New_York",
    "America/Denver",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Tokyo",
    "UTC",
]
LOCATIONS = [
    ("40.7127532959", "-74.0059356689"),
    ("51.5072174072", "-0.1275978088"),
    ("52.5200080872", "13.4049539566"),
    ("35.6761932373", "139.6503143311"),
    ("-23.5505199432", "-46.6333084106"),
    ("48.8566131592", "2.3522219658"),
    ("40.3941955566", "-111.848297119"),
    ("19.4326076508", "-99.1332092285"),
    ("-33.8688201904", "151.2092895508"),
    ("47.3768882751", "8.5416941643"),
    ("45.5016899109", "-73.5672531128"),
    ("30.2671527863", "-97.7430648804"),
]

VARIANTS = 48  # precomputed answer variants per question (and loop iteration)
COVER_VARIANTS = 6  # of which answer "other, specify" and the like, so every column shows up


def _ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def _dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _mix(a: int, b: int) -> int:
    """A cheap deterministic 64-bit integer hash (splitmix64 finaliser)."""
    z = (a * 0x9E3779B97F4A7C15 + b * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """One response. Immutable: edits replace the object in ``Survey.responses``.

    ``embedded`` holds embedded-data values set through the API (PUT /responses); None for most.

    Lifecycle: an unfinished response (``finished`` False) is *in progress* (only in the
    ``exportResponsesInProgress`` export) until it finishes (``finished`` True) or is *closed*
    (``closed`` True: Qualtrics records a partial response when it is closed by hand or when the
    survey's partial-response expiry passes; it keeps ``finished`` False and its progress). Finished
    and closed responses are *recorded* (:attr:`recorded`): the normal export and GET
    /responses/{id} show them.

    As in Qualtrics (docs/qualtrics-api.md §24), an in-progress response is a session named ``FS_...``
    whose exports carry no recorded date (``recorded_date`` is kept, = its last activity, but never
    shown); recording it replaces the record by one with a new ``R_...`` ``response_id`` (the same
    ``index``, so the same answers and status).
    """

    response_id: str
    index: int
    version: int
    start_date: datetime
    end_date: datetime
    recorded_date: datetime
    last_modified: datetime
    finished: bool
    progress: int
    embedded: dict | None = None
    closed: bool = False

    @property
    def recorded(self) -> bool:
        """A recorded response (finished, or a closed partial one), not one in progress."""
        return self.finished or self.closed


class _Block:
    __slots__ = ("description", "elements", "flow_id", "id", "loop", "trash")

    def __init__(
        self,
        bid: str,
        description: str,
        elements: list[str],
        loop: list[str] | None = None,
        trash: bool = False,
    ) -> None:
        self.id = bid
        self.description = description
        self.elements = elements  # question ids and "PB" page breaks
        self.loop = loop  # loop-and-merge field values (one per iteration) or None
        self.trash = trash
        self.flow_id = ""


class _Plan:
    __slots__ = ("embedded_filter", "eslots", "meta_keys", "qslots")

    def __init__(
        self,
        qslots: list[tuple[list, int, bool]],
        eslots: list[tuple[list, int, bool]],
        embedded_filter: frozenset[str] | None,
        meta_keys: tuple[str, ...] | None,
    ) -> None:
        self.qslots = qslots  # list of (variants, n, included)
        self.eslots = eslots
        self.embedded_filter = embedded_filter  # None or the set of field names
        self.meta_keys = meta_keys  # None (default) or tuple of metadata keys


# ======================================================================================================
# Survey


class Survey:
    """One survey: its definition, its responses and the renderer of their answers."""

    def __init__(
        self,
        account: Account,
        index: int,
        sid: str,
        name: str,
        owner_id: str,
        *,
        is_active: bool,
        creation_date: datetime,
        last_modified: datetime,
        last_activated: datetime | None,
        n_questions: int,
        all_kinds: bool,
        ids: IdFactory,
    ) -> None:
        self.account = account
        self.index = index
        self.id = sid
        self.name = name
        self._base_name = name  # the name before any edit (POST /_sandbox/mutate)
        self.owner_id = owner_id
        self.brand_id = account.brand_id
        self.is_active = is_active
        self.creation_date = creation_date
        self.last_modified = last_modified
        self.last_activated = last_activated
        self.responses: dict[str, ResponseRecord] = {}
        self.deleted: list[str] = []
        self.deleted_count = 0
        #: recorded responses deleted since built, by kind: they stay in ``auditable`` / ``generated``
        self.deleted_auditable = 0
        self.deleted_generated = 0
        self.revision = 0
        self.next_index = 0  # the index of the next response made (the builder's, then mutate's)
        self._salt = _mix(account.seed, index + 1)
        self._rkey_base = ((account.seed & 0xFFFFFFFF) * 65536 + index) << 48
        self._plans: dict[tuple, _Plan] = {}
        self._csv_plans: dict[tuple, tuple] = {}
        self._definition_cache: dict | None = None
        self._legacy_cache: dict | None = None
        srng = random.Random(f"qualtrics-sandbox:{account.seed}:survey:{index}")
        self._build_structure(srng, ids, n_questions, all_kinds)
        self._build_variants(random.Random(f"qualtrics-sandbox:{account.seed}:variants:{index}"))

    # ------------------------------------------------------------------------------------------------
    # structure

    def _build_structure(self, rng: random.Random, ids: IdFactory, n: int, all_kinds: bool) -> None:
        kinds = pick_kinds(rng, n, all_kinds=all_kinds)
        with_loop = all_kinds or rng.random() < 0.25
        with_trash = all_kinds or rng.random() < 0.5
        qnum = 0
        tags: set[str] = set()
        self.questions: dict[str, Question] = {}  # every question incl. trashed, by QID

        def new_q(kind: str) -> Question:
            nonlocal qnum
            qnum += 1 + (1 if rng.random() < 0.15 else 0)  # gaps, as after deleted questions
            qid = f"QID{qnum}"
            tag = f"Q{qnum}"
            if kind == "timing":
                tag = f"TIMING_{sum(1 for q in self.questions.values() if q.kind == 'timing') + 1}"
            elif rng.random() < 0.15:
                tag = (
                    rng.choice(
                        ["satisfaction", "overall", "recommend", "demo", "feedback", "usage"]
                    )
                    + f"_{qnum}"
                )
            while tag in tags:
                tag += "_a"
            tags.add(tag)
            q = make_question(kind, qid, tag, rng)
            self.questions[qid] = q
            return q

        live: list[Question] = [new_q(k) for k in kinds]
        for (
            q
        ) in live:  # a carried-forward matrix takes its statements from a multiple-choice question
            if q.kind == "matrix_carried":
                q.source = next(p for p in live if p.kind in ("mc_multi", "mc_other"))  # type: ignore[attr-defined]
        if all_kinds:  # the all-types surveys show every display order: rows, scale points, choices
            for kind in ("matrix", "mc_multi"):
                first = next(q for q in live if q.kind == kind)
                first.randomize = True
                if kind == "matrix":
                    first.randomize_answers = True  # type: ignore[attr-defined]
        # display logic: some questions depend on an earlier single-answer question
        for i, q in enumerate(live):
            if i > 2 and q.answerable and q.kind not in ("timing", "meta") and rng.random() < 0.12:
                prev = [p for p in live[:i] if p.kind in ("mc_single", "mc_other")]
                if prev:
                    p = rng.choice(prev)
                    c = p.choices[0]
                    q.display_logic = (p.qid, c.cid, p.text)
        # blocks
        nblocks = max(1, min(5, len(live) // 6 + 1))
        cuts = sorted(rng.sample(range(1, len(live)), nblocks - 1)) if len(live) > nblocks else []
        groups: list[list[Question]] = []
        start = 0
        for c in [*cuts, len(live)]:
            groups.append(live[start:c])
            start = c
        descs = [
            "Default Question Block",
            "Introduction",
            "Experience",
            "About you",
            "Ratings",
            "Feedback",
            "Demographics",
            "Wrap-up",
        ]
        self.blocks: list[_Block] = []
        for gi, group in enumerate(groups):
            elements: list[str] = []
            for j, q in enumerate(group):
                if j and rng.random() < 0.35:
                    elements.append("PB")
                elements.append(q.qid)
            desc = descs[0] if gi == 0 else rng.choice(descs[1:])
            self.blocks.append(_Block(ids.block(), desc, elements))
        if with_loop:
            loop_qs = [new_q(k) for k in (rng.sample(LOOP_KINDS, 2))]
            fields = rng.choice(
                [
                    ["Espresso", "Cappuccino", "Green tea"],
                    ["Berlin", "Paris", "São Paulo"],
                    ["Product A", "Product B", "Product C", "Product D"],
                ]
            )
            for q in loop_qs:
                q.text_html = q.text_html.rstrip("?:.") + " — <b>${lm://Field/1}</b>?"
                q.text = q.text.rstrip("?:.") + " — ${lm://Field/1}?"
                q.display_logic = None
            pos = rng.randint(1, len(self.blocks))
            self.blocks.insert(
                pos, _Block(ids.block(), "Loop: per item", [q.qid for q in loop_qs], loop=fields)
            )
        self.trashed: list[Question] = []
        if with_trash:
            t = new_q(rng.choice(["mc_single", "te_single", "matrix"]))
            t.display_logic = None
            self.trashed.append(t)
            self.blocks.append(_Block(ids.block(), "Trash / Unused Questions", [t.qid], trash=True))
        # flow ids
        for i, b in enumerate(self.blocks):
            b.flow_id = f"FL_{i + 3}"
        self.embedded = [f for f in EMBEDDED_FIELDS if all_kinds or rng.random() < 0.6]
        if not self.embedded:
            self.embedded = [EMBEDDED_FIELDS[0]]
        self.response_set_id = ids("RS")
        # display order of live questions with loop iterations: list of (question, iteration or None)
        self.sequence: list[tuple[Question, int | None]] = []
        for b in self.blocks:
            if b.trash:
                continue
            qs = [self.questions[e] for e in b.elements if e != "PB"]
            if b.loop:
                for it in range(1, len(b.loop) + 1):
                    for q in qs:
                        self.sequence.append((q, it))
            else:
                for q in qs:
                    self.sequence.append((q, None))

    def _build_variants(self, rng: random.Random) -> None:
        """Precompute answer fragments per (question, iteration) and per embedded field."""
        self._qslots: list[tuple[str, list, int]] = []
        empty: tuple = (None, None, None, None)
        for q, it in self.sequence:
            if not q.answerable:
                continue
            variants: list = []
            for j in range(VARIANTS):
                if j < COVER_VARIANTS:
                    variants.append(_norm(q.fragment(rng, it, cover=True)))
                elif q.display_logic is not None and rng.random() < 0.3:
                    variants.append(None)
                elif not q.force and rng.random() < q.skip_rate:
                    variants.append(_norm(q.unanswered(it)))
                else:
                    variants.append(_norm(q.fragment(rng, it)))
            variants = [v if v != empty else None for v in variants]
            self._qslots.append((q.qid, variants, len(variants)))
        self._eslots: list[tuple[str, list, int]] = []
        for field, _typ, default, pool in self.embedded:
            variants = []
            for _ in range(VARIANTS):
                if default is None and rng.random() < 0.1:
                    variants.append(None)
                else:
                    variants.append(({field: rng.choice(pool)}, None, None, None))
            self._eslots.append((field, variants, len(variants)))
        # metadata pools
        self._ips = [
            f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            for _ in range(251)
        ]
        self._recipients = [(rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)) for _ in range(61)]

    def columns(self) -> list[Column]:
        """Every answer column of the live questions (loop iterations expanded), in export order."""
        out: list[Column] = []
        for q, it in self.sequence:
            out.extend(q.columns(it))
        return out

    def export_column_keys(self) -> dict[str, str]:
        """Legacy exportColumnMap key -> JSON values key (addition; lets tests/taps translate)."""
        return {c.map_key: c.value_key for c in self.columns() if c.map_key}

    def embedded_fields(self) -> list[str]:
        return [f for f, *_ in self.embedded]

    def filter_value(self, rec: ResponseRecord, field: str) -> str | None:
        """The value a saved filter's predicate compares: ``str()`` of the response's exported JSON value
        for ``field`` (a metadata key, e.g. ``finished`` -> ``"1"``/``"0"``, or an embedded-data field);
        None when the response has no such value (a question's value keys are never compared)."""
        if field in METADATA_IDS:
            out = self.render(rec, question_ids=(), embedded_ids=(), metadata_ids=(field,))
        else:
            out = self.render(rec, question_ids=(), embedded_ids=(field,), metadata_ids=())
        value = out["values"].get(field)
        return None if value is None else str(value)

    def filter_matches(self, rec: ResponseRecord, predicate: dict[str, str] | None) -> bool:
        """Whether ``rec`` passes a saved filter's predicate ``{"field", "equals"}`` (None: every one)."""
        if predicate is None:
            return True
        return self.filter_value(rec, predicate["field"]) == predicate["equals"]

    # ------------------------------------------------------------------------------------------------
    # list element / definition / legacy

    def list_element(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "ownerId": self.owner_id,
            "lastModified": iso(self.last_modified),
            "creationDate": iso(self.creation_date),
            "isActive": self.is_active,
        }

    def live_question_ids(self) -> list[str]:
        out = []
        for b in self.blocks:
            if not b.trash:
                out.extend(e for e in b.elements if e != "PB")
        return out

    def definition_questions(self) -> list[dict]:
        return list(self.definition()["Questions"].values())

    def definition(self) -> dict:
        """GET /survey-definitions/{id} result. A fresh copy each call."""
        if self._definition_cache is None:
            self._definition_cache = self._make_definition()
        return copy.deepcopy(self._definition_cache)

    def _make_definition(self) -> dict:
        questions = {}
        for b in self.blocks:
            for e in b.elements:
                if e != "PB":
                    questions[e] = self.questions[e].definition()
        questions = dict(sorted(questions.items(), key=lambda kv: int(kv[0][3:])))
        blocks: dict[str, Any] = {}
        for i, b in enumerate(self.blocks):
            els = [
                {"Type": "Page Break"} if e == "PB" else {"Type": "Question", "QuestionID": e}
                for e in b.elements
            ]
            if b.trash:
                blocks[b.id] = {
                    "Type": "Trash",
                    "Description": b.description,
                    "ID": b.id,
                    "BlockElements": els,
                }
                continue
            opts: dict[str, Any] = {
                "BlockLocking": "false",
                "RandomizeQuestions": "false",
                "BlockVisibility": "Expanded",
            }
            if b.loop:
                opts["Looping"] = "Static"
                opts["LoopingOptions"] = {
                    "Static": {str(i + 1): {"1": v} for i, v in enumerate(b.loop)},
                    "Randomization": "None",
                }
            blocks[b.id] = {
                "Type": "Default" if i == 0 else "Standard",
                "SubType": "",
                "Description": b.description,
                "ID": b.id,
                "BlockElements": els,
                "Options": opts,
            }
        flow = [
            {
                "Type": "EmbeddedData",
                "FlowID": "FL_2",
                "EmbeddedData": [
                    {
                        "Description": f,
                        "Type": typ,
                        "Field": f,
                        "VariableType": "String",
                        "DataVisibility": [],
                        "AnalyzeText": False,
                        **({"Value": default} if default is not None else {}),
                    }
                    for f, typ, default, _pool in self.embedded
                ],
            }
        ]
        flow.extend(
            {"Type": "Standard", "ID": b.id, "FlowID": b.flow_id, "Autofill": []}
            for b in self.blocks
            if not b.trash
        )
        return {
            "QuestionCount": str(len(self.questions)),
            "SurveyOptions": {
                "BackButton": "false",
                "SaveAndContinue": "true",
                "SurveyProtection": "PublicSurvey",
                "BallotBoxStuffingPrevention": "false",
                "NoIndex": "Yes",
                "SecureResponseFiles": "true",
                "SurveyExpiration": None,
                "SurveyTermination": "DefaultMessage",
                "Header": "",
                "Footer": "",
                "ProgressBarDisplay": "None",
                "PartialData": "+1 week",
                "ValidationMessage": None,
                "PreviousButton": " ← ",
                "NextButton": " → ",
                "SkinLibrary": "Qualtrics",
                "SkinType": "MQ",
                "Skin": "xmskin",
                "NewScoring": 1,
                "HighlightQuestions": "off",
                "ShowExportTags": "false",
                "CollectGeoLocation": "false",
                "PasswordProtection": "No",
                "AnonymizeResponse": "No",
                "RefererCheck": "No",
                "ConfirmStart": False,
                "AutoConfirmStart": False,
                "RelevantID": "false",
                "ResponseSummary": "No",
                "EmailThankYou": "false",
                "InactiveSurvey": "DefaultMessage",
                "PartialDataCloseAfter": "LastActivity",
                "ActiveResponseSet": self.response_set_id,
                "AvailableLanguages": {"EN": []},
                "SurveyName": self.name,
                "SurveyLanguage": "EN",
                "SurveyStartDate": None,
                "SurveyExpirationDate": None,
                "SurveyCreationDate": iso(self.creation_date),
            },
            "SurveyID": self.id,
            "SurveyName": self.name,
            "SurveyStatus": "Active" if self.is_active else "Inactive",
            "LastModified": iso(self.last_modified),
            "BrandID": self.brand_id,
            "OwnerID": self.owner_id,
            "LastAccessed": None,
            "CreatorID": self.owner_id,
            "LastActivated": iso(self.last_activated),
            "Questions": questions,
            "Blocks": blocks,
            "ResponseSets": {self.response_set_id: "Default Response Set"},
            "SurveyFlow": {
                "Type": "Root",
                "FlowID": "FL_1",
                "Flow": flow,
                "Properties": {"Count": len(flow) + 1, "RemovedFieldsets": []},
            },
            "Scoring": {
                "ScoringCategories": [],
                "ScoringCategoryGroups": [],
                "ScoringSummaryCategory": None,
                "ScoringSummaryAfterQuestions": 0,
                "ScoringSummaryAfterSurvey": 0,
                "DefaultScoringCategory": None,
                "AutoScoringCategory": None,
            },
            "ProjectInfo": {
                "SurveyID": self.id,
                "ProjectCategory": "CORE",
                "ProjectType": "CORE",
                "CompositionType": None,
                "ContentBundle": None,
            },
            "BrandBaseURL": f"https://{self.brand_id}.qualtrics.com",
        }

    def legacy(self) -> dict:
        """GET /surveys/{id} (legacy) result. A fresh copy each call."""
        if self._legacy_cache is None:
            self._legacy_cache = self._make_legacy()
        d = copy.deepcopy(self._legacy_cache)
        d["responseCounts"] = self.response_counts()
        return d

    def response_counts(self) -> dict:
        """``responseCounts`` as Qualtrics keeps them (docs/qualtrics-api.md §25): ``generated`` counts the
        recorded "Survey Preview" / "Survey Test" responses, ``auditable`` every other recorded one
        (closed partials too); deleting a recorded response raises ``deleted`` and leaves the other two
        alone, so ``auditable + generated - deleted`` = the rows of an unfiltered export. In-progress
        sessions count nowhere (unverified, but it keeps that identity)."""
        auditable = generated = 0
        for r in self.responses.values():
            if r.recorded:
                if self.generated(r):
                    generated += 1
                else:
                    auditable += 1
        return {
            "auditable": auditable + self.deleted_auditable,
            "generated": generated + self.deleted_generated,
            "deleted": self.deleted_count,
        }

    def status(self, rec: ResponseRecord) -> int:
        """The response's ``status`` (1 "Survey Preview" for about 2 %, else 0 "IP Address")."""
        return 1 if _mix(self._salt, rec.index) % 100 < 2 else 0

    def generated(self, rec: ResponseRecord) -> bool:
        """A preview or test response: counted in ``responseCounts.generated``, not ``auditable``."""
        return self.status(rec) in GENERATED_STATUSES

    def forget(self, rid: str) -> bool:
        """Delete a response (False when there is none). A recorded one raises ``deleted`` and stays
        counted in ``auditable`` / ``generated``; an in-progress session changes no count."""
        r = self.responses.pop(rid, None)
        if r is None:
            return False
        self.deleted.append(rid)
        if r.recorded:
            self.deleted_count += 1
            if self.generated(r):
                self.deleted_generated += 1
            else:
                self.deleted_auditable += 1
        return True

    def _make_legacy(self) -> dict:
        live = self.live_question_ids()
        ecm: dict[str, dict] = {}
        for c in self.columns():
            if c.map_key:
                ecm[c.map_key] = dict(c.map_entry or {})
            for map_key, entry in c.more_map:
                ecm[map_key] = dict(entry)
        for q, it in self.sequence:
            for map_key, entry in q.map_only(it):
                ecm[map_key] = dict(entry)
        blocks = {}
        for b in self.blocks:
            if b.trash:
                continue
            blocks[b.id] = {
                "description": b.description,
                "elements": [
                    {"type": "PageBreak"} if e == "PB" else {"type": "Question", "questionId": e}
                    for e in b.elements
                ],
            }
        flow: list[dict] = [{"type": "EmbeddedData"}]
        flow += [{"id": b.id, "type": "Block"} for b in self.blocks if not b.trash]
        loops = {}
        for b in self.blocks:
            if b.loop:
                loops[b.id] = {
                    "loopType": "Static",
                    "loopQuestionMeta": {},
                    "randomizationMeta": {"randomize": "None", "limit": None},
                    "columnNames": {"field1": list(b.loop)},
                }
        return {
            "id": self.id,
            "name": self.name,
            "ownerId": self.owner_id,
            "organizationId": self.account.organization_id,
            "isActive": self.is_active,
            "creationDate": iso(self.creation_date),
            "lastModifiedDate": iso(self.last_modified),
            "expiration": {"startDate": None, "endDate": None},
            "questions": {qid: self.questions[qid].legacy() for qid in live},
            "exportColumnMap": ecm,
            "blocks": blocks,
            "flow": flow,
            "embeddedData": [
                {"name": f, **({"defaultValue": d} if d is not None else {})}
                for f, _t, d, _p in self.embedded
            ],
            "comments": {},
            "loopAndMerge": loops,
            "responseCounts": {},
        }

    def _invalidate(self) -> None:
        self._definition_cache = None
        self._legacy_cache = None

    def new_revision(self, stamp: datetime) -> None:
        """An edit of the survey at ``stamp``: the next revision, its number in the name."""
        self.revision += 1
        self.last_modified = stamp
        self.name = f"{self._base_name} (rev {self.revision})"
        self._invalidate()

    # ------------------------------------------------------------------------------------------------
    # rendering

    def _plan(
        self,
        question_ids: Iterable[str] | None,
        embedded_ids: Iterable[str] | None,
        metadata_ids: Iterable[str] | None,
    ) -> _Plan:
        key = (
            None if question_ids is None else frozenset(question_ids),
            None if embedded_ids is None else frozenset(embedded_ids),
            None if metadata_ids is None else tuple(metadata_ids),
        )
        plan = self._plans.get(key)
        if plan is None:
            qf, ef, mf = key
            qslots = [(v, n, qf is None or qid in qf) for qid, v, n in self._qslots]
            eslots = [(v, n, ef is None or f in ef) for f, v, n in self._eslots]
            meta = None if mf is None else tuple(k for k in METADATA_IDS if k in set(mf))
            plan = _Plan(qslots, eslots, ef, meta)
            self._plans[key] = plan
        return plan

    def render(
        self,
        rec: ResponseRecord,
        question_ids: Iterable[str] | None = None,
        embedded_ids: Iterable[str] | None = None,
        metadata_ids: Iterable[str] | None = None,
    ) -> dict:
        """One response as in a JSON export / GET /responses/{id}:
        ``{"responseId", "values", "labels", "displayedFields", "displayedValues"}``.

        Thread-safe without a lock. Nested lists are shared between calls: treat them as read-only.
        """
        plan = (
            self._plans.get((question_ids, embedded_ids, metadata_ids))
            if question_ids is None and embedded_ids is None and metadata_ids is None
            else None
        )
        if plan is None:
            plan = self._plan(question_ids, embedded_ids, metadata_ids)
        rid = rec.response_id
        h = _mix(self._salt, rec.index)
        status = 1 if h % 100 < 2 else 0  # = self.status(rec)
        start = rec.start_date
        if status == 1:
            channel = "preview"
        elif (h >> 12) % 100 < 30:
            channel = "email"
        else:
            channel = "anonymous"
        lat, lon = LOCATIONS[(h >> 20) % len(LOCATIONS)]
        finished = rec.finished
        values: dict[str, Any] = {
            "startDate": iso(start),
            "endDate": iso(rec.end_date),
            "status": status,
            "ipAddress": self._ips[(h >> 28) % 251],
            "progress": rec.progress,
            "duration": int((rec.end_date - start).total_seconds()),
            "finished": 1 if finished else 0,
        }
        if rec.recorded:  # an in-progress session has no recorded date (§24): the key is absent
            values["recordedDate"] = iso_ms(rec.recorded_date)
        values["_recordId"] = rid
        if channel == "email":
            last, first = self._recipients[(h >> 36) % 61]
            values["recipientLastName"] = last
            values["recipientFirstName"] = first
            values["recipientEmail"] = (
                f"{first.lower()}.{last.lower().replace(chr(39), '')}@example.com"
            )
            values["externalDataReference"] = f"EXT-{(h >> 40) % 100000:05d}"
        values["locationLatitude"] = lat
        values["locationLongitude"] = lon
        values["distributionChannel"] = channel
        values["userLanguage"] = LANGUAGES[(h >> 44) % len(LANGUAGES)]
        labels: dict[str, Any] = {
            "status": STATUS_LABELS[status],
            "finished": "True" if finished else "False",
        }
        if plan.meta_keys is not None:
            values = {k: values[k] for k in plan.meta_keys if k in values}
            labels = {k: v for k, v in labels.items() if k in values}
        fields: list[str] = []
        dvals: dict[str, Any] = {}
        rnd = random.Random(self._rkey_base + (rec.index << 16) + (rec.version & 0xFFFF)).random
        qslots = plan.qslots
        limit = len(qslots) if finished else (len(qslots) * rec.progress) // 100
        i = 0
        for variants, n, inc in qslots:
            v = variants[int(rnd() * n)]
            i += 1
            if v is None or not inc or i > limit:
                continue
            fv, fl, fd, fdv = v
            if fv:
                values.update(fv)
            if fl:
                labels.update(fl)
            if fd:
                fields.extend(fd)
            if fdv:
                dvals.update(fdv)
        for variants, n, inc in plan.eslots:
            v = variants[int(rnd() * n)]
            if v is None or not inc:
                continue
            values.update(v[0])
        if rec.embedded:
            ef = plan.embedded_filter
            for k, val in rec.embedded.items():
                if ef is None or k in ef:
                    values[k] = val
        return {
            "responseId": rid,
            "values": values,
            "labels": labels,
            "displayedFields": fields,
            "displayedValues": dvals,
        }

    # ------------------------------------------------------------------------------------------------
    # CSV

    def _csv_plan(
        self,
        include_display_order: bool,
        question_ids: Iterable[str] | None,
        embedded_ids: Iterable[str] | None,
        metadata_ids: Iterable[str] | None,
    ) -> tuple:
        key = (
            bool(include_display_order),
            None if question_ids is None else frozenset(question_ids),
            None if embedded_ids is None else frozenset(embedded_ids),
            None if metadata_ids is None else frozenset(metadata_ids),
        )
        plan = self._csv_plans.get(key)
        if plan is not None:
            return plan
        do, qf, ef, mf = key
        cols: list[
            tuple[str, str, str, str, str | None]
        ] = []  # tag, text, import json, values key, do choice
        for tag, text, imp, vk in CSV_METADATA:
            if mf is None or vk in mf:
                cols.append((tag, text, _jd(imp), vk, None))
        for q, it in self.sequence:
            if qf is not None and q.qid not in qf:
                continue
            cols.extend(
                (c.csv_tag, c.csv_text, _jd(c.import_id), c.value_key, None) for c in q.columns(it)
            )
            if do:
                cols.extend(
                    (tag, text, _jd({"ImportId": vk, "choiceId": cid}), vk, cid)
                    for vk, tag, text, cid in q.do_columns(it)
                )
        cols.extend(
            (f, f, _jd({"ImportId": f}), f, None)
            for f in self.embedded_fields()
            if ef is None or f in ef
        )
        plan = tuple(cols)
        self._csv_plans[key] = plan
        return plan

    def csv_header_rows(
        self,
        include_display_order: bool = False,
        question_ids: Iterable[str] | None = None,
        embedded_ids: Iterable[str] | None = None,
        metadata_ids: Iterable[str] | None = None,
    ) -> tuple[list[str], list[str], list[str]]:
        """The three CSV header rows: export tags, question texts, ImportId JSON."""
        plan = self._csv_plan(include_display_order, question_ids, embedded_ids, metadata_ids)
        return [c[0] for c in plan], [c[1] for c in plan], [c[2] for c in plan]

    def csv_row(
        self,
        rendered: dict,
        use_labels: bool = False,
        include_display_order: bool = False,
        question_ids: Iterable[str] | None = None,
        embedded_ids: Iterable[str] | None = None,
        metadata_ids: Iterable[str] | None = None,
    ) -> list[str]:
        """One CSV row for a rendered response (columns as ``csv_header_rows`` with the same options)."""
        plan = self._csv_plan(include_display_order, question_ids, embedded_ids, metadata_ids)
        values = rendered["values"]
        labels = rendered["labels"]
        out: list[str] = []
        for _tag, _text, _imp, vk, do_choice in plan:
            if do_choice is not None:
                order = values.get(vk)
                out.append(str(order.index(do_choice) + 1) if order and do_choice in order else "")
                continue
            v = values.get(vk)
            if v is None:
                out.append("")
                continue
            if vk in ("startDate", "endDate", "recordedDate"):
                out.append(v[:19].replace("T", " "))
                continue
            if vk == "finished":
                out.append("True" if v else "False")
                continue
            if use_labels and vk in labels:
                v = labels[vk]
            if isinstance(v, list):
                out.append(",".join(str(x) for x in v))
            else:
                out.append(str(v))
        return out


def _jd(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _norm(frag: tuple) -> tuple:
    fv, fl, fd, fdv = frag
    return (fv or None, fl or None, tuple(fd) or None, fdv or None)


# ======================================================================================================
# Account


class Account:
    """All data of one sandbox brand. Callers hold ``lock`` while reading or mutating."""

    def __init__(self, seed: int, now: datetime, ids: IdFactory | None = None) -> None:
        self.seed = seed
        self.brand_id = "sandboxbrand"
        self.datacenter = "sandbox1"
        self.organization_id = "sandboxbrand"
        self.lock = threading.RLock()
        self.now = now  # build time
        #: The clock that stamps mutations; change it with :meth:`set_clock`.
        self.now_fn: Callable[[], datetime] = clock.utcnow
        self.surveys: dict[str, Survey] = {}
        self.users: list[dict] = []
        self.whoami: dict = {}
        self.directories: list[dict] = []
        self.contacts: dict[str, list[dict]] = {}
        self.mailing_lists: dict[str, list[dict]] = {}
        self.mailing_list_contacts: dict[str, list[dict]] = {}
        self.distributions: dict[str, list[dict]] = {}
        self.distribution_history: dict[str, list[dict]] = {}
        self.groups: list[dict] = []
        self.group_members: dict[str, list[str]] = {}
        self.divisions: list[dict] = []
        self.filters: dict[str, list[dict]] = {}
        #: filterId -> ``{"field", "equals"}`` of the saved filters added by ``POST /_sandbox/mutate
        #: {"add_filter"}``; a filter without an entry (every built one) keeps every response.
        self.filter_predicates: dict[str, dict[str, str]] = {}
        # XM Directory details (qualtrics_sandbox.xm_directory): contact dates and embedded data by
        # contact ID, and the side effects of GET /distributions/{id}/links.
        self.contact_details: dict[str, dict] = {}
        self.link_side_effects = 0
        self.contact_frequency_hits: dict[str, int] = {}
        #: The builder's ID factory (IDs unique in the account); without one, IDs come from a mutation's RNG.
        self.ids = ids
        #: IDs of the users removed by ``POST /_sandbox/mutate {"delete_users"}``, in removal order.
        self.deleted_users: list[str] = []
        #: directory ID -> IDs of the contacts deleted by a directory mutation, in deletion order.
        self.deleted_contacts: dict[str, list[str]] = {}
        self._last_stamp = EPOCH
        self._mutations = 0

    # ------------------------------------------------------------------------------------------------
    @staticmethod
    def user_list_element(user: dict) -> dict:
        return {
            k: user[k]
            for k in (
                "id",
                "divisionId",
                "username",
                "firstName",
                "lastName",
                "userType",
                "email",
                "accountStatus",
            )
        }

    def user(self, user_id: str) -> dict | None:
        for u in self.users:
            if u["id"] == user_id:
                return u
        return None

    def truth(self) -> dict:
        with self.lock:
            out = self.core_truth()
            out.update(xm_directory.truth(self))
            return out

    def core_truth(self) -> dict:
        """The survey, response and user part of :meth:`truth` (without the XM directory part)."""
        with self.lock:
            surveys = {}
            for sid, s in self.surveys.items():
                done = {}
                partial = {}
                for rid, r in s.responses.items():
                    (done if r.recorded else partial)[rid] = iso_ms(r.last_modified)
                surveys[sid] = {
                    "name": s.name,
                    "last_modified": iso(s.last_modified),
                    "is_active": s.is_active,
                    "questions": s.live_question_ids(),
                    "responses": done,
                    "in_progress": partial,
                    "deleted": list(s.deleted),
                    "closed": [rid for rid, r in s.responses.items() if r.closed],
                    "response_counts": s.response_counts(),
                    "filters": self._filter_truth(s),
                }
            return {
                "surveys": surveys,
                "users": [u["id"] for u in self.users],
                "deleted_users": list(self.deleted_users),
                "directories": {
                    d["directoryId"]: [
                        c["contactId"] for c in self.contacts.get(d["directoryId"], [])
                    ]
                    for d in self.directories
                },
                "mailing_lists": {
                    ml["mailingListId"]: [
                        c["contactId"]
                        for c in self.mailing_list_contacts.get(ml["mailingListId"], [])
                    ]
                    for mls in self.mailing_lists.values()
                    for ml in mls
                },
                "distributions": {
                    sid: [d["id"] for d in ds] for sid, ds in self.distributions.items()
                },
                "groups": [g["id"] for g in self.groups],
                "divisions": [d["id"] for d in self.divisions],
            }

    def _filter_truth(self, s: Survey) -> dict[str, list[str]]:
        """Map each saved filter's ID to the sorted IDs of the recorded responses it keeps (all of
        them for a filter without a predicate)."""
        recorded = [r for r in s.responses.values() if r.recorded]
        out = {}
        for f in self.filters.get(s.id, []):
            predicate = self.filter_predicates.get(f["filterId"])
            out[f["filterId"]] = sorted(
                r.response_id for r in recorded if s.filter_matches(r, predicate)
            )
        return out

    # ------------------------------------------------------------------------------------------------
    # mutation

    def set_clock(self, now_fn: Callable[[], datetime] | None) -> None:
        """Stamp mutations with ``now_fn`` from now on (``None``: the real UTC clock again).

        A test hook: a clock that returns a fixed moment stamps every change at that moment (each
        stamp is still 1 ms after the one before), e.g. just after a client's window edge.
        """
        with self.lock:
            self.now_fn = clock.utcnow if now_fn is None else now_fn

    def _planted_stamp(self, text: str) -> datetime:
        """A last-modified time the caller chose (``"stamp"`` of a mutation): any past moment, to ms."""
        planted = clock.truncate_ms(clock.parse_iso(text))
        if planted > self.now_fn():
            raise ValueError("stamp must not be in the future")
        return planted

    def stamp_after(self, latest: datetime) -> None:
        """Stamp mutations strictly after ``latest`` (the newest date of the data built)."""
        self._last_stamp = latest

    def _stamp(self) -> datetime:
        """A fresh last-modified time: now (ms), strictly after every earlier stamp, never ahead of real now."""
        now = clock.truncate_ms(self.now_fn())
        cand = max(now, self._last_stamp + clock.ONE_MS)
        if self.now_fn is clock.utcnow:
            ahead = (cand - clock.utcnow()).total_seconds()
            if 0 < ahead < 2:
                time.sleep(ahead + 0.001)
        self._last_stamp = cand
        return cand

    def mutate(self, spec: dict) -> dict:
        """Apply ``{"survey_id", "add": n, "edit": n, "delete": n, "edit_survey": bool,
        "delete_ids": [rid], "update": [{"response_id", "embedded_data", "reset_recorded_date"}]}``.
        ``"stamp"`` (ISO timestamp, not in the future) plants the last-modified time of these changes
        instead of now.

        Returns ``{"added": [...], "edited": [...], "deleted": [...], "updated": [...]}``.
        Unknown survey or response id -> KeyError (nothing changed for unknown response ids).
        ``delete`` and ``edit`` pick finished responses; ``delete_ids`` deletes any response, an
        in-progress one too (see :meth:`_mutate_lifecycle` for how that is counted).

        The response lifecycle (:meth:`_mutate_lifecycle`): ``"start": n`` (result ``started``),
        ``"finish": n`` / ``"finish_ids"`` (``finished``, ``finished_from``), ``"close": n`` /
        ``"close_ids"`` (``closed``, ``closed_from``), ``"advance": n`` / ``"advance_ids"``
        (``advanced``); a result key is there only when its mutation was asked for.

        Saved filters (:meth:`_mutate_filters`): ``"add_filter": {"name", "field", "equals"}`` (result
        ``"added_filter": filterId``) and ``"remove_filter": filterId`` (result ``"removed_filter"``).

        Also: ``"add_distributions": n, "edit_distributions": n`` with a survey (result keys
        ``added_distributions``/``edited_distributions``), and, without ``survey_id``, a directory
        mutation ``{"directory_id", "add_contacts", "edit_contacts", "delete_contacts",
        "delete_contact_ids", "mailing_list_id", "remove_members"}`` (see
        :func:`qualtrics_sandbox.xm_directory.mutate_directory`) and/or a user mutation
        ``{"add_users": n, "delete_users": n, "delete_user_ids": [uid]}`` (see :meth:`_mutate_users`).
        """
        if "survey_id" not in spec and any(k in spec for k in USER_MUTATIONS):
            with self.lock:
                self._check_user_ids(spec)
                if "directory_id" in spec:
                    xm_directory.check_directory_mutation(self, spec)
                out = self._mutate_users(spec)
                if "directory_id" in spec:
                    out.update(
                        self.mutate({k: v for k, v in spec.items() if k not in USER_MUTATIONS})
                    )
                return out
        if "survey_id" not in spec and "directory_id" in spec:
            with self.lock:
                did = spec["directory_id"]
                if not any(d["directoryId"] == did for d in self.directories):
                    raise KeyError(did)
                xm_directory.check_directory_mutation(self, spec)
                stamp = self._stamp()
                self._mutations += 1
                rng = random.Random(f"qualtrics-sandbox:{self.seed}:mutate:{did}:{self._mutations}")
                return xm_directory.mutate_directory(self, spec, stamp, rng)
        with self.lock:
            s = self.surveys[spec["survey_id"]]
            delete_ids = list(spec.get("delete_ids") or [])
            updates = list(spec.get("update") or [])
            for rid in delete_ids:
                if rid not in s.responses:
                    raise KeyError(rid)
            for u in updates:
                if u["response_id"] not in s.responses:
                    raise KeyError(u["response_id"])
            _check_lifecycle_ids(s, spec, delete_ids)
            _check_filter_spec(self, s, spec)
            stamp = self._planted_stamp(spec["stamp"]) if spec.get("stamp") else self._stamp()
            self._mutations += 1
            mrng = random.Random(f"qualtrics-sandbox:{self.seed}:mutate:{s.id}:{self._mutations}")
            result: dict[str, Any] = {"added": [], "edited": [], "deleted": [], "updated": []}
            # delete
            n_del = int(spec.get("delete") or 0)
            if n_del:
                finished = [
                    rid for rid, r in s.responses.items() if r.finished and rid not in delete_ids
                ]
                delete_ids += mrng.sample(finished, min(n_del, len(finished)))
            for rid in delete_ids:
                if s.forget(rid):
                    result["deleted"].append(rid)
            # edit (answers change: version + 1)
            n_edit = int(spec.get("edit") or 0)
            if n_edit:
                finished = [rid for rid, r in s.responses.items() if r.finished]
                for rid in mrng.sample(finished, min(n_edit, len(finished))):
                    r = s.responses[rid]
                    s.responses[rid] = dataclasses.replace(
                        r, version=r.version + 1, last_modified=stamp
                    )
                    result["edited"].append(rid)
            # targeted updates (PUT /responses/{id}: embedded data only)
            for u in updates:
                rid = u["response_id"]
                r = s.responses[rid]
                emb = dict(r.embedded or {})
                emb.update(
                    {
                        str(k): (v if isinstance(v, str) else str(v))
                        for k, v in (u.get("embedded_data") or {}).items()
                    }
                )
                if u.get("reset_recorded_date", True):
                    new = dataclasses.replace(
                        r,
                        embedded=emb,
                        recorded_date=stamp,
                        last_modified=stamp,
                        end_date=min(r.end_date, stamp),
                    )
                    del s.responses[rid]  # keep recorded order
                    s.responses[rid] = new
                else:
                    s.responses[rid] = dataclasses.replace(
                        r,
                        embedded=emb,
                        last_modified=stamp,
                        recorded_date=r.recorded_date + clock.ONE_MS,
                    )
                result["updated"].append(rid)
            # add
            n_add = int(spec.get("add") or 0)
            for _ in range(n_add):
                rid = self.ids.response() if self.ids else make_id(mrng, "R")
                dur = _duration(mrng)
                rec = ResponseRecord(
                    rid,
                    s.next_index,
                    0,
                    stamp - timedelta(seconds=dur),
                    stamp,
                    stamp,
                    stamp,
                    finished=True,
                    progress=100,
                )
                s.next_index += 1
                s.responses[rid] = rec
                result["added"].append(rid)
            result.update(self._mutate_lifecycle(s, spec, stamp, mrng))
            if spec.get("edit_survey"):
                s.new_revision(stamp)
            if spec.get("add_distributions") or spec.get("edit_distributions"):
                result.update(xm_directory.mutate_distributions(self, s, spec, stamp, mrng))
            result.update(self._mutate_filters(s, spec, stamp, mrng))
            return result

    def _mutate_filters(
        self, s: Survey, spec: dict, stamp: datetime, mrng: random.Random
    ) -> dict[str, str]:
        """Saved filters (``spec`` checked already by :func:`_check_filter_spec`).

        - ``"remove_filter": filterId``: the filter leaves ``GET /surveys/{id}/filters``; an export
          naming it is refused like an unknown one. Result ``"removed_filter": filterId``.
        - ``"add_filter": {"name", "field", "equals"}``: a new saved filter (created at the stamp, at
          the end of the survey's list) whose export keeps the responses whose exported JSON value for
          ``field``, as a string, equals ``equals`` (see :meth:`Survey.filter_value`). Result
          ``"added_filter": filterId``.
        """
        out: dict[str, str] = {}
        fid = spec.get("remove_filter")
        if fid is not None:
            self.filters[s.id] = [f for f in self.filters.get(s.id, []) if f["filterId"] != fid]
            self.filter_predicates.pop(fid, None)
            out["removed_filter"] = fid
        add = spec.get("add_filter")
        if add is not None:
            known = {f["filterId"] for fs in self.filters.values() for f in fs}
            fid = uuid4(mrng)
            while fid in known:
                fid = uuid4(mrng)
            self.filters.setdefault(s.id, []).append(
                {"filterId": fid, "filterName": add["name"], "creationDate": iso(stamp)}
            )
            self.filter_predicates[fid] = {"field": add["field"], "equals": add["equals"]}
            out["added_filter"] = fid
        return out

    # ------------------------------------------------------------------------------------------------
    # the response lifecycle

    def _mutate_lifecycle(
        self, s: Survey, spec: dict, stamp: datetime, mrng: random.Random
    ) -> dict[str, Any]:
        """In-progress responses: started, advanced, finished, closed (``spec`` checked already).

        An in-progress response is a session named ``FS_`` + 15 characters, without a recorded date
        (docs/qualtrics-api.md §24); when it is recorded (finished or closed) it gets a **new** ``R_``
        ID and the ``FS_`` one is gone.

        - ``"start": n``: n new in-progress sessions (``FS_`` IDs, ``finished`` False, progress 5-95 as
          the builder draws it, partial answers); start = stamp - a duration, end = last modified =
          stamp (the last activity).
        - ``"advance": n`` / ``"advance_ids"``: the respondent answers more (progress up, at most 99);
          end = last modified = stamp. The answers given so far stay the same. Result ``advanced``:
          the ``FS_`` IDs.
        - ``"finish": n`` / ``"finish_ids"``: finished now: progress 100, ``finished`` True, end =
          recorded = last modified = stamp. The answers given so far stay, the rest are filled in.
          Result ``finished``: the new ``R_`` IDs; ``finished_from``: ``{FS_ ID: R_ ID}``.
        - ``"close": n`` / ``"close_ids"``: closed (by hand, or when the partial-response expiry
          passes): Qualtrics then records the partial response with Finished = False and its progress
          and answers kept; recorded = last modified = stamp, end date (the last activity) kept.
          Result ``closed``: the new ``R_`` IDs; ``closed_from``: ``{FS_ ID: R_ ID}``.

        Finished and closed responses leave the in-progress export and join the normal one (at the
        end of ``Survey.responses``, the recorded order). Count-picked responses are in-progress ones
        not named in this mutation, drawn from the mutation's RNG.

        ``delete_ids`` may name an in-progress session too: it leaves the in-progress export and goes
        to ``Survey.deleted``, but changes no ``responseCounts`` (:meth:`Survey.forget`): how
        Qualtrics counts deleted sessions is not recorded, and counting nothing keeps the recorded
        identity auditable + generated - deleted = rows of an unfiltered export (§25).
        """
        result: dict[str, Any] = {}
        named = {
            rid for key in ("finish_ids", "close_ids", "advance_ids") for rid in spec.get(key) or []
        }
        for verb, key in (("advance", "advanced"), ("finish", "finished"), ("close", "closed")):
            ids_given = list(spec.get(f"{verb}_ids") or [])
            n = int(spec.get(verb) or 0)
            if not ids_given and not n and verb not in spec and f"{verb}_ids" not in spec:
                continue
            if n:
                pool = [
                    rid for rid, r in s.responses.items() if not r.recorded and rid not in named
                ]
                picked = mrng.sample(pool, min(n, len(pool)))
                named.update(picked)
                ids_given += picked
            result[key] = []
            if verb != "advance":
                result[f"{key}_from"] = {}
            for rid in ids_given:
                r = s.responses.pop(rid)
                if verb == "advance":
                    new = dataclasses.replace(
                        r,
                        progress=min(99, r.progress + mrng.randint(1, 30)),
                        end_date=stamp,
                        recorded_date=stamp,
                        last_modified=stamp,
                    )
                elif verb == "finish":
                    new = dataclasses.replace(
                        r,
                        finished=True,
                        progress=100,
                        end_date=stamp,
                        recorded_date=stamp,
                        last_modified=stamp,
                    )
                else:
                    new = dataclasses.replace(
                        r, closed=True, recorded_date=stamp, last_modified=stamp
                    )
                if verb != "advance":  # recorded under a new response ID; the session ID is gone
                    new = dataclasses.replace(new, response_id=self._new_id(mrng, "R"))
                    result[f"{key}_from"][rid] = new.response_id
                s.responses[new.response_id] = new
                result[key].append(new.response_id)
        n_start = int(spec.get("start") or 0)
        if n_start or "start" in spec:
            result["started"] = []
        for _ in range(n_start):
            rid = self._new_id(mrng, "FS")
            dur = _duration(mrng)
            s.responses[rid] = ResponseRecord(
                rid,
                s.next_index,
                0,
                stamp - timedelta(seconds=dur),
                stamp,
                stamp,
                stamp,
                finished=False,
                progress=_partial_progress(mrng),
            )
            s.next_index += 1
            result["started"].append(rid)
        return result

    def _new_id(self, mrng: random.Random, prefix: str) -> str:
        """A new ``<prefix>_`` ID: from the account's ID factory (unique), else from the mutation's RNG."""
        return self.ids.new(prefix) if self.ids else make_id(mrng, prefix)

    # ------------------------------------------------------------------------------------------------
    # users

    def _check_user_ids(self, spec: dict) -> None:
        """Refuse a user mutation before anything changes: unknown IDs, or the API-token owner."""
        known = {u["id"] for u in self.users}
        for uid in spec.get("delete_user_ids") or []:
            if uid not in known:
                raise KeyError(uid)
            if uid == self.users[0]["id"]:
                raise ValueError("the API-token owner (users[0]) cannot be deleted")
        for key in ("add_users", "delete_users"):
            if int(spec.get(key) or 0) < 0:
                raise ValueError(f"{key} must not be negative")

    def _mutate_users(self, spec: dict) -> dict[str, list[str]]:
        """``{"delete_users": n, "delete_user_ids": [uid], "add_users": n}`` (no ``survey_id``).

        Deleted users leave ``GET /users``, ``GET /users/{id}`` (404), the groups' members and truth
        ``users``; truth ``deleted_users`` lists them. ``users[0]`` (the API-token owner) is never
        picked and cannot be named. Surveys and distributions keep their ``ownerId`` (the sandbox
        does not model Qualtrics' transfer of a deleted user's content). Added users are active,
        created at the stamp, and join the end of the list. Result keys ``deleted_users`` /
        ``added_users``, each only when asked for.
        """
        stamp = self._stamp()
        self._mutations += 1
        rng = random.Random(f"qualtrics-sandbox:{self.seed}:mutate:users:{self._mutations}")
        result: dict[str, list[str]] = {}
        gone = list(spec.get("delete_user_ids") or [])
        n_del = int(spec.get("delete_users") or 0)
        if n_del:
            pool = [u["id"] for u in self.users[1:] if u["id"] not in gone]
            gone += rng.sample(pool, min(n_del, len(pool)))
        if gone or "delete_users" in spec or "delete_user_ids" in spec:
            result["deleted_users"] = gone
            drop = set(gone)
            self.users = [u for u in self.users if u["id"] not in drop]
            for gid, members in self.group_members.items():
                self.group_members[gid] = [m for m in members if m not in drop]
            self.deleted_users.extend(gone)
        n_add = int(spec.get("add_users") or 0)
        if n_add or "add_users" in spec:
            result["added_users"] = [self._new_user(rng, stamp) for _ in range(n_add)]
        return result

    def _new_user(self, rng: random.Random, stamp: datetime) -> str:
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        taken = {u["username"].split("#")[0].split("@")[0] for u in self.users}
        base = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        uname, k = base, 1
        while uname in taken:
            k += 1
            uname = f"{base}{k}"
        email = f"{uname}@example.com"
        uid = self.ids.user() if self.ids else make_id(rng, "UR")
        template = self.users[0]
        self.users.append(
            {
                "id": uid,
                "username": f"{email}#{self.brand_id}",
                "email": email,
                "firstName": first,
                "lastName": last,
                "userType": template["userType"],
                "divisionId": rng.choice(self.divisions)["id"] if self.divisions else None,
                "accountStatus": "active",
                "organizationId": self.organization_id,
                "language": "en",
                "timeZone": rng.choice(TIME_ZONES),
                "accountCreationDate": iso(stamp),
                "accountExpirationDate": None,
                "passwordLastChangedDate": iso(stamp),
                "passwordExpirationDate": None,
                "lastLoginDate": None,
                "unsubscribed": False,
                "responseCounts": {"auditable": 0, "generated": 0, "deleted": 0},
                "permissions": {
                    "controlPanel": {
                        "accountPermissions": {
                            "accessApi": {"state": "on"},
                            "useXmDirectory": {"state": "on"},
                        }
                    }
                },
            }
        )
        return uid


#: The keys of a user mutation (``POST /_sandbox/mutate`` without ``survey_id``).
USER_MUTATIONS = ("add_users", "delete_users", "delete_user_ids")


FILTER_SPEC_KEYS = ("name", "field", "equals")


def _check_filter_spec(account: Account, s: Survey, spec: dict) -> None:
    """Refuse a filter mutation before anything changes: ``add_filter`` must be an object with exactly
    a non-empty string ``name`` and ``field`` and a string ``equals`` (ValueError); ``remove_filter``
    must name one of the survey's saved filters (KeyError)."""
    if "add_filter" in spec:
        add = spec["add_filter"]
        if not isinstance(add, dict):
            raise ValueError('add_filter must be an object {"name", "field", "equals"}')
        missing = [k for k in FILTER_SPEC_KEYS if k not in add]
        unknown = sorted(set(add) - set(FILTER_SPEC_KEYS))
        if missing or unknown:
            raise ValueError(
                f"add_filter needs exactly name, field and equals (missing {missing}, unknown {unknown})"
            )
        for key in FILTER_SPEC_KEYS:
            if not isinstance(add[key], str) or (key != "equals" and not add[key].strip()):
                raise ValueError(
                    f"add_filter {key} must be a {'string' if key == 'equals' else 'non-empty string'}"
                )
    if "remove_filter" in spec:
        fid = spec["remove_filter"]
        if not isinstance(fid, str) or fid not in {
            f["filterId"] for f in account.filters.get(s.id, [])
        }:
            raise KeyError(f"no saved filter {fid!r} on survey {s.id}")


def _check_lifecycle_ids(s: Survey, spec: dict, delete_ids: list[str]) -> None:
    """Refuse a lifecycle mutation before anything changes: unknown IDs (KeyError), IDs of recorded
    responses, or one ID named twice (ValueError)."""
    seen = set(delete_ids)
    for key in ("advance_ids", "finish_ids", "close_ids"):
        for rid in spec.get(key) or []:
            r = s.responses.get(rid)
            if r is None:
                raise KeyError(rid)
            if r.recorded:
                raise ValueError(f"{key}: {rid} is not in progress")
            if rid in seen:
                raise ValueError(f"{key}: {rid} is named twice")
            seen.add(rid)
    for key in ("start", "advance", "finish", "close"):
        if int(spec.get(key) or 0) < 0:
            raise ValueError(f"{key} must not be negative")


def _partial_progress(rng: random.Random) -> int:
    """The progress of an in-progress response (the builder's draw)."""
    return rng.randint(5, 95)


def _duration(rng: random.Random) -> int:
    return max(15, min(7200, int(rng.lognormvariate(5.5, 0.8))))


# ======================================================================================================
# builder


def build_account(
    seed: int = 1,
    surveys: int = 12,
    responses: int = 40,
    large_responses: int | None = None,
    users: int = 230,
    now: datetime | None = None,
    questions: int | None = None,
) -> Account:
    """Build the deterministic account. See the sandbox interface notes for what each knob means.

    ``questions``: when given, every survey gets about that many questions (a realistic mix); default
    10-25 per survey. Surveys 0 and 1 always contain every question type.
    """
    now = clock.truncate_ms(now) if now is not None else clock.utcnow()
    if large_responses is None:
        large_responses = 5 * responses
    rng = random.Random(f"qualtrics-sandbox:{seed}:account")
    ids = IdFactory(rng)
    acct = Account(seed, now, ids)
    _build_org(acct, rng, ids, max(1, users))  # the API-token owner is users[0]
    _build_surveys(acct, rng, ids, surveys, responses, large_responses, questions)
    _build_directory(acct, rng, ids)
    xm_directory.enrich(acct)  # own RNG: the IDs and values above do not change
    last = [acct.now - timedelta(days=4000)]
    for s in acct.surveys.values():
        last.append(s.last_modified)
        last.extend(r.last_modified for r in s.responses.values())
    acct.stamp_after(max(last))
    return acct


def _build_org(acct: Account, rng: random.Random, ids: IdFactory, n_users: int) -> None:
    now = acct.now
    for name in ("Global", "Research", "Customer Experience", "Human Resources"):
        acct.divisions.append(
            {
                "id": ids("DV"),
                "name": name,
                "organizationId": acct.organization_id,
                "creationDate": iso(now - timedelta(days=rng.randint(1500, 2500))),
                "status": "Active",
            }
        )
    user_types = [ids("UT") for _ in range(3)]
    used_names: set[str] = set()
    for i in range(n_users):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        uname = base
        k = 1
        while uname in used_names:
            k += 1
            uname = f"{base}{k}"
        used_names.add(uname)
        email = f"{uname}@example.com"
        created = now - timedelta(days=rng.randint(30, 2500), seconds=rng.randint(0, 86399))
        status = "active" if i == 0 or rng.random() < 0.85 else "disabled"
        last_login = (
            None
            if rng.random() < 0.05 and i
            else iso(now - timedelta(days=rng.randint(0, 200), seconds=rng.randint(0, 86399)))
        )
        acct.users.append(
            {
                "id": ids.user(),
                "username": f"{email}#{acct.brand_id}",
                "email": email,
                "firstName": first,
                "lastName": last,
                "userType": user_types[0] if i == 0 else rng.choice(user_types),
                "divisionId": None if i == 0 else rng.choice(acct.divisions)["id"],
                "accountStatus": status,
                "organizationId": acct.organization_id,
                "language": rng.choice(["en", "en", "en", "de", "fr", "es", "ja"]),
                "timeZone": rng.choice(TIME_ZONES),
                "accountCreationDate": iso(created),
                "accountExpirationDate": None,
                "passwordLastChangedDate": iso(created + timedelta(days=rng.randint(0, 20))),
                "passwordExpirationDate": None,
                "lastLoginDate": last_login,
                "unsubscribed": rng.random() < 0.05,
                "responseCounts": {
                    "auditable": rng.randint(0, 5000),
                    "generated": rng.randint(0, 50),
                    "deleted": 0,
                },
                "permissions": {
                    "controlPanel": {
                        "accountPermissions": {
                            "accessApi": {"state": "on"},
                            "useXmDirectory": {"state": "on" if i % 3 else "off"},
                        }
                    }
                },
            }
        )
    owner = acct.users[0]
    acct.whoami = {
        "brandId": acct.brand_id,
        "userId": owner["id"],
        "userName": owner["username"],
        "accountType": owner["userType"],
        "firstName": owner["firstName"],
        "lastName": owner["lastName"],
        "email": owner["email"],
        "datacenter": acct.datacenter,
    }
    for name in ("All Staff", "Survey Admins", "CX Team", "Research Panel Owners"):
        gid = ids("GR")
        acct.groups.append(
            {
                "id": gid,
                "name": name,
                "type": "GT_" + ids.rng.choice("ABCDEFGH") + "default",
                "divisionId": rng.choice(acct.divisions)["id"],
                "organizationId": acct.organization_id,
                "creationDate": iso(now - timedelta(days=rng.randint(100, 1500))),
                "creatorId": owner["id"],
                "allUsers": name == "All Staff",
            }
        )
        acct.group_members[gid] = [
            u["id"] for u in rng.sample(acct.users, min(len(acct.users), rng.randint(3, 40)))
        ]


def _build_surveys(
    acct: Account,
    rng: random.Random,
    ids: IdFactory,
    n: int,
    responses: int,
    large: int,
    questions: int | None,
) -> None:
    now = acct.now
    now_ms = _ms(now)
    owners = [acct.users[0], *acct.users[1:6]]
    large_index = 1 if n >= 2 else None
    special_index = 2 if n >= 3 else None
    zero_index = (n - 1) if n >= 3 else None
    for i in range(n):
        if i == special_index:
            name = SPECIAL_NAME
        else:
            name = SURVEY_NAMES[i % len(SURVEY_NAMES)]
            if i >= len(SURVEY_NAMES):
                name += f" #{i // len(SURVEY_NAMES) + 1}"
        if n == 1:
            count = responses
        elif i == large_index:
            count = large
        elif i == zero_index:
            count = 0
        else:
            spread = max(0, responses // 10)
            count = max(1, responses + rng.randint(-spread, spread)) if responses else 0
        is_active = not (i == zero_index or i % 5 == 4)
        created_ms = now_ms - 3 * YEAR_MS - rng.randint(30, 400) * DAY_MS - rng.randint(0, DAY_MS)
        lm_ms = now_ms - rng.randint(1, 300) * DAY_MS - rng.randint(0, DAY_MS)
        activated = _dt(created_ms + rng.randint(1, 20) * DAY_MS) if (is_active or count) else None
        if questions:
            nq = max(1, questions + rng.randint(-max(1, questions // 20), max(1, questions // 20)))
        else:
            nq = rng.randint(10, 25)
        sid = ids.survey()
        s = Survey(
            acct,
            i,
            sid,
            name,
            rng.choice(owners)["id"],
            is_active=is_active,
            creation_date=clock.truncate_ms(_dt(created_ms)).replace(microsecond=0),
            last_modified=_dt(lm_ms).replace(microsecond=0),
            last_activated=activated.replace(microsecond=0) if activated else None,
            n_questions=nq,
            all_kinds=i < 2,
            ids=ids,
        )
        _build_responses(s, rng, ids, count, now_ms)
        acct.surveys[sid] = s
        acct.filters[sid] = [
            {
                "filterId": uuid4(rng),
                "filterName": fname,
                "creationDate": iso(_dt(lm_ms - rng.randint(1, 200) * DAY_MS)),
            }
            for fname in (["Completed only", "Last 30 days", "Email channel"][: rng.randint(0, 3)])
        ]


def _build_responses(
    s: Survey, rng: random.Random, ids: IdFactory, count: int, now_ms: int
) -> None:
    span = 3 * YEAR_MS
    rows = []
    rand = rng.random
    for _ in range(count):
        r = rand()
        if r < 0.05:  # in progress: recent activity (partial data closes after a week)
            rec_ms = now_ms - int(rand() * 6 * DAY_MS) - 1000
            rows.append((rec_ms, False))
        else:
            rec_ms = now_ms - int(rand() * span) - 1000
            rows.append((rec_ms, True))
    rows.sort()
    for index, (rec_ms, finished) in enumerate(rows):
        rid = ids.response() if finished else ids.new("FS")  # an in-progress session: FS_ (§24)
        dur = _duration(rng)
        recorded = _dt(rec_ms)
        start = _dt(rec_ms - dur * 1000 - int(rand() * 1000))
        start = start.replace(microsecond=0)
        if finished:
            progress = 100
            last_modified = recorded
            if rand() < 0.15:
                delta = int(rand() * min(now_ms - rec_ms - 1, 120 * DAY_MS))
                if delta >= 1:
                    last_modified = _dt(rec_ms + delta)
        else:
            progress = _partial_progress(rng)
            last_modified = recorded
        s.responses[rid] = ResponseRecord(
            rid, index, 0, start, recorded, recorded, last_modified, finished, progress
        )
    s.next_index = count


def _build_directory(acct: Account, rng: random.Random, ids: IdFactory) -> None:
    now = acct.now
    owner = acct.users[0]["id"]
    dirs = [("Default Directory", True, 120), ("Research Panel", False, 15)]
    for name, default, n_contacts in dirs:
        did = ids("POOL")
        contacts = []
        for _ in range(n_contacts):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            contacts.append(
                {
                    "contactId": ids("CID"),
                    "firstName": first,
                    "lastName": last,
                    "email": f"{first}.{last}{rng.randint(1, 999)}@example.org".lower().replace(
                        "'", ""
                    ),
                    "phone": None if rng.random() < 0.4 else f"+1-555-{rng.randint(1000, 9999)}",
                    "extRef": None if rng.random() < 0.5 else f"EXT-{rng.randint(10000, 99999)}",
                    "language": rng.choice(["EN", "EN", "DE", "FR", None]),
                    "unsubscribed": rng.random() < 0.05,
                }
            )
        acct.directories.append(
            {
                "directoryId": did,
                "name": name,
                "contactCount": len(contacts),
                "isDefault": default,
                "deduplicationCriteria": {
                    "email": True,
                    "firstName": False,
                    "lastName": False,
                    "externalDataReference": False,
                    "phone": False,
                },
            }
        )
        acct.contacts[did] = contacts
        lists = []
        sizes = [75, 30, 8] if default else [10]
        names = (
            ["Newsletter subscribers", "Beta testers – Europe", "VIP customers"]  # noqa: RUF001 - served as-is: non-ASCII punctuation on purpose
            if default
            else ["Panel wave 1"]
        )
        for size, mlname in zip(sizes, names, strict=True):
            mlid = ids("CG")
            created = now - timedelta(days=rng.randint(200, 900))
            lists.append(
                {
                    "mailingListId": mlid,
                    "name": mlname,
                    "contactCount": size,
                    "lastModifiedDate": iso(created + timedelta(days=rng.randint(1, 150))),
                    "creationDate": iso(created),
                    "ownerId": owner,
                }
            )
            members = []
            for c in rng.sample(contacts, min(size, len(contacts))):
                m = dict(c)
                m["contactLookupId"] = ids("MLRP")
                m["embeddedData"] = {
                    "tier": rng.choice(["gold", "silver", "bronze"]),
                    "signup_year": str(rng.randint(2015, 2024)),
                }
                members.append(m)
            acct.mailing_list_contacts[mlid] = members
        acct.mailing_lists[did] = lists
    # distributions for some surveys
    default_dir = acct.directories[0]["directoryId"]
    lists = acct.mailing_lists[default_dir]
    for i, s in enumerate(acct.surveys.values()):
        if not s.responses or i % 3 == 2:
            acct.distributions[s.id] = []
            continue
        dists = []
        finished_ids = [rid for rid, r in s.responses.items() if r.finished]
        ml = lists[i % len(lists)]
        invite_id = None
        for kind in ("Invite", "Reminder"):
            did = ids("EMD")
            created = now - timedelta(days=rng.randint(10, 600), seconds=rng.randint(0, 86399))
            if invite_id is not None:
                created = _dt(_ms(dists[0]["_created"]) + rng.randint(2, 7) * DAY_MS)
            modified = created + timedelta(hours=rng.randint(0, 48))
            members = acct.mailing_list_contacts[ml["mailingListId"]]
            rows = []
            stats = dict.fromkeys(xm_directory.DISTRIBUTION_STATS, 0)
            for m in members:
                sent = created + timedelta(
                    seconds=rng.randint(1, 600), milliseconds=rng.randint(0, 999)
                )
                r = rng.random()
                status = (
                    "SurveyFinished"
                    if r < 0.35
                    else "SurveyStarted"
                    if r < 0.45
                    else "Opened"
                    if r < 0.7
                    else "Bounced"
                    if r < 0.75
                    else "Success"
                )
                row = {
                    "contactId": m["contactId"],
                    "contactLookupId": m["contactLookupId"],
                    "distributionId": did,
                    "status": status,
                    "surveyLink": f"https://{acct.brand_id}.{acct.datacenter}.qualtrics.com/jfe/form/{s.id}"
                    f"?Q_CHL=email&Q_DL={did}_{s.id[3:]}_{m['contactLookupId']}",
                    "contactFrequencyRuleId": None,
                    "responseId": None,
                    "responseCompletedAt": None,
                    "sentAt": iso_ms(sent),
                    "openedAt": None,
                    "responseStartedAt": None,
                    "surveySessionId": None,
                }
                stats["sent"] += 1
                if status == "Bounced":
                    stats["bounced"] += 1
                elif status != "Success":
                    opened = sent + timedelta(minutes=rng.randint(1, 3000))
                    row["openedAt"] = iso_ms(opened.replace(microsecond=0))
                    stats["opened"] += 1
                    if status in ("SurveyStarted", "SurveyFinished"):
                        started = opened + timedelta(seconds=rng.randint(2, 120))
                        row["responseStartedAt"] = iso_ms(started.replace(microsecond=0))
                        row["surveySessionId"] = ids("FS")
                        stats["started"] += 1
                        if status == "SurveyFinished" and finished_ids:
                            row["responseId"] = rng.choice(finished_ids)
                            row["responseCompletedAt"] = iso_ms(
                                (started + timedelta(seconds=rng.randint(60, 900))).replace(
                                    microsecond=0
                                )
                            )
                            stats["finished"] += 1
                        elif status == "SurveyFinished":
                            row["status"] = "SurveyStarted"
                rows.append(row)
            acct.distribution_history[did] = rows
            dists.append(
                {
                    "id": did,
                    "parentDistributionId": invite_id,
                    "ownerId": s.owner_id,
                    "organizationId": acct.organization_id,
                    "requestStatus": "Done",
                    "requestType": kind,
                    "sendDate": iso(created),
                    "createdDate": iso(created),
                    "modifiedDate": iso(modified),
                    "headers": {
                        "fromEmail": "noreply@qemailserver.com",
                        "replyToEmail": acct.users[0]["email"],
                        "fromName": "Sandbox Research",
                        "subject": f"{'Reminder: ' if invite_id else ''}{s.name}",
                    },
                    "recipients": {
                        "mailingListId": ml["mailingListId"],
                        "contactId": None,
                        "libraryId": acct.users[0]["id"],
                        "sampleId": None,
                    },
                    "message": {
                        "libraryId": acct.users[0]["id"],
                        "messageId": ids("MS"),
                        "messageType": "Reminder" if invite_id else "Invite",
                    },
                    "surveyLink": {
                        "surveyId": s.id,
                        "expirationDate": iso(created + timedelta(days=60)),
                        "linkType": "Individual",
                    },
                    "embeddedData": None,
                    "stats": stats,
                    "_created": created,
                }
            )
            if invite_id is None:
                invite_id = did
        for d in dists:
            d.pop("_created")
        acct.distributions[s.id] = dists
