"""The question-type catalogue of the sandbox.

Each question class knows, for one question of a survey:

* its ``/survey-definitions`` shape (``definition()``: QuestionType/Selector/SubSelector, Choices, ChoiceOrder,
  Answers/AnswerOrder, RecodeValues, DataExportTag, string booleans ...),
* its legacy ``GET /surveys/{id}`` shape (``legacy()``: questionType{type,selector,subSelector}, choices,
  subQuestions, columns ...),
* its export columns (``columns(it)``): the JSON ``values`` key, the legacy ``exportColumnMap`` key and entry,
  and the three CSV header cells,
* how to answer it (``fragment(rng, it)``): the pieces it adds to ``values``, ``labels``,
  ``displayedFields`` and ``displayedValues`` of one response.

Key conventions (JSON exports): ``QIDn`` (recode), ``QIDn_TEXT`` (text entry), ``QIDn_<choice>_TEXT``
(other-specify), ``QIDn_<row>`` (matrix row, slider statement, rank item, form field),
``QIDn#<col>_<row>[_<choice>]`` (side by side), ``QIDn_NPS_GROUP``, ``QIDn_DO`` (display order),
``QIDn_FIRST_CLICK``..., ``QIDn_BROWSER``..., and ``<iteration>_<key>`` inside a loop-and-merge block.
The legacy ``exportColumnMap`` is keyed by export *tags* (``Q5``, ``Q6_1``, ``Q7_4_TEXT``, ``Q8#2_1_3``,
``TIMING_1_1``, ``Q20_1_TEXT``, ``Q9_1(2)`` for loop iteration 2) exactly like Qualtrics; each column knows
both names (see ``Column``).

A fragment is a 4-tuple ``(values, labels, displayed_fields, displayed_values)`` of small dicts / tuples that
the renderer merges into a response. Lists inside fragments are shared between responses: read-only.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar, NamedTuple

# --------------------------------------------------------------------------------------------------
# text pools


class Column(NamedTuple):
    """One export column of a question (or loop iteration of a question)."""

    value_key: str  # key in JSON values (QID-based), also the CSV ImportId
    map_key: str  # key in the legacy exportColumnMap (export-tag based); "" when not in the map
    map_entry: dict | None  # the exportColumnMap entry
    csv_tag: str  # CSV header row 1
    csv_text: str  # CSV header row 2
    import_id: dict  # CSV header row 3 (json-encoded by the caller)
    qid: str  # the question this column belongs to
    # further exportColumnMap entries naming the same values key (a multiple-answer side-by-side row is
    # one list-valued values key, but the legacy map lists one entry per row and choice)
    more_map: tuple[tuple[str, dict], ...] = ()


SCALES: dict[str, list[str]] = {
    "satisfaction": [
        "Extremely dissatisfied",
        "Somewhat dissatisfied",
        "Neither satisfied nor dissatisfied",
        "Somewhat satisfied",
        "Extremely satisfied",
    ],
    "agreement": [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ],
    "likelihood": [
        "Not at all likely",
        "Slightly likely",
        "Moderately likely",
        "Very likely",
        "Extremely likely",
    ],
    "importance": [
        "Not at all important",
        "Slightly important",
        "Moderately important",
        "Very important",
        "Extremely important",
    ],
    "frequency": ["Never", "Rarely", "Sometimes", "Often", "Always"],
    "quality": ["Poor", "Fair", "Good", "Very good", "Excellent"],
    "yesno": ["Yes", "No"],
    "ease": ["Very difficult", "Difficult", "Neutral", "Easy", "Very easy"],
}

SCALE_STEMS: dict[str, list[str]] = {
    "satisfaction": [
        "Overall, how satisfied are you with {topic}?",
        "How satisfied were you with <strong>{topic}</strong> during your last visit?",
        "Please rate your satisfaction with {topic}.",
    ],
    "agreement": [
        "To what extent do you agree: <em>{topic} meets my needs</em>.",
        "How much do you agree with the following statement? &quot;{topic} is good value for money.&quot;",
    ],
    "likelihood": [
        "How likely are you to use {topic} again?",
        "How likely are you to purchase {topic} in the next 12 months?",
    ],
    "importance": ["How important is {topic} to you?"],
    "frequency": ["How often do you use {topic}?", "How often did you contact us about {topic}?"],
    "quality": ["How would you rate the quality of {topic}?"],
    "yesno": ["Have you used {topic} in the last month?", "Did {topic} solve your problem?"],
    "ease": ["How easy was it to get started with {topic}?"],
}

TOPICS = [
    "our mobile app",
    "the checkout process",
    "customer support",
    "the delivery service",
    "our website",
    "the onboarding call",
    "the loyalty programme",
    "the product documentation",
    "the in-store experience",
    "the billing portal",
    "our newsletter",
    "the self-service kiosk",
    "the café menu",
    "the help centre",
    "the price plan",
    "the returns process",
    "the booking system",
    "our partner network",
]

OPTION_SETS: list[tuple[str, list[str]]] = [
    (
        "Which of these products have you bought?",
        ["Laptop", "Phone", "Tablet", "Headphones", "Smart watch", "Camera"],
    ),
    (
        "How did you hear about us?",
        ["Search engine", "Social media", "Friend or colleague", "Advertisement", "Event"],
    ),
    (
        "Which days do you usually shop?",
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    ),
    (
        "Which features do you use most?",
        ["Dashboards", "Reports", "Alerts", "Integrations", "Mobile access"],
    ),
    (
        "Which channels have you used to contact us?",
        ["Phone", "E-mail", "Chat", "Social media", "In person"],
    ),
    (
        "What is your preferred payment method?",
        ["Credit card", "Debit card", "PayPal", "Bank transfer", "Cash"],
    ),
    (
        "Which region do you live in?",
        ["North", "South", "East", "West", "Central", "Île-de-France"],
    ),
    ("What is your role?", ["Student", "Engineer", "Manager", "Teacher", "Nurse", "Retired"]),
]

DROPDOWN_SETS: list[tuple[str, list[str]]] = [
    (
        "What is your age?",
        ["Under 18", "18 - 24", "25 - 34", "35 - 44", "45 - 54", "55 - 64", "65 or older"],
    ),
    (
        "In which country do you live?",
        [
            "Australia",
            "Brazil",
            "Canada",
            "Deutschland",
            "España",
            "France",
            "India",
            "Japan",
            "México",
            "Österreich",
            "United Kingdom",
            "United States",
        ],
    ),
    ("How many people live in your household?", ["1", "2", "3", "4", "5", "6 or more"]),
    (
        "What is the highest level of education you have completed?",
        [
            "Less than high school",
            "High school graduate",
            "Some college",
            "Bachelor's degree",
            "Master's degree",
            "Doctorate",
        ],
    ),
]

MATRIX_STEMS = [
    "Please rate the following aspects of {topic}:",
    "How satisfied are you with each of the following?",
    "How much do you agree with the following statements about {topic}?",
]

MATRIX_ROWS = [
    "Speed",
    "Friendliness of staff",
    "Price",
    "Ease of use",
    "Reliability",
    "Range of products",
    "Cleanliness",
    "Waiting time",
    "Knowledge of staff",
    "Value for money",
    "Design",
    "Accessibility",
]

SL_PROMPTS = [
    ("What is your five-digit ZIP code?", ["10001", "94105", "60614", "73301", "02139", "98101"]),
    (
        "What is your job title?",
        ["Analyst", "Head of Data", "Teacher", "Nurse", "Product owner", "Chef de cuisine"],
    ),
    (
        "Which city do you live in?",
        ["Berlin", "São Paulo", "Zürich", "Kraków", "Tokyo", "Montréal", "Austin"],
    ),
    (
        "What is the name of your favourite product?",
        ["Widget Pro", "Gadget X", "Nimbus 2000", "Café Crème", "Ωmega"],
    ),
    ("How many employees does your company have?", ["12", "250", "1500", "3", "75", "10000"]),
]

ESSAY_PROMPTS = [
    "If you would like to share any additional comments about {topic}, please enter them below.",
    "What could we do to improve {topic}?",
    "Please describe your most recent experience with {topic}.",
]

ESSAY_TEXTS = [
    "Great service overall.\nThe staff were friendly and quick.",
    "The app crashes when I open the settings page.\nPlease fix this!\n\nThanks.",
    "Très bien, merci ! Le personnel était très aimable.",
    "Die Lieferung kam zu spät, aber der Kundendienst war hilfsbereit.",
    "配送がとても速かったです。ありがとうございます。",
    'Too expensive compared to "the other guys", but the quality is good, I guess.',
    "Honestly? 10/10 👍 would recommend to friends & family.",
    "Nothing to add.",
    'Line one\r\nLine two with a tab\there\nLine three; semi-colons, commas, and "quotes".',
    "I waited 45 minutes on the phone – that is not acceptable.\nPlease hire more agents.",  # noqa: RUF001 - answer data: typographic punctuation on purpose
    "Сервис отличный, но цены высокие.",
    "It was fine :)",
    "<b>bold?</b> no, just text with angle brackets < > & ampersands",
]

FORM_SETS: list[tuple[str, list[tuple[str, list[str]]]]] = [
    (
        "Please enter your contact details.",
        [
            ("First Name", ["Anna", "Bob", "Chloé", "Dmitri", "Emeka", "Fatima", "José", "Zoë"]),
            (
                "Last Name",
                ["Müller", "O'Brien", "Nakamura", "Smith", "García", "Nguyen", "Kowalski"],
            ),
            ("City", ["Berlin", "Dublin", "Ōsaka", "Lagos", "Seattle", "Córdoba"]),
            (
                "Email",
                ["anna@example.com", "bob@example.org", "chloe@example.net", "info@example.co.uk"],
            ),
        ],
    ),
    (
        "Tell us about your company.",
        [
            ("Company name", ["Acme Corp", "Globex", "Initech", "Umbrella GmbH", "Soylent & Co."]),
            ("Industry", ["Retail", "Healthcare", "Education", "Finance", "Manufacturing"]),
            (
                "Website",
                ["https://acme.example", "https://globex.example", "https://initech.example"],
            ),
        ],
    ),
]

SLIDER_STEMS = [
    "On a scale from 0 to 100, how would you rate the following?",
    "Move the sliders to show how much you value each of these.",
]

RANK_STEMS = [
    "Please rank the following in order of importance (1 = most important).",
    "Drag and drop the items to rank your preferences.",
]

NPS_STEMS = [
    "How likely are you to recommend {topic} to a friend or colleague?",
    "On a scale from 0-10, how likely are you to recommend us to a friend?",
]

DB_TEXTS = [
    "Thank you for taking part in this survey. It takes about <strong>5 minutes</strong>.",
    "<p>The next questions are about {topic}.</p>",
    "Your answers are confidential and will only be reported in aggregate.",
]

OTHER_TEXTS = [
    "Something else",
    "My neighbour",
    "A podcast",
    "Billboard on the A4",
    "Can't remember",
    "Trade fair – Köln",  # noqa: RUF001 - answer data: typographic punctuation on purpose
]

BROWSERS = [
    ("Chrome", "120.0.0.0", "Windows NT 10.0", "1920x1080"),
    ("Safari", "17.1", "Macintosh", "1440x900"),
    ("Firefox", "121.0", "Linux x86_64", "2560x1440"),
    ("Edge", "119.0.2151.97", "Windows NT 10.0", "1366x768"),
    ("Chrome", "119.0.6045.163", "Android 14", "412x915"),
    ("Safari", "16.6", "iPhone", "390x844"),
]

_TAG_RE = re.compile(r"<[^>]+>")


def plain(html: str) -> str:
    """Strip tags and decode the few entities we use (what Qualtrics shows in labels / CSV headers)."""
    text = _TAG_RE.sub("", html)
    return text.replace("&quot;", '"').replace("&amp;", "&").replace("&nbsp;", " ").strip()


def _pfx(key: str, it: int | None) -> str:
    return f"{it}_{key}" if it else key


def _mk(key: str, it: int | None) -> str:
    return f"{key}({it})" if it else key


def _validation(force: bool) -> dict:
    return {
        "Settings": {
            "ForceResponse": "ON" if force else "OFF",
            "ForceResponseType": "ON",
            "Type": "None",
        }
    }


class Choice(NamedTuple):
    """One choice (or statement, or scale point) of a question: ID, recode, HTML and plain text."""

    cid: str
    recode: str
    html: str
    text: str
    text_entry: bool = False


def _choices_from(
    rng: random.Random,
    texts: list[str],
    *,
    gaps: bool = False,
    recode_offset: int = 0,
    other: bool = False,
    html: bool = False,
) -> list[Choice]:
    """Build choices with ids 1..n (optionally with gaps, as after deleting choices)."""
    out: list[Choice] = []
    cid = 0
    for i, t in enumerate(texts):
        cid += 1
        if gaps and i > 0 and rng.random() < 0.2:
            cid += 1
        h = t
        if html and rng.random() < 0.3:
            h = rng.choice(
                [
                    f"<strong>{t}</strong>",
                    f"<em>{t}</em>",
                    f'<span style="color:#8e44ad;">{t}</span>',
                ]
            )
        out.append(Choice(str(cid), str(cid + recode_offset if recode_offset else cid), h, t))
    if other:
        cid += 1
        out.append(
            Choice(
                str(cid),
                str(cid + recode_offset if recode_offset else cid),
                "Other (please specify)",
                "Other (please specify)",
                text_entry=True,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# question classes


class Question:
    """Base class. Subclasses set ``kind``, the type triple and implement the hooks."""

    kind = ""
    qtype = ""
    selector = ""
    subselector: str | None = None
    answerable = True
    # probability that a displayed, non-forced question is left unanswered
    skip_rate = 0.06

    def __init__(self, qid: str, tag: str, rng: random.Random) -> None:
        self.qid = qid
        self.tag = tag
        self.num = int(qid[3:])
        self.force = rng.random() < 0.3
        self.randomize = False
        self.display_logic: tuple[str, str, str] | None = None  # (qid, choice id, description)
        self.text_html = ""
        self.text = ""
        self.setup(rng)
        if not self.text:
            self.text = plain(self.text_html)

    # ---- hooks -------------------------------------------------------------------------------------
    def setup(self, rng: random.Random) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def type_definition(self) -> dict:
        return {}

    def type_legacy(self) -> dict:
        return {}

    def columns(self, it: int | None = None) -> list[Column]:
        return []

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        """An answered fragment. ``cover``: prefer rarely chosen answers (other-specify), so that a few
        variants of every question produce every export column."""
        return ({}, {}, (), {})

    def unanswered(self, it: int | None = None) -> tuple:
        """Displayed but not answered: only displayedFields/displayedValues."""
        return ({}, {}, (), {})

    def do_columns(self, it: int | None = None) -> list[tuple[str, str, str, str]]:
        """Display-order columns: (values key, csv tag, csv text, choice id). Empty when not randomized."""
        return []

    def map_only(self, it: int | None = None) -> list[tuple[str, dict]]:
        """ExportColumnMap entries of keys that no export ever has (Qualtrics lists some)."""
        return []

    # ---- shared --------------------------------------------------------------------------------------
    def definition(self) -> dict:
        d: dict[str, Any] = {
            "QuestionText": self.text_html,
            "DataExportTag": self.tag,
            "QuestionType": self.qtype,
            "Selector": self.selector,
        }
        if self.subselector is not None:
            d["SubSelector"] = self.subselector
        d["Configuration"] = {"QuestionDescriptionOption": "UseText"}
        d["QuestionDescription"] = self.text if len(self.text) <= 100 else self.text[:97] + "..."
        d.update(self.type_definition())
        if self.display_logic is not None:
            dq, dc, desc = self.display_logic
            d["DisplayLogic"] = {
                "0": {
                    "0": {
                        "QuestionID": dq,
                        "QuestionIsInLoop": "no",
                        "ChoiceLocator": f"q://{dq}/SelectableChoice/{dc}",
                        "Operator": "Selected",
                        "QuestionIDFromLocator": dq,
                        "LeftOperand": f"q://{dq}/SelectableChoice/{dc}",
                        "Type": "Expression",
                        "LogicType": "Question",
                        "Description": f'<span class="ConjDesc">If</span> <span class="QuestionDesc">{desc}</span> '
                        f'<span class="OpDesc">Is Selected</span> ',
                    },
                    "Type": "If",
                },
                "Type": "BooleanExpression",
                "inPage": False,
            }
        if self.randomize:
            d["Randomization"] = {"Advanced": None, "Type": "All", "TotalRandSubset": ""}
        d["Validation"] = _validation(self.force)
        d["GradingData"] = []
        d["Language"] = []
        d.setdefault("NextChoiceId", 4)
        d.setdefault("NextAnswerId", 1)
        d["QuestionID"] = self.qid
        d["DataVisibility"] = {"Private": False, "Hidden": False}
        d["QuestionText_Unsafe"] = self.text_html
        return d

    def legacy(self) -> dict:
        d: dict[str, Any] = {
            "questionType": {
                "type": self.qtype,
                "selector": self.selector,
                "subSelector": self.subselector,
            },
            "questionText": self.text_html,
            "questionLabel": None,
            "validation": {"doesForceResponse": self.force},
            "questionName": self.tag,
        }
        d.update(self.type_legacy())
        if self.randomize:
            d["randomization"] = {"type": "all"}
        return d

    def col(
        self,
        key: str,
        it: int | None,
        map_key: str | None,
        entry: dict | None,
        csv_tag: str,
        csv_text: str,
    ) -> Column:
        vk = _pfx(key, it)
        return Column(
            vk,
            _mk(map_key, it) if map_key else "",
            entry,
            _pfx(csv_tag, it),
            csv_text,
            {"ImportId": vk},
            self.qid,
        )

    def text_column(
        self, c: Choice, it: int | None, mapped: bool = True, map_key: str | None = None
    ) -> Column:
        """``QIDn_<choice>_TEXT``, the typed text of a choice that takes one. The legacy map lists it under
        ``<tag>_<choice>_TEXT`` with the choice's references (``mapped``), or under ``map_key`` naming only
        the question, or not at all."""
        entry: dict | None = None
        if mapped:
            map_key = f"{self.tag}_{c.cid}_TEXT"
            entry = {
                "question": self.qid,
                "choice": f"{self.qid}.choices.{c.cid}",
                "textEntry": f"{self.qid}.choices.{c.cid}.textEntry",
            }
        elif map_key is not None:
            entry = {"question": self.qid}
        return self.col(
            f"{self.qid}_{c.cid}_TEXT",
            it,
            map_key,
            entry,
            f"{self.tag}_{c.cid}_TEXT",
            f"{self.text} - {c.text} - Text",
        )


def _legacy_choice(description: str, choice_text: str) -> dict[str, Any]:
    """One choice of a legacy survey's question (``GET /surveys/{id}``), without its recode."""
    return {
        "description": description,
        "choiceText": choice_text,
        "imageDescription": None,
        "variableName": None,
        "analyze": True,
    }


def _legacy_choices(choices: list[Choice], *, recode: bool = True) -> dict:
    out = {}
    for c in choices:
        e: dict[str, Any] = {"recode": c.recode} if recode else {}
        e.update(_legacy_choice(c.text, c.html))
        if c.text_entry:
            e["textEntry"] = {"questionType": {"type": "TE", "selector": "SL", "subSelector": None}}
        out[c.cid] = e
    return out


def _def_choices(choices: list[Choice]) -> dict:
    out = {}
    for c in choices:
        e: dict[str, Any] = {"Display": c.html}
        if c.text_entry:
            e["TextEntry"] = "true"
            e["TextEntrySize"] = "Small"
        out[c.cid] = e
    return out


def _recode_values(choices: list[Choice]) -> dict | None:
    if all(c.cid == c.recode for c in choices):
        return None
    return {c.cid: c.recode for c in choices}


class _ChoiceQuestion(Question):
    """Shared pieces of MC-like questions (one values key = the question)."""

    choices: list[Choice]
    order: list[str]
    multi = False

    def type_definition(self) -> dict:
        d: dict[str, Any] = {"Choices": _def_choices(self.choices), "ChoiceOrder": list(self.order)}
        rv = _recode_values(self.choices)
        if rv is not None:
            d["RecodeValues"] = rv
        d["NextChoiceId"] = max(int(c.cid) for c in self.choices) + 1
        return d

    def type_legacy(self) -> dict:
        return {"choices": _legacy_choices(self.choices)}

    def columns(self, it: int | None = None) -> list[Column]:
        cols = [self.col(self.qid, it, self.tag, {"question": self.qid}, self.tag, self.text)]
        texts = [c for c in self.choices if c.text_entry]
        if self.multi:
            return cols + [self.text_column(c, it) for c in texts]
        # a single-answer question: Qualtrics lists one `<tag>_TEXT` for the question, whatever the choice
        return cols + [
            self.text_column(c, it, mapped=False, map_key=None if n else f"{self.tag}_TEXT")
            for n, c in enumerate(texts)
        ]

    def do_columns(self, it: int | None = None) -> list[tuple[str, str, str, str]]:
        if not self.randomize:
            return []
        return [
            (
                _pfx(f"{self.qid}_DO", it),
                _pfx(f"{self.tag}_DO_{c.cid}", it),
                f"{self.text} - Display Order - {c.text}",
                c.cid,
            )
            for c in self.choices
        ]

    def _displayed_values(self) -> list[int]:
        return [int(c.recode) for c in sorted(self.choices, key=lambda c: int(c.cid))]

    def _shown(self, rng: random.Random, it: int | None, values: dict, labels: dict) -> None:
        if self.randomize:
            order = list(self.choices)
            # "other" stays last, as Qualtrics lets you anchor it
            fixed = [c for c in order if c.text_entry]
            movable = [c for c in order if not c.text_entry]
            rng.shuffle(movable)
            order = movable + fixed
            k = _pfx(f"{self.qid}_DO", it)
            values[k] = [c.cid for c in order]
            labels[k] = [c.text for c in order]

    def unanswered(self, it: int | None = None) -> tuple:
        """Shown, not answered: the display order is exported all the same (never in displayedFields)."""
        k = _pfx(self.qid, it)
        values: dict = {}
        labels: dict = {}
        if self.randomize:
            shift = self.num % len(self.choices)
            order = self.choices[shift:] + self.choices[:shift]
            do = _pfx(f"{self.qid}_DO", it)
            values[do] = [c.cid for c in order]
            labels[do] = [c.text for c in order]
        return (values, labels, (k,), {k: self._displayed_values()})

    def _other_text(self, rng: random.Random, c: Choice, it: int | None, values: dict) -> None:
        if c.text_entry:
            values[_pfx(f"{self.qid}_{c.cid}_TEXT", it)] = rng.choice(OTHER_TEXTS)


class MCSingle(_ChoiceQuestion):
    """Multiple choice, single answer: a scale or a list of options (one values key)."""

    kind = "mc_single"
    qtype, selector, subselector = "MC", "SAVR", "TX"

    def setup(self, rng: random.Random) -> None:
        if rng.random() < 0.55:
            scale = rng.choice([s for s in SCALES if s != "yesno"] + ["yesno"])
            stem = rng.choice(SCALE_STEMS[scale])
            self.text_html = stem.format(topic=rng.choice(TOPICS))
            texts = SCALES[scale]
            self.choices = _choices_from(rng, texts, html=True)
            self.order = [c.cid for c in self.choices]
            if len(texts) == 5 and rng.random() < 0.4:
                self.order.reverse()
            if rng.random() < 0.15:  # custom recodes (e.g. 0-based)
                self.choices = [c._replace(recode=str(int(c.recode) - 1)) for c in self.choices]
        else:
            stem, texts = rng.choice(OPTION_SETS)
            self.text_html = stem.replace("Which of these", "Which one of these")
            self.choices = _choices_from(rng, texts, gaps=True, other=rng.random() < 0.6)
            self.order = [c.cid for c in self.choices]
        if rng.random() < 0.2:
            self.selector = "SAHR"

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        k = _pfx(self.qid, it)
        values: dict = {}
        labels: dict = {}
        self._shown(rng, it, values, labels)
        others = [c for c in self.choices if c.text_entry]
        c = others[0] if cover and others else rng.choice(self.choices)
        values = {k: int(c.recode), **values}
        labels = {k: c.text, **labels}
        self._other_text(rng, c, it, values)
        return (values, labels, (k,), {k: self._displayed_values()})


class MCForced(MCSingle):
    """An MC single answer question that always has an "other, specify" choice and randomized order."""

    kind = "mc_other"

    def setup(self, rng: random.Random) -> None:
        stem, texts = rng.choice(OPTION_SETS)
        self.text_html = stem.replace("Which of these", "Which one of these")
        self.choices = _choices_from(rng, texts, gaps=True, other=True)
        self.order = [c.cid for c in self.choices]
        self.randomize = True


class MCMulti(_ChoiceQuestion):
    """Multiple choice, multiple answers: a list of the chosen recodes."""

    kind = "mc_multi"
    qtype, selector, subselector = "MC", "MAVR", "TX"
    multi = True

    def setup(self, rng: random.Random) -> None:
        stem, texts = rng.choice(OPTION_SETS)
        self.text_html = stem + " <em>(Select all that apply)</em>"
        self.choices = _choices_from(rng, texts, gaps=True, other=True)
        self.order = [c.cid for c in self.choices]
        if rng.random() < 0.5:
            self.randomize = True
        if rng.random() < 0.2:
            self.selector = "MAHR"

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        k = _pfx(self.qid, it)
        values: dict = {}
        labels: dict = {}
        n = rng.randint(1, min(4, len(self.choices)))
        picked = rng.sample(self.choices, n)
        if cover:
            picked += [c for c in self.choices if c.text_entry and c not in picked]
        picked.sort(key=lambda c: int(c.cid))
        values[k] = [c.recode for c in picked]
        labels[k] = [c.text for c in picked]
        for c in picked:
            self._other_text(rng, c, it, values)
        self._shown(rng, it, values, labels)
        return (values, labels, (k,), {k: self._displayed_values()})


class Dropdown(_ChoiceQuestion):
    """A dropdown list: one choice, like a single-answer multiple choice."""

    kind = "dropdown"
    qtype, selector, subselector = "MC", "DL", None

    def setup(self, rng: random.Random) -> None:
        stem, texts = rng.choice(DROPDOWN_SETS)
        self.text_html = stem
        self.choices = _choices_from(rng, texts)
        self.order = [c.cid for c in self.choices]

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        k = _pfx(self.qid, it)
        c = rng.choice(self.choices)
        return ({k: int(c.recode)}, {k: c.text}, (k,), {k: self._displayed_values()})


class NPS(_ChoiceQuestion):
    """Net Promoter Score: 0-10, with the detractor / passive / promoter group."""

    kind = "nps"
    qtype, selector, subselector = "MC", "NPS", None
    GROUPS: ClassVar[dict[int, str]] = {1: "Detractor", 2: "Passive", 3: "Promoter"}

    def setup(self, rng: random.Random) -> None:
        self.text_html = rng.choice(NPS_STEMS).format(topic=rng.choice(TOPICS))
        self.choices = [Choice(str(i), str(i), str(i), str(i)) for i in range(11)]
        self.order = [c.cid for c in self.choices]
        self.force = False

    def type_definition(self) -> dict:
        d = super().type_definition()
        d["ColumnLabels"] = {
            "0": {"Display": "Not at all likely", "IsLabelDefault": True},
            "1": {"Display": "Extremely likely", "IsLabelDefault": True},
        }
        d["NextChoiceId"] = 11
        return d

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(self.qid, it, self.tag, {"question": self.qid}, self.tag, self.text),
            self.col(
                f"{self.qid}_NPS_GROUP",
                it,
                f"{self.tag}_NPS_GROUP",
                {"question": self.qid},
                f"{self.tag}_NPS_GROUP",
                f"{self.text} - Group",
            ),
        ]

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        k = _pfx(self.qid, it)
        g = _pfx(f"{self.qid}_NPS_GROUP", it)
        score = rng.choices(range(11), weights=(2, 1, 1, 2, 2, 4, 6, 10, 14, 16, 12))[0]
        group = 1 if score <= 6 else 2 if score <= 8 else 3
        return (
            {k: score, g: group},
            {k: str(score), g: self.GROUPS[group]},
            (k,),
            {k: list(range(11))},
        )


class MatrixLikert(Question):
    """A Likert matrix: one scale point per statement (row)."""

    kind = "matrix"
    qtype, selector, subselector = "Matrix", "Likert", "SingleAnswer"

    def setup(self, rng: random.Random) -> None:
        topic = rng.choice(TOPICS)
        self.text_html = rng.choice(MATRIX_STEMS).format(topic=topic)
        nrows = rng.randint(3, 6)
        self.rows = _choices_from(rng, rng.sample(MATRIX_ROWS, nrows), gaps=True)
        self.row_order = [r.cid for r in self.rows]
        scale = rng.choice(["satisfaction", "agreement", "quality", "importance", "frequency"])
        self.answers = _choices_from(rng, SCALES[scale])
        if rng.random() < 0.15:  # recoded scale, e.g. 0-4 or reversed
            if rng.random() < 0.5:
                self.answers = [a._replace(recode=str(int(a.recode) - 1)) for a in self.answers]
            else:
                n = len(self.answers)
                self.answers = [a._replace(recode=str(n + 1 - int(a.recode))) for a in self.answers]
        self.answer_order = [a.cid for a in self.answers]
        self.randomize = rng.random() < 0.4
        self.randomize_answers = self.num % 2 == 1  # scale points shown in random order: QIDn_ADO

    def type_definition(self) -> dict:
        d: dict[str, Any] = {
            "Choices": {r.cid: {"Display": r.html} for r in self.rows},
            "ChoiceOrder": list(self.row_order),
            "Answers": {a.cid: {"Display": a.html} for a in self.answers},
            "AnswerOrder": list(self.answer_order),
            "ChoiceDataExportTags": False,
            "NextChoiceId": max(int(r.cid) for r in self.rows) + 1,
            "NextAnswerId": len(self.answers) + 1,
        }
        d["Configuration"] = {
            "QuestionDescriptionOption": "UseText",
            "TextPosition": "inline",
            "ChoiceColumnWidth": 25,
            "RepeatHeaders": "none",
            "WhiteSpace": "OFF",
            "MobileFirst": True,
        }
        rv = _recode_values(self.answers)
        if rv is not None:
            d["RecodeValues"] = rv
        if self.randomize_answers:
            d["AnswerRandomization"] = {"Advanced": None, "TotalRandSubset": "", "Type": "All"}
        return d

    def definition(self) -> dict:
        return super().definition()

    def type_legacy(self) -> dict:
        subs = {}
        for r in self.rows:
            subs[r.cid] = {
                "recode": r.recode,
                "description": r.text,
                "choiceText": r.html,
                "variableName": None,
                "imageDescription": None,
            }
        ch = {}
        for a in self.answers:
            ch[a.cid] = {
                "recode": a.recode,
                "description": a.text,
                "choiceText": a.html,
                "imageDescription": None,
                "analyze": True,
            }
        return {"subQuestions": subs, "choices": ch}

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{r.cid}",
                it,
                f"{self.tag}_{r.cid}",
                {"question": self.qid, "subQuestion": f"{self.qid}.subQuestions.{r.cid}"},
                f"{self.tag}_{r.cid}",
                f"{self.text} - {r.text}",
            )
            for r in self.rows
        ]

    def do_columns(self, it: int | None = None) -> list[tuple[str, str, str, str]]:
        out = []
        if self.randomize:
            out += [
                (
                    _pfx(f"{self.qid}_DO", it),
                    _pfx(f"{self.tag}_DO_{r.cid}", it),
                    f"{self.text} - Display Order - {r.cid}",
                    r.cid,
                )
                for r in self.rows
            ]
        if self.randomize_answers:
            out += [
                (
                    _pfx(f"{self.qid}_ADO", it),
                    _pfx(f"{self.tag}_ADO_{a.cid}", it),
                    f"{self.text} - Answer Display Order - {a.cid}",
                    a.cid,
                )
                for a in self.answers
            ]
        return out

    def _dv(self, it: int | None) -> dict:
        scale = [int(a.recode) for a in self.answers]
        return {_pfx(f"{self.qid}_{r.cid}", it): scale for r in self.rows}

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, tuple(_pfx(f"{self.qid}_{r.cid}", it) for r in self.rows), self._dv(it))

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values: dict = {}
        labels: dict = {}
        base = rng.randrange(len(self.answers))
        for r in self.rows:
            if not self.force and rng.random() < 0.05:
                continue  # row left blank
            j = min(len(self.answers) - 1, max(0, base + rng.choice((-1, 0, 0, 1))))
            a = self.answers[j]
            k = _pfx(f"{self.qid}_{r.cid}", it)
            values[k] = int(a.recode)
            labels[k] = a.text
        if self.randomize:
            order = list(self.rows)
            rng.shuffle(order)
            k = _pfx(f"{self.qid}_DO", it)
            values[k] = [r.cid for r in order]
            labels[k] = [r.text for r in order]
        if self.randomize_answers:
            shown = self.answers[base:] + self.answers[:base]
            k = _pfx(f"{self.qid}_ADO", it)
            values[k] = [a.cid for a in shown]
            labels[k] = [a.text for a in shown]
        fields = tuple(_pfx(f"{self.qid}_{r.cid}", it) for r in self.rows)
        return (values, labels, fields, self._dv(it))


class MatrixMulti(MatrixLikert):
    """A matrix that takes several scale points per row: one list-valued key per row (the legacy map still
    lists one entry per row and scale point)."""

    kind = "matrix_multi"
    subselector = "MultipleAnswer"

    def setup(self, rng: random.Random) -> None:
        super().setup(rng)
        self.answers = _choices_from(
            rng, ["Used it", "Would recommend", "Too expensive", "Hard to find"]
        )
        self.answer_order = [a.cid for a in self.answers]
        self.randomize_answers = False

    def columns(self, it: int | None = None) -> list[Column]:
        out = []
        for r in self.rows:
            entries = [
                (
                    _mk(f"{self.tag}_{r.cid}_{a.cid}", it),
                    {
                        "question": self.qid,
                        "subQuestion": f"{self.qid}.subQuestions.{r.cid}",
                        "choice": f"{self.qid}.choices.{a.cid}",
                    },
                )
                for a in self.answers
            ]
            column = self.col(
                f"{self.qid}_{r.cid}",
                it,
                f"{self.tag}_{r.cid}_{self.answers[0].cid}",
                entries[0][1],
                f"{self.tag}_{r.cid}",
                f"{self.text} - {r.text}",
            )
            out.append(column._replace(more_map=tuple(entries[1:])))
        return out

    def _dv(self, it: int | None) -> dict:
        scale = [a.recode for a in self.answers]
        return {_pfx(f"{self.qid}_{r.cid}", it): scale for r in self.rows}

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values: dict = {}
        labels: dict = {}
        for r in self.rows:
            picked = [a for a in self.answers if rng.random() < 0.35]
            if picked:
                k = _pfx(f"{self.qid}_{r.cid}", it)
                values[k] = [a.recode for a in picked]
                labels[k] = [a.text for a in picked]
        if self.randomize:
            order = list(self.rows)
            rng.shuffle(order)
            k = _pfx(f"{self.qid}_DO", it)
            values[k] = [r.cid for r in order]
            labels[k] = [r.text for r in order]
        fields = tuple(_pfx(f"{self.qid}_{r.cid}", it) for r in self.rows)
        return (values, labels, fields, self._dv(it))


class MatrixText(MatrixLikert):
    """A text-entry matrix: one typed text per row and column (``QIDn_r_a_TEXT``)."""

    kind = "matrix_te"
    qtype, selector, subselector = "Matrix", "TE", "Short"

    def setup(self, rng: random.Random) -> None:
        super().setup(rng)
        self.answers = _choices_from(rng, ["Brand", "Model"])
        self.answer_order = [a.cid for a in self.answers]
        self.randomize = False
        self.randomize_answers = False

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{r.cid}_{a.cid}_TEXT",
                it,
                f"{self.tag}_{r.cid}_{a.cid}_TEXT",
                {
                    "question": self.qid,
                    "subQuestion": f"{self.qid}.subQuestions.{r.cid}",
                    "choice": f"{self.qid}.choices.{a.cid}",
                    "textEntry": f"{self.qid}.choices.{a.cid}.textEntry",
                },
                f"{self.tag}_{r.cid}_{a.cid}_TEXT",
                f"{self.text} - {r.text} - {a.text}",
            )
            for r in self.rows
            for a in self.answers
        ]

    def _fields(self, it: int | None) -> tuple:
        return tuple(
            _pfx(f"{self.qid}_{r.cid}_{a.cid}_TEXT", it) for r in self.rows for a in self.answers
        )

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, self._fields(it), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values = {key: rng.choice(OTHER_TEXTS) for key in self._fields(it) if rng.random() < 0.7}
        return (values, {}, self._fields(it), {})


class MatrixCarried(MatrixLikert):
    """A matrix whose statements are carried forward from a multiple-choice question's choices: rows keyed
    ``x<source choice>`` (``QIDn_x3``), the source's text-entry choice giving ``QIDn_x<c>_TEXT``."""

    kind = "matrix_carried"
    source: _ChoiceQuestion | None = None  # set once the survey's questions exist

    def setup(self, rng: random.Random) -> None:
        super().setup(rng)
        self.randomize = False
        self.randomize_answers = False

    @property
    def _linked(self) -> _ChoiceQuestion:
        """The source question, which the survey sets once its questions exist."""
        if self.source is None:
            raise RuntimeError("a carried-forward matrix needs its source question")
        return self.source

    @property
    def carried(self) -> list[Choice]:
        return self._linked.choices

    def type_definition(self) -> dict:
        d = super().type_definition()
        source = self._linked
        d["Choices"], d["ChoiceOrder"] = [], []
        d["DynamicChoices"] = {
            "DynamicType": "ChoiceGroup",
            "Locator": f"q://{source.qid}/ChoiceGroup/DisplayedChoices",
            "Type": "Dynamic",
        }
        d["DynamicChoicesData"] = []
        return d

    def type_legacy(self) -> dict:
        d = super().type_legacy()
        d["subQuestions"] = {}  # carried forward: known only per response
        return d

    def columns(self, it: int | None = None) -> list[Column]:
        rows = [
            self.col(
                f"{self.qid}_x{c.cid}",
                it,
                None,
                None,
                f"{self.tag}_x{c.cid}",
                f"{self.text} - {c.text}",
            )
            for c in self.carried
        ]
        return rows + [
            self.col(
                f"{self.qid}_x{c.cid}_TEXT",
                it,
                None,
                None,
                f"{self.tag}_x{c.cid}_TEXT",
                f"{self.text} - {c.text}",
            )
            for c in self.carried
            if c.text_entry
        ]

    def do_columns(self, it: int | None = None) -> list[tuple[str, str, str, str]]:
        return []

    def _dv(self, it: int | None) -> dict:
        scale = [int(a.recode) for a in self.answers]
        return {_pfx(f"{self.qid}_x{c.cid}", it): scale for c in self.carried}

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, tuple(self._dv(it)), self._dv(it))

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values: dict = {}
        labels: dict = {}
        for c in self.carried:
            a = rng.choice(self.answers)
            k = _pfx(f"{self.qid}_x{c.cid}", it)
            values[k], labels[k] = int(a.recode), a.text
            if c.text_entry:
                values[_pfx(f"{self.qid}_x{c.cid}_TEXT", it)] = rng.choice(OTHER_TEXTS)
        return (values, labels, tuple(self._dv(it)), self._dv(it))


class SideBySide(Question):
    """Side by side: per statement, a single-answer scale column and a multiple-answer column."""

    kind = "sbs"
    qtype, selector, subselector = "SBS", "SBSMatrix", None

    def setup(self, rng: random.Random) -> None:
        topic = rng.choice(TOPICS)
        self.text_html = f"For each of the following, tell us about <b>{topic}</b>."
        self.rows = _choices_from(rng, rng.sample(MATRIX_ROWS, rng.randint(3, 4)))
        # column 1: single answer scale; column 2: multiple answer checkboxes
        self.col_defs = [
            ("1", "How important is it?", "SingleAnswer", _choices_from(rng, SCALES["importance"])),
            (
                "2",
                "Which of these apply?",
                "MultipleAnswer",
                _choices_from(rng, ["Used it", "Would recommend", "Too expensive"]),
            ),
        ]

    def type_definition(self) -> dict:
        addl = {}
        for cid, ctext, sub, answers in self.col_defs:
            addl[cid] = {
                "QuestionText": ctext,
                "DataExportTag": f"{self.tag}#{cid}",
                "QuestionType": "Matrix",
                "Selector": "Likert",
                "SubSelector": sub,
                "Configuration": {"QuestionDescriptionOption": "UseText", "TextPosition": "inline"},
                "QuestionDescription": ctext,
                "Choices": {r.cid: {"Display": r.html} for r in self.rows},
                "ChoiceOrder": [r.cid for r in self.rows],
                "Answers": {a.cid: {"Display": a.html} for a in answers},
                "AnswerOrder": [a.cid for a in answers],
                "Validation": _validation(force=False),
                "Language": [],
                "NextChoiceId": len(self.rows) + 1,
                "NextAnswerId": len(answers) + 1,
                "QuestionID": f"{self.qid}#{cid}",
                "SubQuestionID": cid,
            }
        return {
            "Choices": {r.cid: {"Display": r.html} for r in self.rows},
            "ChoiceOrder": [r.cid for r in self.rows],
            "AdditionalQuestions": addl,
            "NumberOfQuestions": len(self.col_defs),
            "NextChoiceId": len(self.rows) + 1,
        }

    def type_legacy(self) -> dict:
        subs = {
            r.cid: {
                "recode": r.recode,
                "description": r.text,
                "choiceText": r.html,
                "variableName": None,
                "imageDescription": None,
            }
            for r in self.rows
        }
        cols = {}
        for cid, ctext, sub, answers in self.col_defs:
            cols[cid] = {
                "questionType": {"type": "Matrix", "selector": "Likert", "subSelector": sub},
                "questionText": ctext,
                "choices": {
                    a.cid: {
                        "recode": a.recode,
                        "description": a.text,
                        "choiceText": a.html,
                        "imageDescription": None,
                        "analyze": True,
                    }
                    for a in answers
                },
            }
        return {"subQuestions": subs, "columns": cols}

    def columns(self, it: int | None = None) -> list[Column]:
        out = []
        for cid, ctext, sub, answers in self.col_defs:
            for r in self.rows:
                if sub == "SingleAnswer":
                    out.append(
                        self.col(
                            f"{self.qid}#{cid}_{r.cid}",
                            it,
                            f"{self.tag}#{cid}_{r.cid}",
                            {
                                "question": self.qid,
                                "column": f"{self.qid}.columns.{cid}",
                                "subQuestion": f"{self.qid}.subQuestions.{r.cid}",
                            },
                            f"{self.tag}#{cid}_{r.cid}",
                            f"{self.text} - {ctext} - {r.text}",
                        )
                    )
                else:  # one list-valued key per row; the legacy map has one entry per row and choice
                    entries = [
                        (
                            _mk(f"{self.tag}#{cid}_{r.cid}_{a.cid}", it),
                            {
                                "question": self.qid,
                                "column": f"{self.qid}.columns.{cid}",
                                "subQuestion": f"{self.qid}.subQuestions.{r.cid}",
                                "choice": f"{self.qid}.columns.{cid}.choices.{a.cid}",
                            },
                        )
                        for a in answers
                    ]
                    column = self.col(
                        f"{self.qid}#{cid}_{r.cid}",
                        it,
                        f"{self.tag}#{cid}_{r.cid}_{answers[0].cid}",
                        entries[0][1],
                        f"{self.tag}#{cid}_{r.cid}",
                        f"{self.text} - {ctext} - {r.text}",
                    )
                    out.append(column._replace(more_map=tuple(entries[1:])))
        return out

    def _fields_dv(self, it: int | None) -> tuple[tuple, dict]:
        fields = []
        dv = {}
        for cid, _ctext, sub, answers in self.col_defs:
            for r in self.rows:
                k = _pfx(f"{self.qid}#{cid}_{r.cid}", it)
                fields.append(k)
                if sub == "SingleAnswer":
                    dv[k] = [int(a.recode) for a in answers]
                else:
                    dv[k] = [a.recode for a in answers]
        return tuple(fields), dv

    def unanswered(self, it: int | None = None) -> tuple:
        fields, dv = self._fields_dv(it)
        return ({}, {}, fields, dv)

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values: dict = {}
        labels: dict = {}
        for cid, _ctext, sub, answers in self.col_defs:
            for r in self.rows:
                if sub == "SingleAnswer":
                    a = rng.choice(answers)
                    k = _pfx(f"{self.qid}#{cid}_{r.cid}", it)
                    values[k] = int(a.recode)
                    labels[k] = a.text
                else:
                    picked = [a for a in answers if rng.random() < 0.4]
                    if picked:
                        k = _pfx(f"{self.qid}#{cid}_{r.cid}", it)
                        values[k] = [a.recode for a in picked]
                        labels[k] = [a.text for a in picked]
        fields, dv = self._fields_dv(it)
        return (values, labels, fields, dv)


class TextSingle(Question):
    """Text entry, a single line."""

    kind = "te_single"
    qtype, selector, subselector = "TE", "SL", None

    def setup(self, rng: random.Random) -> None:
        self.text_html, self.pool = rng.choice(SL_PROMPTS)

    def type_definition(self) -> dict:
        return {"DefaultChoices": False, "SearchSource": {"AllowFreeResponse": "false"}}

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(f"{self.qid}_TEXT", it, self.tag, {"question": self.qid}, self.tag, self.text)
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, (_pfx(f"{self.qid}_TEXT", it),), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        k = _pfx(f"{self.qid}_TEXT", it)
        return ({k: rng.choice(self.pool)}, {}, (k,), {})


class TextEssay(TextSingle):
    """Text entry, an essay box: multi-line texts in several scripts."""

    kind = "te_essay"
    qtype, selector, subselector = "TE", "ESTB", None
    skip_rate = 0.3

    def setup(self, rng: random.Random) -> None:
        self.text_html = rng.choice(ESSAY_PROMPTS).format(topic=rng.choice(TOPICS))
        self.pool = ESSAY_TEXTS
        self.force = False


class TextForm(Question):
    """A text entry form: one text per field."""

    kind = "te_form"
    qtype, selector, subselector = "TE", "FORM", None

    def setup(self, rng: random.Random) -> None:
        self.text_html, fields = rng.choice(FORM_SETS)
        self.fields = [(str(i + 1), name, pool) for i, (name, pool) in enumerate(fields)]

    def type_definition(self) -> dict:
        return {
            "Choices": {cid: {"Display": name} for cid, name, _ in self.fields},
            "ChoiceOrder": [cid for cid, _, _ in self.fields],
            "NextChoiceId": len(self.fields) + 1,
        }

    def type_legacy(self) -> dict:
        return {"choices": {cid: _legacy_choice(name, name) for cid, name, _ in self.fields}}

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{cid}",
                it,
                f"{self.tag}_{cid}_TEXT",
                {"question": self.qid, "choice": f"{self.qid}.choices.{cid}"},
                f"{self.tag}_{cid}",
                f"{self.text} - {name}",
            )
            for cid, name, _ in self.fields
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, tuple(_pfx(f"{self.qid}_{cid}", it) for cid, _, _ in self.fields), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values = {}
        for cid, _name, pool in self.fields:
            if rng.random() < 0.9:
                values[_pfx(f"{self.qid}_{cid}", it)] = rng.choice(pool)
        return (values, {}, tuple(_pfx(f"{self.qid}_{cid}", it) for cid, _, _ in self.fields), {})


class Slider(Question):
    """A slider: a number per statement."""

    kind = "slider"
    qtype, selector, subselector = "Slider", "HSLIDER", None

    def setup(self, rng: random.Random) -> None:
        self.text_html = rng.choice(SLIDER_STEMS)
        self.statements = _choices_from(rng, rng.sample(MATRIX_ROWS, rng.randint(2, 4)))

    def type_definition(self) -> dict:
        return {
            "Choices": {s.cid: {"Display": s.html} for s in self.statements},
            "ChoiceOrder": [s.cid for s in self.statements],
            "Configuration": {
                "QuestionDescriptionOption": "UseText",
                "CSSliderMin": 0,
                "CSSliderMax": 100,
                "GridLines": 10,
                "SnapToGrid": False,
                "NumDecimals": "0",
                "ShowValue": True,
                "CustomStart": False,
                "NotApplicable": False,
                "MobileFirst": True,
            },
            "Labels": {"1": {"Display": "Low"}, "2": {"Display": "High"}},
            "NextChoiceId": len(self.statements) + 1,
        }

    def type_legacy(self) -> dict:
        return {
            "choices": {
                s.cid: {"recode": s.recode, **_legacy_choice(s.text, s.html)}
                for s in self.statements
            }
        }

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{s.cid}",
                it,
                f"{self.tag}_{s.cid}",
                {"question": self.qid, "choice": f"{self.qid}.choices.{s.cid}"},
                f"{self.tag}_{s.cid}",
                f"{self.text} - {s.text}",
            )
            for s in self.statements
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, tuple(_pfx(f"{self.qid}_{s.cid}", it) for s in self.statements), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values = {_pfx(f"{self.qid}_{s.cid}", it): rng.randint(0, 100) for s in self.statements}
        return (values, {}, tuple(values), {})


class RankOrder(Question):
    """Rank order: each choice's rank."""

    kind = "rank"
    qtype, selector, subselector = "RO", "DND", "TX"

    def setup(self, rng: random.Random) -> None:
        self.text_html = rng.choice(RANK_STEMS)
        _stem, texts = rng.choice(OPTION_SETS)
        self.items = _choices_from(rng, rng.sample(texts, min(len(texts), rng.randint(3, 5))))

    def type_definition(self) -> dict:
        return {
            "Choices": {c.cid: {"Display": c.html} for c in self.items},
            "ChoiceOrder": [c.cid for c in self.items],
            "Configuration": {
                "QuestionDescriptionOption": "UseText",
                "Stack": False,
                "StackItemsInGroups": False,
            },
            "NextChoiceId": len(self.items) + 1,
        }

    def type_legacy(self) -> dict:
        return {"choices": _legacy_choices(self.items)}

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{c.cid}",
                it,
                f"{self.tag}_{c.cid}",
                {"question": self.qid, "choice": f"{self.qid}.choices.{c.cid}"},
                f"{self.tag}_{c.cid}",
                f"{self.text} - {c.text}",
            )
            for c in self.items
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, tuple(_pfx(f"{self.qid}_{c.cid}", it) for c in self.items), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        ranks = list(range(1, len(self.items) + 1))
        rng.shuffle(ranks)
        values = {
            _pfx(f"{self.qid}_{c.cid}", it): r for c, r in zip(self.items, ranks, strict=True)
        }
        return (values, {}, tuple(values), {})


class Timing(Question):
    """A page timer: first click, last click, page submit and click count."""

    kind = "timing"
    qtype, selector, subselector = "Timing", "PageTimer", None
    skip_rate = 0.0
    PARTS = (
        ("1", "First Click", "FIRST_CLICK"),
        ("2", "Last Click", "LAST_CLICK"),
        ("3", "Page Submit", "PAGE_SUBMIT"),
        ("4", "Click Count", "CLICK_COUNT"),
    )

    def setup(self, rng: random.Random) -> None:
        self.text_html = "Timing"
        self.force = False

    def type_definition(self) -> dict:
        return {
            "Choices": {cid: {"Display": name} for cid, name, _ in self.PARTS},
            "Configuration": {
                "QuestionDescriptionOption": "UseText",
                "MinSeconds": "0",
                "MaxSeconds": "0",
            },
            "DefaultChoices": False,
            "NextChoiceId": 5,
        }

    def type_legacy(self) -> dict:
        return {
            "choices": {
                cid: {"recode": cid, **_legacy_choice(name, name)} for cid, name, _ in self.PARTS
            }
        }

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{suffix}",
                it,
                f"{self.tag}_{cid}",
                {"question": self.qid, "choice": f"{self.qid}.choices.{cid}"},
                f"{self.tag}_{name}",
                f"Timing - {name}",
            )
            for cid, name, suffix in self.PARTS
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, (), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        first = round(rng.uniform(0.5, 8.0), 3)
        last = round(first + rng.uniform(0.0, 40.0), 3)
        submit = round(last + rng.uniform(0.2, 5.0), 3)
        clicks = rng.randint(1, 12)
        p = _pfx(self.qid, it)
        return (
            {
                f"{p}_FIRST_CLICK": first,
                f"{p}_LAST_CLICK": last,
                f"{p}_PAGE_SUBMIT": submit,
                f"{p}_CLICK_COUNT": clicks,
            },
            {},
            (),
            {},
        )


class MetaBrowser(Question):
    """Browser meta info: browser, version, operating system and screen resolution."""

    kind = "meta"
    qtype, selector, subselector = "Meta", "Browser", None
    skip_rate = 0.0
    PARTS = (
        ("1", "Browser", "BROWSER"),
        ("2", "Version", "VERSION"),
        ("3", "Operating System", "OS"),
        ("4", "Screen Resolution", "RESOLUTION"),
    )
    # listed by the definition, never exported
    UNEXPORTED_PARTS = (("5", "Flash Version"), ("6", "Java Support"), ("7", "User Agent"))
    CSV_NAMES = ("Browser", "Version", "Operating System", "Resolution")

    def setup(self, rng: random.Random) -> None:
        self.text_html = "Browser Meta Info"
        self.force = False

    def type_definition(self) -> dict:
        return {
            "Choices": {
                cid: {"Display": name, "TextEntry": 1}
                for cid, name in [(c, n) for c, n, _ in self.PARTS] + list(self.UNEXPORTED_PARTS)
            },
            "Configuration": {"QuestionDescriptionOption": "UseText"},
            "DefaultChoices": False,
            "NextChoiceId": 5,
        }

    def type_legacy(self) -> dict:
        return {"choices": {cid: _legacy_choice(name, name) for cid, name, _ in self.PARTS}}

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{suffix}",
                it,
                f"{self.tag}_{cid}_TEXT",
                {"question": self.qid, "choice": f"{self.qid}.choices.{cid}"},
                f"{self.tag}_{csvname}",
                f"Browser Meta Info - {csvname}",
            )
            for (cid, _name, suffix), csvname in zip(self.PARTS, self.CSV_NAMES, strict=True)
        ]

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, (), {})

    def map_only(self, it: int | None = None) -> list[tuple[str, dict]]:
        return [
            (
                _mk(f"{self.tag}_{cid}_TEXT", it),
                {"question": self.qid, "choice": f"{self.qid}.choices.{cid}"},
            )
            for cid, _name in self.UNEXPORTED_PARTS
        ]

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        b = rng.choice(BROWSERS)
        p = _pfx(self.qid, it)
        return (
            {f"{p}_BROWSER": b[0], f"{p}_VERSION": b[1], f"{p}_OS": b[2], f"{p}_RESOLUTION": b[3]},
            {},
            (),
            {},
        )


class PickGroupRank(Question):
    """Pick, group and rank: per group a list of the items put in it, and each item's rank in its group."""

    kind = "pgr"
    qtype, selector, subselector = "PGR", "DragAndDrop", "NoColumns"

    def setup(self, rng: random.Random) -> None:
        self.text_html = "Sort these items into groups, most important first."
        _stem, texts = rng.choice(OPTION_SETS)
        self.items = [
            *_choices_from(rng, texts[:4]),
            Choice(
                str(len(texts[:4]) + 1), str(len(texts[:4]) + 1), "Other", "Other", text_entry=True
            ),
        ]
        self.groups = ["Keep", "Drop"]
        self.force = False

    def type_definition(self) -> dict:
        return {
            "Choices": _def_choices(self.items),
            "ChoiceOrder": [c.cid for c in self.items],
            "Groups": list(self.groups),
            "NumberOfGroups": len(self.groups),
            "Configuration": {"QuestionDescriptionOption": "UseText", "Stack": False},
            "NextChoiceId": len(self.items) + 1,
        }

    def type_legacy(self) -> dict:
        return {"choices": _legacy_choices(self.items)}

    def columns(self, it: int | None = None) -> list[Column]:
        out = [
            self.col(
                f"{self.qid}_{g}_GROUP",
                it,
                f"{self.tag}_{g}_GROUP",
                {"question": self.qid},
                f"{self.tag}_{g}_GROUP",
                f"{self.text} - {name}",
            )
            for g, name in enumerate(self.groups)
        ]
        out += [
            self.col(
                f"{self.qid}_G{g}_{c.cid}_RANK",
                it,
                None,
                None,
                f"{self.tag}_{g}_{c.cid}_RANK",
                f"{self.text} - {name} - {c.text} - Rank",
            )
            for g, name in enumerate(self.groups)
            for c in self.items
        ]
        return out + [self.text_column(c, it, mapped=False) for c in self.items if c.text_entry]

    def _fields_dv(self, it: int | None) -> tuple[tuple, dict]:
        ranks = [float(n) if n == len(self.items) else n for n in range(1, len(self.items) + 1)]
        fields = [_pfx(f"{self.qid}_{g}_GROUP", it) for g in range(len(self.groups))]
        dv: dict = {k: [c.cid for c in self.items] for k in fields}
        for g in range(len(self.groups)):
            for c in self.items:
                k = _pfx(f"{self.qid}_G{g}_{c.cid}_RANK", it)
                fields.append(k)
                dv[k] = (
                    ranks  # Qualtrics writes one of these as a float (10.0), seen in real exports
                )
        return tuple(fields), dv

    def unanswered(self, it: int | None = None) -> tuple:
        fields, dv = self._fields_dv(it)
        return ({}, {}, fields, dv)

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        values: dict = {}
        labels: dict = {}
        items = list(self.items)
        rng.shuffle(items)
        cut = rng.randint(1, len(items) - 1)
        for g, members in enumerate((items[:cut], items[cut:])):
            k = _pfx(f"{self.qid}_{g}_GROUP", it)
            values[k] = [c.cid for c in members]
            labels[k] = [c.text for c in members]
            for rank, c in enumerate(members, start=1):
                values[_pfx(f"{self.qid}_G{g}_{c.cid}_RANK", it)] = rank
                if c.text_entry:
                    values[_pfx(f"{self.qid}_{c.cid}_TEXT", it)] = rng.choice(OTHER_TEXTS)
        fields, dv = self._fields_dv(it)
        return (values, labels, fields, dv)


class ConstantSum(Question):
    """Constant sum: a number per choice (adding up to 100), and the text of an "other" choice."""

    kind = "cs"
    qtype, selector, subselector = "CS", "VRTL", "TX"

    def setup(self, rng: random.Random) -> None:
        self.text_html = "How do you split 100 points between these?"
        self.items = _choices_from(rng, rng.sample(MATRIX_ROWS, 3), other=True)
        self.force = False

    def type_definition(self) -> dict:
        return {
            "Choices": _def_choices(self.items),
            "ChoiceOrder": [c.cid for c in self.items],
            "Configuration": {"QuestionDescriptionOption": "UseText"},
            "NextChoiceId": len(self.items) + 1,
        }

    def type_legacy(self) -> dict:
        return {"choices": _legacy_choices(self.items)}

    def columns(self, it: int | None = None) -> list[Column]:
        out = [
            self.col(
                f"{self.qid}_{c.cid}",
                it,
                f"{self.tag}_{c.cid}",
                {"question": self.qid, "choice": f"{self.qid}.choices.{c.cid}"},
                f"{self.tag}_{c.cid}",
                f"{self.text} - {c.text}",
            )
            for c in self.items
        ]
        return out + [self.text_column(c, it) for c in self.items if c.text_entry]

    def _fields(self, it: int | None) -> tuple:
        return tuple(_pfx(f"{self.qid}_{c.cid}", it) for c in self.items) + tuple(
            _pfx(f"{self.qid}_{c.cid}_TEXT", it) for c in self.items if c.text_entry
        )

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, self._fields(it), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        left = 100
        values: dict = {}
        for n, c in enumerate(self.items):
            points = left if n == len(self.items) - 1 else rng.randint(0, left)
            left -= points
            values[_pfx(f"{self.qid}_{c.cid}", it)] = points
            if c.text_entry and (points or cover):
                values[_pfx(f"{self.qid}_{c.cid}_TEXT", it)] = rng.choice(OTHER_TEXTS)
        return (values, {}, self._fields(it), {})


class FileUpload(Question):
    """File upload: four keys (ID, name, size, type) whether or not a file was sent."""

    kind = "file"
    qtype, selector, subselector = "FileUpload", "FileUpload", None
    PARTS = ("FILE_ID", "FILE_NAME", "FILE_SIZE", "FILE_TYPE")
    FILES = (
        ("receipt.pdf", "application/pdf"),
        ("photo.jpg", "image/jpeg"),
        ("signature.png", "image/png"),
    )

    def setup(self, rng: random.Random) -> None:
        self.text_html = "Please upload a photo of your receipt (optional)."
        self.force = False

    def columns(self, it: int | None = None) -> list[Column]:
        return [
            self.col(
                f"{self.qid}_{part}",
                it,
                None,
                None,
                f"{self.tag}_{part.title().replace('_', ' ')}",
                f"{self.text} - {part}",
            )
            for part in self.PARTS
        ]

    def _fields(self, it: int | None) -> tuple:
        return tuple(_pfx(f"{self.qid}_{part}", it) for part in self.PARTS)

    def unanswered(self, it: int | None = None) -> tuple:
        return ({}, {}, self._fields(it), {})

    def fragment(self, rng: random.Random, it: int | None = None, cover: bool = False) -> tuple:
        name, mime = rng.choice(self.FILES)
        file_id = "F_" + "".join(
            rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            for _ in range(15)
        )
        p = _pfx(self.qid, it)
        values = {
            f"{p}_FILE_ID": file_id,
            f"{p}_FILE_NAME": name,
            f"{p}_FILE_SIZE": rng.randint(2_000, 900_000),
            f"{p}_FILE_TYPE": mime,
        }
        return (values, {}, self._fields(it), {})


class Descriptive(Question):
    """A descriptive text block: shown, never answered."""

    kind = "descriptive"
    qtype, selector, subselector = "DB", "TB", None
    answerable = False

    def setup(self, rng: random.Random) -> None:
        self.text_html = rng.choice(DB_TEXTS).format(topic=rng.choice(TOPICS))
        self.force = False

    def type_definition(self) -> dict:
        return {"ChoiceOrder": [], "Choices": {}}


CATALOGUE: dict[str, type[Question]] = {
    cls.kind: cls
    for cls in (
        MCSingle,
        MCForced,
        MCMulti,
        Dropdown,
        NPS,
        MatrixLikert,
        MatrixMulti,
        MatrixText,
        MatrixCarried,
        SideBySide,
        TextSingle,
        TextEssay,
        TextForm,
        Slider,
        RankOrder,
        Timing,
        MetaBrowser,
        PickGroupRank,
        ConstantSum,
        FileUpload,
        Descriptive,
    )
}

# every answerable kind; survey 0 and 1 contain each of these (plus a loop block, a trashed question,
# display-order columns and embedded data)
ALL_KINDS = [
    "mc_single",
    "mc_other",
    "mc_multi",
    "dropdown",
    "matrix",
    "matrix_multi",
    "matrix_te",
    "matrix_carried",
    "sbs",
    "te_single",
    "te_essay",
    "te_form",
    "slider",
    "rank",
    "nps",
    "timing",
    "meta",
    "pgr",
    "cs",
    "file",
    "descriptive",
]

# a realistic mix for ordinary surveys
MIX_WEIGHTS = {
    "mc_single": 26,
    "mc_other": 4,
    "mc_multi": 8,
    "dropdown": 5,
    "matrix": 12,
    "matrix_multi": 2,
    "matrix_te": 1,
    "sbs": 2,
    "te_single": 7,
    "te_essay": 5,
    "te_form": 2,
    "slider": 4,
    "rank": 2,
    "nps": 3,
    "timing": 5,
    "meta": 1,
    "pgr": 1,
    "cs": 1,
    "file": 1,
    "descriptive": 3,
}

# kinds that may go inside a loop-and-merge block
LOOP_KINDS = ["mc_single", "matrix", "te_single"]


def make_question(kind: str, qid: str, tag: str, rng: random.Random) -> Question:
    return CATALOGUE[kind](qid, tag, rng)


def pick_kinds(rng: random.Random, n: int, *, all_kinds: bool) -> list[str]:
    """The kinds of ``n`` questions: all kinds first (when asked), then a weighted mix, shuffled."""
    kinds: list[str] = list(ALL_KINDS) if all_kinds else []
    names = list(MIX_WEIGHTS)
    weights = [MIX_WEIGHTS[k] for k in names]
    while len(kinds) < n:
        kinds.append(rng.choices(names, weights=weights)[0])
    rng.shuffle(kinds)
    # put meta and a descriptive intro near the top, as real surveys do
    if "descriptive" in kinds:
        kinds.remove("descriptive")
        kinds.insert(0, "descriptive")
    if "meta" in kinds:
        kinds.remove("meta")
        kinds.insert(1 if kinds and kinds[0] == "descriptive" else 0, "meta")
    return kinds
