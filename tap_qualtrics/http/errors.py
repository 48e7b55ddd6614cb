"""Qualtrics failures as one clear sentence each, with no headers, tokens or response bodies in them.

Qualtrics puts ``errorCode``/``errorMessage`` in ``meta.error``; the OAuth endpoint uses the standard
``error``/``error_description``. Bodies are never copied wholesale: they can echo request data.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §4, §5.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

MAX_MESSAGE_CHARS = 300


class QualtricsAPIError(FatalAPIError):
    """A request Qualtrics refused for good (4xx other than 429, or retries used up)."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class QualtricsAuthError(QualtricsAPIError):
    """The credentials themselves were refused: no survey can succeed, so the run stops."""


class AccessTokenRejectedError(FatalAPIError):
    """An OAuth access token was refused; the caller refreshes it and tries once more."""


class TransientQualtricsError(RetriableAPIError):
    """HTTP 429 or 5xx: worth retrying (the response is kept for ``Retry-After``)."""


def qualtrics_error_detail(response: requests.Response) -> tuple[str | None, str | None]:
    """``(errorCode, errorMessage)`` from a Qualtrics or OAuth error body, if it has them."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    meta = body.get("meta")
    error = meta.get("error") if isinstance(meta, dict) else None
    if isinstance(error, dict):
        return _text(error.get("errorCode")), _text(error.get("errorMessage"))
    if "error" in body:  # OAuth token endpoint
        return _text(body.get("error")), _text(body.get("error_description"))
    return None, None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:MAX_MESSAGE_CHARS] + ("…" if len(text) > MAX_MESSAGE_CHARS else "")


def endpoint_of(response: requests.Response) -> str:
    """``GET /API/v3/surveys/SV_x`` — method and path only (queries can carry paging cursors)."""
    method = response.request.method if response.request is not None else "GET"
    return f"{method} {urlsplit(response.url).path or '/'}"


def in_parentheses(code: str | None, message: str | None) -> str:
    """`` (errorCode: errorMessage)`` for the end of a sentence; ``""`` without either."""
    parts = [part for part in (code, message.rstrip(".") if message else None) if part]
    return f" ({': '.join(parts)})" if parts else ""


def error_reason(error: BaseException) -> str:
    """Why something failed, for a log line or the run's report: the sentence of an error the tap
    raises; only the type of a failure to reach Qualtrics (its text can hold URLs); type and text
    otherwise."""
    text = str(error).strip()
    if type(error).__module__.startswith("tap_qualtrics"):
        return text or type(error).__name__
    if isinstance(error, requests.RequestException):
        return f"could not reach Qualtrics ({type(error).__name__})"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def describe_redirect(response: requests.Response) -> str:
    """A redirect answered to a request that carries credentials: named, never followed."""
    target = urlsplit(response.headers.get("Location") or "")
    host = target.hostname or "an unnamed host"
    where = f"{target.scheme}://{host}" if target.scheme else host
    return (
        f"Qualtrics answered {endpoint_of(response)} with a redirect (HTTP {response.status_code}) to {where}; "
        "the tap does not follow redirects, so credentials never leave the configured host — check "
        "data_center and base_url."
    )


def describe_failure(response: requests.Response, *, uses_oauth: bool) -> str:
    """One sentence naming the endpoint and Qualtrics' own error code and message."""
    status = response.status_code
    code, message = qualtrics_error_detail(response)
    endpoint = endpoint_of(response)
    if status == HTTPStatus.UNAUTHORIZED:
        if uses_oauth:
            return (
                f"Qualtrics rejected the OAuth access token{in_parentheses(code, None)} on {endpoint} — "
                "check client_id, client_secret and data_center (an OAuth token only works at the data "
                "center that issued it)."
            )
        code_part = in_parentheses(code, None)
        return f"Qualtrics rejected the API token{code_part} — check api_token and data_center."
    detail = in_parentheses(code, message)
    if status == HTTPStatus.FORBIDDEN:
        hint = (
            "the OAuth client's scopes" if uses_oauth else "the permissions of the API token's user"
        )
        return f"Qualtrics refused {endpoint} with HTTP 403{detail} — check {hint}."
    if status == HTTPStatus.NOT_FOUND:
        return (
            f"Qualtrics answered {endpoint} with HTTP 404{detail} — it does not exist or is not shared "
            "with these credentials."
        )
    return f"Qualtrics answered {endpoint} with HTTP {status}{detail}."


def describe_token_failure(response: requests.Response) -> str:
    """One sentence for a refused OAuth token request, with the endpoint's error code and description."""
    code, message = qualtrics_error_detail(response)
    detail = in_parentheses(code, message)
    if response.status_code == HTTPStatus.UNAUTHORIZED:
        return (
            f"Qualtrics rejected the OAuth client credentials{detail} — check client_id, client_secret "
            "and data_center."
        )
    if code == "invalid_scope":
        return (
            f"Qualtrics refused the requested OAuth scopes{detail} — grant them to the OAuth client or "
            "set oauth_scopes."
        )
    return f"Qualtrics refused the OAuth token request with HTTP {response.status_code}{detail}."
