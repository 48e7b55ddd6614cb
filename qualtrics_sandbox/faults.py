"""Fault injection and per-request knobs of the sandbox.

One :class:`Faults` object holds the faults in force. ``POST /_sandbox/faults`` replaces them: the
posted keys override the values the server was started with, keys left out fall back to those start
values, and ``{}`` resets everything to the start values (no faults).

Draws are reproducible from ``seed`` and independent of how concurrent requests interleave: each
faultable request (``/API/v3/*`` and ``/oauth2/*``, never ``/_sandbox/*``) takes one uniform draw
``u`` from a generator seeded by ``(seed, what the request is, how many times it was asked before)``,
where "what" is the route, its survey/directory/... IDs (not the random export and file IDs) and the
query string. So the 3rd poll of survey A's export meets the same fault however many export threads
run, and the same requests meet the same faults whatever the probabilities are. A configure resets
the counts.

The request draw ``u`` is split into consecutive bands ``[0, http_429)``, ``[.., + http_5xx)``,
``[.., + connection_reset)``; the position inside a band picks the variant (500/503/504, and for
file downloads whether the connection drops before the response or in the middle of the body).

``export_failed`` (probability): an export start whose own draw (per survey and start count) falls
below it makes a job that ends ``failed``. ``export_truncated`` (probability, drawn per survey and
download count): a file download not already faulted serves only the first half of the file, with a
matching ``Content-Length`` (a complete transfer of a damaged file, as from a broken upstream).

``redirect_to`` (no draw; a base URL or ``null``): answer every faultable request with ``302 Found`` to
the same path and query on that base, as a hijacked or misconfigured front end would; the request is not
served.

``export_start_exclusive`` (no draw; boolean): export ``startDate`` is exclusive instead of inclusive, so a
client can prove it does not depend on which one Qualtrics does.

``corrupt_export`` (no draw): serve every zipped ndjson export file damaged in one of the ways of
:mod:`qualtrics_sandbox.corrupt` (``truncated``, ``bad_zip``, ``non_utf8``, ``nul_text``,
``missing_metadata``, ``huge_text``, ``unknown_question_type``); ``null`` serves them intact.
``corrupt_export_index`` (integer >= 0, default 0): which response of the export the response-level
modes change (0-based; the last one when the export holds fewer).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from qualtrics_sandbox.corrupt import MODES

PROBABILITY_KEYS = ("http_429", "http_5xx", "connection_reset", "export_failed", "export_truncated")
#: Knobs that may also be set through the faults endpoint (they override the start-up knobs).
KNOB_KEYS = (
    "export_seconds",
    "export_polls",
    "retry_after_seconds",
    "token_ttl_seconds",
    "latency_ms",
    "response_pending_seconds",
)
#: Bad export files on purpose (see :mod:`qualtrics_sandbox.corrupt`): one of its MODES, or None.
CORRUPT_EXPORT_KEY = "corrupt_export"
CORRUPT_INDEX_KEY = "corrupt_export_index"
REDIRECT_KEY = "redirect_to"
START_EXCLUSIVE_KEY = "export_start_exclusive"
ALL_KEYS = (
    *PROBABILITY_KEYS,
    *KNOB_KEYS,
    "seed",
    CORRUPT_EXPORT_KEY,
    CORRUPT_INDEX_KEY,
    REDIRECT_KEY,
    START_EXCLUSIVE_KEY,
)

#: Start-up defaults used when neither the server knobs nor the posted faults say otherwise.
DEFAULTS: dict[str, Any] = {
    "http_429": 0.0,
    "http_5xx": 0.0,
    "connection_reset": 0.0,
    "export_failed": 0.0,
    "export_truncated": 0.0,
    "export_seconds": 0.0,
    "export_polls": 1,
    "retry_after_seconds": None,
    "token_ttl_seconds": 3600,
    "latency_ms": 0.0,
    "response_pending_seconds": 0.0,
    "seed": 0,
    "corrupt_export": None,
    "corrupt_export_index": 0,
    "redirect_to": None,
    "export_start_exclusive": False,
}


class FaultConfigError(ValueError):
    """The posted fault configuration is invalid."""


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request.

    kind: ``"http_429"``, ``"http_5xx"`` or ``"connection_reset"``. ``status`` is the HTTP status
    for the HTTP faults. ``fraction`` in [0, 1) is where a reset hits a file download: below 0.5 the
    connection is dropped before any byte is sent, otherwise after ``(fraction - 0.5) * 2`` of the
    body.
    """

    kind: str
    status: int = 0
    fraction: float = 0.0


def _validate(spec: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise FaultConfigError("faults must be a JSON object")
    unknown = sorted(set(spec) - set(ALL_KEYS))
    if unknown:
        raise FaultConfigError(
            f"unknown fault keys: {', '.join(unknown)}; known: {', '.join(ALL_KEYS)}"
        )
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key in PROBABILITY_KEYS:
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise FaultConfigError(f"{key} must be a probability between 0 and 1")
            out[key] = float(value)
        elif key == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise FaultConfigError("seed must be an integer")
            out[key] = value
        elif key in ("export_polls", CORRUPT_INDEX_KEY):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultConfigError(f"{key} must be an integer >= 0")
            out[key] = value
        elif key == CORRUPT_EXPORT_KEY:
            if value is not None and value not in MODES:
                raise FaultConfigError(f"corrupt_export must be null or one of: {', '.join(MODES)}")
            out[key] = value
        elif key == START_EXCLUSIVE_KEY:
            if not isinstance(value, bool):
                raise FaultConfigError("export_start_exclusive must be true or false")
            out[key] = value
        elif key == REDIRECT_KEY:
            if value is not None and not (
                isinstance(value, str) and value.startswith(("http://", "https://"))
            ):
                raise FaultConfigError("redirect_to must be null or an http(s) base URL")
            out[key] = value.rstrip("/") if value else None
        elif key == "retry_after_seconds" and value is None:
            out[key] = None
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise FaultConfigError(f"{key} must be a number >= 0")
            if key == "token_ttl_seconds" and value <= 0:
                raise FaultConfigError("token_ttl_seconds must be > 0")
            out[key] = value
    return out


class Faults:
    """The faults and per-request knobs in force, with the seeded RNG that decides them."""

    def __init__(self, baseline: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._baseline = {**DEFAULTS, **_validate(baseline or {})}
        self._config: dict[str, Any] = {}
        self._occurrences: dict[str, int] = {}
        self.fired: dict[str, int] = {}
        self.configure({})

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Replace the faults in force (``{}`` resets to the start-up values); returns the new
        config."""
        checked = _validate(spec)
        config = {**self._baseline, **checked}
        bands = config["http_429"] + config["http_5xx"] + config["connection_reset"]
        if bands > 1.0 + 1e-9:
            raise FaultConfigError("http_429 + http_5xx + connection_reset must not exceed 1")
        with self._lock:
            self._config = config
            self._occurrences = {}
            self.fired = {}
            return dict(config)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._config)

    def get(self, key: str) -> Any:
        with self._lock:
            return self._config[key]

    def set_baseline(self, key: str, value: Any) -> None:
        """Change a start-up value (and the value in force)."""
        checked = _validate({key: value})
        with self._lock:
            self._baseline.update(checked)
            self._config.update(checked)

    def _draw(self, kind: str, key: str) -> float:
        """The uniform draw of the next request of ``key`` (call with the lock held)."""
        counted = f"{kind}|{key}"
        occurrence = self._occurrences.get(counted, 0)
        self._occurrences[counted] = occurrence + 1
        return random.Random(f"{self._config['seed']}|{counted}|{occurrence}").random()

    def draw_request(self, key: str, *, is_file_download: bool = False) -> Fault | None:
        """Decide the fault for one faultable request; ``key`` names the request (route and stable IDs)."""
        with self._lock:
            u = self._draw("request", key)
            p429 = self._config["http_429"]
            p5xx = self._config["http_5xx"]
            preset = self._config["connection_reset"]
            fault: Fault | None = None
            if u < p429:
                fault = Fault("http_429", 429)
            elif u < p429 + p5xx:
                frac = (u - p429) / p5xx
                fault = Fault("http_5xx", 500 if frac < 1 / 3 else 503 if frac < 2 / 3 else 504)
            elif u < p429 + p5xx + preset:
                frac = (u - p429 - p5xx) / preset
                fault = Fault("connection_reset", 0, frac if is_file_download else 0.0)
            if fault is not None:
                name = fault.kind if fault.kind != "http_5xx" else f"http_{fault.status}"
                self.fired[name] = self.fired.get(name, 0) + 1
            return fault

    def draw_export_failed(self, survey_id: str) -> bool:
        """Decide whether a new export job of ``survey_id`` fails."""
        return self._draw_probability("export_failed", survey_id)

    def draw_export_truncated(self, survey_id: str) -> bool:
        """Decide whether an intact file download of ``survey_id`` is served cut in half."""
        return self._draw_probability("export_truncated", survey_id)

    def _draw_probability(self, name: str, key: str) -> bool:
        with self._lock:
            if self._config[name] <= 0:
                return False
            hit = self._draw(name, key) < self._config[name]
            if hit:
                self.fired[name] = self.fired.get(name, 0) + 1
            return hit

    def fired_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.fired)
