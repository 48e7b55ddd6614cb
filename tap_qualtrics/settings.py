"""Tap settings: the advertised JSON schema and the checks that turn a config into usable values.

The SDK validates types against the JSON schema; everything that needs judgement (credentials, hosts,
dates) is checked here so that a bad config fails with one sentence that says what to fix, before any
request is made. Messages never echo a secret.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §1.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from tap_qualtrics.model.timestamps import InvalidTimestampError, format_timestamp, parse_timestamp
from tap_qualtrics.quiet_surveys import QuietRule
from tap_qualtrics.selection import SUBSET_OPTIONS, ExportSubsets, PerSurvey, SurveySelection
from tap_qualtrics.shards import Shard

API_PATH = "/API/v3"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a secret

DEFAULT_REQUEST_TIMEOUT = 300
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_DELAY = 2
DEFAULT_EXPORT_POLL_INTERVAL = 2
DEFAULT_EXPORT_TIMEOUT = 3600
DEFAULT_EXPORT_SAFETY_LAG = 60
# From the rate limits: an export in flight is polled every 2-5 s (12-30 progress calls a minute), so about 50
# of them fill the 1,000/min progress budget. Starts and downloads (100/min each) are held back by the run's
# rate budget whatever this is; more would only wait.
DEFAULT_MAX_CONCURRENT_EXPORTS = 50
# Keeps a first export far below Qualtrics' 1.8 GB cap: about 1-4 KB per response of a 100-question survey.
DEFAULT_MAX_RESPONSES_PER_EXPORT = 200_000
RATE_LIMIT_BUCKETS = ("brand", "export_start", "export_progress", "export_file")
DEFAULT_PAGE_SIZE = 100
DEFAULT_QUIET_AFTER = 3
DEFAULT_QUIET_MAX_SKIP_HOURS = 24
MAX_PAGE_SIZE = 100

# "iad1", "fra1", "eu", or an organization host prefix "org.dc" (e.g. "conjoint.co1").
_DATA_CENTER_ID = r"(?:[a-z]{2,4}\d{1,2}|eu)"
_ORG_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DATA_CENTER_PATTERN = re.compile(rf"(?:{_ORG_LABEL}\.)?{_DATA_CENTER_ID}")
_SURVEY_ID_ENTRY = re.compile(r"[A-Za-z0-9_*?\[\]!-]+")
_DIRECTORY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HARMLESS_TO_ECHO = re.compile(r"[A-Za-z0-9._/-]{1,80}")
_UNSAFE_IN_CREDENTIAL = re.compile(r"[\s\x00-\x1f\x7f]")
_UNSAFE_IN_URL = re.compile(r"[\s\\\x00-\x1f\x7f]")

CONFIG_JSONSCHEMA = th.PropertiesList(
    th.Property(
        "api_token",
        th.StringType,
        secret=True,
        description="Qualtrics API token, sent as X-API-TOKEN. Give this or client_id + client_secret.",
    ),
    th.Property(
        "client_id",
        th.StringType,
        secret=True,
        description="OAuth client ID (client credentials grant); use with client_secret, not api_token.",
    ),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        description="OAuth client secret, sent with client_id as HTTP Basic auth to /oauth2/token.",
    ),
    th.Property(
        "oauth_scopes",
        th.ArrayType(th.StringType),
        description=(
            "OAuth scopes to request. Default: what the selected streams need (read:surveys, "
            "read:survey_responses, read:users, read:directories, read:directory_contacts, "
            "read:mailing_lists, read:mailing_list_contacts, read:distributions, read:groups, "
            "read:divisions)."
        ),
    ),
    th.Property(
        "data_center",
        th.StringType,
        description=(
            "Qualtrics data center ID, e.g. iad1, fra1, ca1, or an organization host prefix such as "
            "myorg.iad1; requests go to https://{data_center}.qualtrics.com."
        ),
        examples=["iad1", "fra1", "ca1", "myorg.iad1"],
    ),
    th.Property(
        "base_url",
        th.StringType,
        description=(
            "Overrides data_center with a full base URL (e.g. a proxy or the qualtrics-sandbox); a "
            "trailing /API/v3 is accepted. Plain http:// is only allowed for loopback hosts."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Earliest response last-modified date to extract (ISO-8601).",
    ),
    th.Property(
        "survey_ids",
        th.ArrayType(th.StringType),
        description=(
            "Survey IDs or glob patterns (e.g. SV_abc*) to include in surveys, questions, responses, "
            "distributions and distribution_contacts. Default: every survey the credentials can see."
        ),
    ),
    th.Property(
        "export_subsets",
        th.ObjectType(additional_properties=True),
        description=(
            "Survey ID or glob pattern -> the part of its responses to export: "
            '{"SV_abc": {"question_ids": ["QID1", "QID7"], "embedded_data_ids": ["source"], '
            '"survey_metadata_ids": ["startDate"]}} (each list optional; a survey takes the entry naming '
            "it, else the first matching pattern). The response ID and recorded date are always "
            "exported. A survey whose subset changes is synced again from start_date."
        ),
    ),
    th.Property(
        "filter_ids",
        th.ObjectType(additional_properties=True),
        description=(
            "Survey ID or glob pattern -> the ID of a saved response filter of that survey: its "
            "responses are exported through the filter, the whole filtered set on every run (Qualtrics "
            "cannot sort a filtered export by last-modified date); responses that leave the filter are "
            "marked like deleted ones. A survey whose filter changes is synced again."
        ),
    ),
    th.Property(
        "directory_ids",
        th.ArrayType(th.StringType),
        description=(
            "XM Directory IDs (POOL_...) for directories, contacts, mailing_lists and "
            "mailing_list_contacts. Default: every directory the credentials can list; when set, "
            "the directory list is not read (read:directories is not needed)."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=DEFAULT_PAGE_SIZE,
        description=(
            "pageSize for the directory, contact, mailing-list, distribution, group and division "
            "lists (1-100; mailing-list members are capped at Qualtrics' maximum of 50)."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1),
        default=DEFAULT_REQUEST_TIMEOUT,
        description="Seconds to wait for any one HTTP request (connect and read).",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=DEFAULT_MAX_RETRIES,
        description="Retries of a request after HTTP 429, 5xx or a connection error.",
    ),
    th.Property(
        "retry_delay",
        th.IntegerType(minimum=0),
        default=DEFAULT_RETRY_DELAY,
        description=(
            "Seconds before the first retry; doubles with each further retry. "
            "A Retry-After header from Qualtrics takes precedence."
        ),
    ),
    th.Property(
        "export_poll_interval_seconds",
        th.IntegerType(minimum=0),
        default=DEFAULT_EXPORT_POLL_INTERVAL,
        description="Seconds between the first polls of a response export; the interval grows to 30 s.",
    ),
    th.Property(
        "export_timeout_seconds",
        th.IntegerType(minimum=1),
        default=DEFAULT_EXPORT_TIMEOUT,
        description="Give up on one survey's response export after this many seconds (retried next run).",
    ),
    th.Property(
        "max_concurrent_exports",
        th.IntegerType(minimum=1),
        default=DEFAULT_MAX_CONCURRENT_EXPORTS,
        description=(
            "Response exports kept in flight at once (started, polled and downloaded to temporary files "
            "while earlier surveys' records are emitted, in the same order). Each one waiting holds a "
            "downloaded file on disk. 1 exports one survey at a time."
        ),
    ),
    th.Property(
        "max_responses_per_export",
        th.IntegerType(minimum=1),
        default=DEFAULT_MAX_RESPONSES_PER_EXPORT,
        description=(
            "A survey synced for the first time with more responses than this is exported in that many "
            "consecutive date windows, so no export nears Qualtrics' 1.8 GB cap. Independently, an export "
            "that Qualtrics fails is retried as two half windows, down to one minute."
        ),
    ),
    th.Property(
        "rate_limits_per_minute",
        th.ObjectType(
            *(th.Property(bucket, th.IntegerType(minimum=1)) for bucket in RATE_LIMIT_BUCKETS),
            additional_properties=False,
        ),
        description=(
            "Requests per minute the whole run may send: brand (every request, default 3000), "
            "export_start (100), export_progress (1000), export_file (100), Qualtrics' limits. "
            "Lower them to leave room for other API clients of the same brand."
        ),
    ),
    th.Property(
        "quiet_after_empty_exports",
        th.IntegerType(minimum=0),
        default=DEFAULT_QUIET_AFTER,
        description=(
            "A survey whose last N exports held no response, and whose response counts have not changed "
            "since, skips its export (a new, deleted or test response changes the counts; an edit does "
            "not). 0: export every survey every run."
        ),
    ),
    th.Property(
        "quiet_survey_max_skip_hours",
        th.IntegerType(minimum=1),
        default=DEFAULT_QUIET_MAX_SKIP_HOURS,
        description=(
            "A quiet survey is still exported at least this often, so an edit of one of its responses "
            "arrives at most this many hours late."
        ),
    ),
    th.Property(
        "max_run_minutes",
        th.IntegerType(minimum=1),
        description=(
            "Stop starting response exports after this many minutes: the remaining surveys keep their "
            "bookmarks and the next run starts with them (the stalest first). The run still ends with "
            "exit code 0 and one line saying how many were deferred. Default: no limit."
        ),
    ),
    th.Property(
        "export_safety_lag_seconds",
        th.IntegerType(minimum=0),
        default=DEFAULT_EXPORT_SAFETY_LAG,
        description=(
            "Each run exports responses (and reads contacts and distributions) modified up to its "
            "start time minus this lag, so changes made while the run is going are picked up by "
            "the next run."
        ),
    ),
    th.Property(
        "shard",
        th.ObjectType(additional_properties=True),
        description=(
            'This run is one of several that split the account: {"count": N, "index": i} (i from 0 to '
            "N-1), each run with its own state ID. Each survey and each XM directory belongs to one "
            "shard (a stable hash of its ID), with everything read for it; users, groups, divisions and "
            "the directory list are read by shard 0. Default: one run reads everything (docs/shards.md)."
        ),
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=True,
        description=(
            "After a stream read in full (users, directories, mailing lists and their members, "
            "distribution contacts, groups, divisions) was read completely, send ACTIVATE_VERSION so "
            "the target marks (or deletes) the rows that are gone; false for targets that mishandle it."
        ),
    ),
).to_dict()


class SettingsError(ConfigValidationError):
    """A config that cannot work; the message is one sentence saying what to fix."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence, errors=[sentence])


@dataclass(frozen=True)
class Settings:
    """Checked, typed settings. Secrets are left out of ``repr``."""

    api_root: str
    token_url: str
    api_token: str | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    oauth_scopes: tuple[str, ...] | None = None
    start_date: str | None = None
    surveys: SurveySelection = field(default_factory=SurveySelection)
    directory_ids: tuple[str, ...] | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    request_timeout: int = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_delay: int = DEFAULT_RETRY_DELAY
    export_poll_interval: int = DEFAULT_EXPORT_POLL_INTERVAL
    export_timeout: int = DEFAULT_EXPORT_TIMEOUT
    export_safety_lag: int = DEFAULT_EXPORT_SAFETY_LAG
    max_concurrent_exports: int = DEFAULT_MAX_CONCURRENT_EXPORTS
    max_responses_per_export: int = DEFAULT_MAX_RESPONSES_PER_EXPORT
    rate_limits: Mapping[str, int] = field(default_factory=dict)
    activate_versions: bool = True
    export_subsets: ExportSubsets = field(default_factory=ExportSubsets)
    filter_ids: PerSurvey[str] = field(default_factory=PerSurvey)
    max_run_minutes: int | None = None
    #: this run's part of the account; None: the whole account
    shard: Shard | None = None
    quiet: QuietRule = field(
        default_factory=lambda: QuietRule(DEFAULT_QUIET_AFTER, DEFAULT_QUIET_MAX_SKIP_HOURS)
    )

    @property
    def uses_oauth(self) -> bool:
        return self.api_token is None


def parse_settings(config: Mapping[str, Any]) -> Settings:
    """Check a config and build :class:`Settings`; raises :class:`SettingsError` with one sentence."""
    api_token, client_id, client_secret = _credentials(config)
    origin = _origin(config)
    shard = _shard(config.get("shard"))
    return Settings(
        api_root=origin + API_PATH,
        token_url=origin + TOKEN_PATH,
        api_token=api_token,
        client_id=client_id,
        client_secret=client_secret,
        oauth_scopes=_oauth_scopes(config.get("oauth_scopes")),
        start_date=_start_date(config.get("start_date")),
        surveys=_survey_selection(config.get("survey_ids"), shard),
        directory_ids=_directory_ids(config.get("directory_ids")),
        page_size=_page_size(config),
        request_timeout=_whole_number(
            config, "request_timeout", DEFAULT_REQUEST_TIMEOUT, minimum=1
        ),
        max_retries=_whole_number(config, "max_retries", DEFAULT_MAX_RETRIES, minimum=0),
        retry_delay=_whole_number(config, "retry_delay", DEFAULT_RETRY_DELAY, minimum=0),
        export_poll_interval=_whole_number(
            config, "export_poll_interval_seconds", DEFAULT_EXPORT_POLL_INTERVAL, minimum=0
        ),
        export_timeout=_whole_number(
            config, "export_timeout_seconds", DEFAULT_EXPORT_TIMEOUT, minimum=1
        ),
        export_safety_lag=_whole_number(
            config, "export_safety_lag_seconds", DEFAULT_EXPORT_SAFETY_LAG, minimum=0
        ),
        max_concurrent_exports=_whole_number(
            config, "max_concurrent_exports", DEFAULT_MAX_CONCURRENT_EXPORTS, minimum=1
        ),
        max_responses_per_export=_whole_number(
            config, "max_responses_per_export", DEFAULT_MAX_RESPONSES_PER_EXPORT, minimum=1
        ),
        rate_limits=_rate_limits(config.get("rate_limits_per_minute")),
        activate_versions=config.get("emit_activate_version_messages") is not False,
        export_subsets=_export_subsets(config.get("export_subsets")),
        filter_ids=_filter_ids(config.get("filter_ids")),
        quiet=QuietRule(
            _whole_number(config, "quiet_after_empty_exports", DEFAULT_QUIET_AFTER, minimum=0),
            _whole_number(
                config, "quiet_survey_max_skip_hours", DEFAULT_QUIET_MAX_SKIP_HOURS, minimum=1
            ),
        ),
        max_run_minutes=(
            _whole_number(config, "max_run_minutes", 0, minimum=1)
            if config.get("max_run_minutes") is not None
            else None
        ),
        shard=shard,
    )


def _rate_limits(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(
            "rate_limits_per_minute must be an object of bucket names and whole numbers."
        )
    limits = {}
    for bucket, limit in value.items():
        if bucket not in RATE_LIMIT_BUCKETS:
            raise SettingsError(
                f"rate_limits_per_minute knows {', '.join(RATE_LIMIT_BUCKETS)}, not {bucket!r}."
                if _HARMLESS_TO_ECHO.fullmatch(str(bucket))
                else f"rate_limits_per_minute knows only {', '.join(RATE_LIMIT_BUCKETS)}."
            )
        name = f"rate_limits_per_minute.{bucket}"
        limits[bucket] = _whole_number({name: limit}, name, 1, minimum=1)
    return limits


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def refuse_unknown_settings(config: Mapping[str, Any], known: Iterable[str]) -> None:
    """A misspelt setting (``survey_id`` for ``survey_ids``) would be ignored silently: refuse it."""
    names = sorted(set(known))
    for key in sorted(str(k) for k in config):
        if key in names:
            continue
        if not _HARMLESS_TO_ECHO.fullmatch(key):
            raise SettingsError(
                "The config holds an unknown setting; remove it or correct its name."
            )
        guess = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        raise SettingsError(f"Unknown setting {key!r}{hint}: remove it or correct its name.")


def _credentials(config: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    api_token, client_id, client_secret = (
        config.get("api_token"),
        config.get("client_id"),
        config.get("client_secret"),
    )
    for name, value in (
        ("api_token", api_token),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ):
        if _present(value) and _UNSAFE_IN_CREDENTIAL.search(str(value).strip()):
            raise SettingsError(
                f"{name} contains spaces or control characters; paste the value exactly as Qualtrics shows it."
            )
    has_token, has_id, has_secret = (
        _present(api_token),
        _present(client_id),
        _present(client_secret),
    )
    if has_token and (has_id or has_secret):
        raise SettingsError(
            "Give either api_token or client_id and client_secret, not both: remove one of them."
        )
    if has_token:
        return str(api_token).strip(), None, None
    if has_id and has_secret:
        return None, str(client_id).strip(), str(client_secret).strip()
    if has_id or has_secret:
        missing = "client_secret" if has_id else "client_id"
        raise SettingsError(
            f"OAuth needs both client_id and client_secret, but {missing} is missing."
        )
    raise SettingsError("No Qualtrics credentials: set api_token, or client_id and client_secret.")


def _origin(config: Mapping[str, Any]) -> str:
    """``scheme://host[:port][/prefix]`` that ``/API/v3`` and ``/oauth2/token`` hang off."""
    base_url = config.get("base_url")
    if _present(base_url):
        return _origin_from_base_url(str(base_url).strip())
    data_center = config.get("data_center")
    if not _present(data_center):
        raise SettingsError("Set data_center (for example iad1, fra1 or ca1) or base_url.")
    text = str(data_center).strip().lower()
    if not DATA_CENTER_PATTERN.fullmatch(text):
        shown = f" {text!r}" if _echoable_host(str(data_center).strip(), config) else ""
        raise SettingsError(
            f"data_center{shown} is not a Qualtrics data center ID: give only the ID, such as iad1, "
            "fra1, ca1 or myorg.iad1 (no scheme, host name, slash, port or @), or use base_url."
        )
    return f"https://{text}.qualtrics.com"


#: a data centre ID is short (``iad1``, ``fra1``); a longer dot-less word may be a pasted token
LONGEST_ECHOED_DATA_CENTER = 20


def _echoable_host(text: str, config: Mapping[str, Any]) -> bool:
    """Whether a wrong data_center may appear in the error: host-like text, never a pasted credential
    (a long run of letters and digits, or the value of a credential setting)."""
    secrets = {
        str(config.get(key) or "").strip() for key in ("api_token", "client_id", "client_secret")
    }
    if text in secrets or not _HARMLESS_TO_ECHO.fullmatch(text):
        return False
    return len(text) <= LONGEST_ECHOED_DATA_CENTER or "." in text or "/" in text


def _origin_from_base_url(base_url: str) -> str:
    if _UNSAFE_IN_URL.search(base_url):
        raise SettingsError("base_url must not contain spaces, backslashes or control characters.")
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError("base_url must be an http(s) URL such as https://iad1.qualtrics.com.")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(
            "base_url must not contain a user name or password; use the credential settings."
        )
    if parts.query or parts.fragment:
        raise SettingsError("base_url must not contain a query string or fragment.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingsError(
            "base_url uses plain http:// for a host that is not loopback; use https:// "
            "(credentials must not cross the network unencrypted)."
        )
    try:
        port = parts.port
    except ValueError as error:
        raise SettingsError("base_url has an invalid port number.") from error
    path = parts.path.rstrip("/")
    if path.lower().endswith(API_PATH.lower()):
        path = path[: -len(API_PATH)]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{path}"


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _oauth_scopes(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    scopes = tuple(str(scope).strip() for scope in value if str(scope).strip())
    if not scopes:
        raise SettingsError(
            "oauth_scopes is empty; leave it out to request what the selected streams need."
        )
    return scopes


def _start_date(value: Any) -> str | None:
    if not _present(value):
        return None
    try:
        return format_timestamp(parse_timestamp(str(value)))
    except InvalidTimestampError:
        shown = f" {value!r}" if _HARMLESS_TO_ECHO.fullmatch(str(value)) else ""
        raise SettingsError(
            f"start_date{shown} is not an ISO-8601 date or timestamp, such as 2024-01-01T00:00:00Z."
        ) from None


def _shard(value: Any) -> Shard | None:
    """``{"count": N, "index": i}``; ``None`` when absent or N is 1 (one run reads everything)."""
    if value is None:
        return None
    usage = 'shard must be an object {"count": N, "index": i}, with i from 0 to N-1.'
    if (
        not isinstance(value, Mapping)
        or set(value) != {"count", "index"}
        or value["count"] is None
        or value["index"] is None
    ):
        raise SettingsError(usage)
    count = _whole_number({"shard.count": value["count"]}, "shard.count", 1, minimum=1)
    index = _whole_number({"shard.index": value["index"]}, "shard.index", 0, minimum=0)
    if index >= count:
        raise SettingsError(
            f"shard.index must be below shard.count: the {count} shards are numbered 0 to {count - 1}."
        )
    return Shard(count, index) if count > 1 else None


def _survey_selection(value: Any, shard: Shard | None = None) -> SurveySelection:
    if value is None:
        return SurveySelection(shard=shard)
    entries = tuple(str(entry).strip() for entry in value)
    if not entries:
        raise SettingsError(
            "survey_ids is empty; leave it out to sync every survey, or list survey IDs or patterns "
            "such as SV_abc*."
        )
    for entry in entries:
        if not _SURVEY_ID_ENTRY.fullmatch(entry):
            shown = f" {entry!r}" if _HARMLESS_TO_ECHO.fullmatch(entry) else ""
            raise SettingsError(
                f"survey_ids entry{shown} is not a survey ID or glob pattern, such as SV_abc123 or SV_*."
            )
    return SurveySelection(entries, shard)


def _export_subsets(value: Any) -> ExportSubsets:
    if value is None:
        return ExportSubsets()
    if not isinstance(value, Mapping):
        raise SettingsError(
            'export_subsets must be an object: {"SV_abc": {"question_ids": ["QID1", "QID7"]}}.'
        )
    entries = []
    for key, subset in value.items():
        shown = f" {key!r}" if _HARMLESS_TO_ECHO.fullmatch(str(key)) else ""
        if not _SURVEY_ID_ENTRY.fullmatch(str(key)):
            raise SettingsError(
                f"export_subsets key{shown} is not a survey ID or glob pattern, such as SV_abc123 or SV_*."
            )
        if not isinstance(subset, Mapping) or not subset:
            raise SettingsError(
                f"export_subsets{shown} must map to an object with question_ids, embedded_data_ids or "
                "survey_metadata_ids."
            )
        lists = []
        for name, ids in subset.items():
            if name not in SUBSET_OPTIONS:
                raise SettingsError(
                    f"export_subsets{shown} has an unknown key"
                    f"{' ' + repr(name) if _HARMLESS_TO_ECHO.fullmatch(str(name)) else ''}: use "
                    "question_ids, embedded_data_ids or survey_metadata_ids."
                )
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                raise SettingsError(f"export_subsets{shown} {name} must be a list of IDs.")
            lists.append((name, tuple(ids)))
        entries.append((str(key), tuple(lists)))
    return ExportSubsets(tuple(entries))


def _filter_ids(value: Any) -> PerSurvey[str]:
    if value is None:
        return PerSurvey()
    if not isinstance(value, Mapping):
        raise SettingsError('filter_ids must be an object: {"SV_abc": "<filter ID>"}.')
    entries = []
    for key, filter_id in value.items():
        shown = f" {key!r}" if _HARMLESS_TO_ECHO.fullmatch(str(key)) else ""
        if not _SURVEY_ID_ENTRY.fullmatch(str(key)):
            raise SettingsError(
                f"filter_ids key{shown} is not a survey ID or glob pattern, such as SV_abc123 or SV_*."
            )
        if not isinstance(filter_id, str) or not filter_id.strip():
            raise SettingsError(f"filter_ids{shown} must map to a saved filter's ID (text).")
        entries.append((str(key), filter_id.strip()))
    return PerSurvey(tuple(entries))


def _directory_ids(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    entries = tuple(dict.fromkeys(str(entry).strip() for entry in value))
    if not entries:
        raise SettingsError(
            "directory_ids is empty; leave it out to sync every directory, or list directory IDs "
            "such as POOL_abc123."
        )
    for entry in entries:
        if not _DIRECTORY_ID.fullmatch(entry):
            shown = f" {entry!r}" if _HARMLESS_TO_ECHO.fullmatch(entry) else ""
            raise SettingsError(
                f"directory_ids entry{shown} is not a directory ID, such as POOL_abc123."
            )
    return entries


def _page_size(config: Mapping[str, Any]) -> int:
    size = _whole_number(config, "page_size", DEFAULT_PAGE_SIZE, minimum=1)
    if size > MAX_PAGE_SIZE:
        raise SettingsError(
            f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE} (the largest page Qualtrics serves)."
        )
    return size


def _whole_number(config: Mapping[str, Any], name: str, default: int, *, minimum: int) -> int:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise SettingsError(f"{name} must be a whole number of at least {minimum}.") from None
    if value < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum}.")
    return value


_SCHEMA_ERROR = re.compile(r"(?P<problem>.+?) in config\[(?P<path>.+)\]$")
_TYPE_PROBLEM = re.compile(r"(?P<value>.+) is not of type (?P<types>.+)$")


def explain_schema_error(error: str) -> str:
    """Rephrase a JSON-schema message of the SDK as a sentence that names the setting first."""
    match = _SCHEMA_ERROR.fullmatch(error.strip())
    if not match:
        return error
    setting = match["path"].replace("'", "").replace("][", ".")
    problem = match["problem"]
    typed = _TYPE_PROBLEM.fullmatch(problem)
    if typed:
        wanted = " or ".join(t.strip("' ") for t in typed["types"].split(",") if "null" not in t)
        return f"{setting} must be of type {wanted}."
    return f"{setting}: {problem}."
