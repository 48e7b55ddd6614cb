"""Qualtrics credentials: the API token header, or OAuth client credentials with one token per run.

One authenticator serves every stream of a run (the SDK's default is one per stream, i.e. one token
request per stream). The OAuth token is refreshed shortly before it expires, and once more when
Qualtrics rejects it anyway (clock skew, revocation), before the request is retried.

The Qualtrics API facts this relies on: docs/qualtrics-api.md §2, §3.
"""

from __future__ import annotations

import base64
import datetime
import logging
import threading
import time
from typing import Any

import requests
from singer_sdk.authenticators import APIKeyAuthenticator, OAuthAuthenticator

from tap_qualtrics._compat import override
from tap_qualtrics.http.errors import QualtricsAuthError, describe_redirect, describe_token_failure
from tap_qualtrics.http.reachability import (
    HostUnreachableError,
    unreachable_sentence,
    why_unreachable,
)
from tap_qualtrics.http.retry import RetryPolicy
from tap_qualtrics.settings import TOKEN_PATH, Settings

API_TOKEN_HEADER = "X-API-TOKEN"  # noqa: S105 - a header name, not a secret
REFRESH_MARGIN_SECONDS = 60.0
REFRESH_MARGIN_FRACTION = 0.1
RETRIABLE_TOKEN_STATUSES = frozenset({429, 500, 502, 503, 504})

logger = logging.getLogger("tap-qualtrics.auth")


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """``POST {base}/oauth2/token`` with HTTP Basic auth and ``grant_type=client_credentials``."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: tuple[str, ...],
        timeout: float,
        retry_policy: RetryPolicy,
    ) -> None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._token_request_headers = {
            "Authorization": f"Basic {basic}",
            "Accept": "application/json",
        }
        super().__init__(
            auth_endpoint=token_url,
            oauth_scopes=" ".join(scopes),
            client_id=client_id,
            client_secret=client_secret,
            oauth_headers=self._token_request_headers,
        )
        self._timeout = timeout
        self._retry_policy = retry_policy
        self._token_session = requests.Session()
        self._lock = threading.RLock()
        self._refresh_is_after_rejection = False
        self._token_from_rejection: str | None = None

    @property
    @override
    def oauth_request_body(self) -> dict[str, Any]:
        body = {"grant_type": "client_credentials"}
        if self.oauth_scopes:
            body["scope"] = self.oauth_scopes
        return body

    @override
    def is_token_valid(self) -> bool:
        """Valid until shortly before expiry, so a long request never starts with a dying token."""
        if self.access_token is None or self.last_refreshed is None:
            return False
        if self.expires_in is None:
            return True
        margin = min(REFRESH_MARGIN_SECONDS, self.expires_in * REFRESH_MARGIN_FRACTION)
        age = (_utc_now() - self.last_refreshed).total_seconds()
        return age < self.expires_in - margin

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if not self.is_token_valid():
                self.update_access_token()
            request.headers["Authorization"] = f"Bearer {self.access_token}"
        return request

    def forget_rejected_token(self, request: requests.PreparedRequest) -> bool:
        """Called on a 401: drop the token the request carried. ``True`` means "refresh and retry".

        A token that was itself fetched because of a rejection is not replaced again: two rejections
        in a row mean the credentials, not the token's age, are the problem.
        """
        sent = _bearer_token(request)
        with self._lock:
            if sent is None:
                return False
            if sent != self.access_token:
                return True  # someone already replaced it
            if sent == self._token_from_rejection:
                return False
            logger.info(
                "Qualtrics rejected the OAuth access token before its expiry; requesting a new one"
            )
            self.access_token = None
            self.last_refreshed = None
            self._refresh_is_after_rejection = True
            return True

    def note_accepted(self, request: requests.PreparedRequest) -> None:
        """A success with the current token: a later rejection may be refreshed again."""
        if (
            self._token_from_rejection is not None
            and _bearer_token(request) == self._token_from_rejection
        ):
            with self._lock:
                self._token_from_rejection = None

    @override
    def update_access_token(self) -> None:
        """Fetch a token (with timeout and retries); failures become one clear sentence."""
        logger.info("Requesting an OAuth access token")
        requested_at = _utc_now()
        response = self._post_token_request()
        try:
            token = response.json()
            self.access_token = str(token["access_token"])
        except (ValueError, KeyError, TypeError):
            raise QualtricsAuthError(
                "The Qualtrics OAuth endpoint answered without an access_token."
            ) from None
        expires_in = token.get("expires_in")
        self.expires_in = int(float(expires_in)) if expires_in is not None else None
        self.last_refreshed = requested_at
        self._token_from_rejection = self.access_token if self._refresh_is_after_rejection else None
        self._refresh_is_after_rejection = False

    def _post_token_request(self) -> requests.Response:
        for attempt in range(1, self._retry_policy.max_attempts + 1):
            response: requests.Response | None = None
            try:
                response = self._token_session.post(
                    self.auth_endpoint,
                    headers=self._token_request_headers,
                    data=self.oauth_request_payload,
                    timeout=self._timeout,
                    allow_redirects=False,  # the client secret goes to the configured host only
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self._retry_policy.max_attempts:
                    origin = self.auth_endpoint.removesuffix(TOKEN_PATH)
                    sentence = unreachable_sentence(origin, error, attempt)
                    raise HostUnreachableError(sentence) from None
                why = why_unreachable(error)
            else:
                if response.is_redirect:
                    raise QualtricsAuthError(
                        describe_redirect(response), status=response.status_code
                    )
                if response.ok:
                    return response
                if response.status_code not in RETRIABLE_TOKEN_STATUSES or (
                    attempt == self._retry_policy.max_attempts
                ):
                    raise QualtricsAuthError(
                        describe_token_failure(response), status=response.status_code
                    )
                why = f"HTTP {response.status_code}"
            wait = self._retry_policy.wait_seconds(attempt, response)
            logger.warning(
                "Retrying POST %s in %.1f s (attempt %d of %d): %s",
                TOKEN_PATH,
                wait,
                attempt + 1,
                self._retry_policy.max_attempts,
                why,
            )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _bearer_token(request: requests.PreparedRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def build_authenticator(
    settings: Settings, scopes: tuple[str, ...]
) -> APIKeyAuthenticator | ClientCredentialsAuthenticator:
    """The one authenticator of a run, from checked settings."""
    if not settings.uses_oauth and settings.api_token is not None:
        return APIKeyAuthenticator(
            key=API_TOKEN_HEADER, value=settings.api_token, location="header"
        )
    if (
        settings.client_id is None or settings.client_secret is None
    ):  # parse_settings refuses this first
        msg = "set api_token, or client_id and client_secret"
        raise ValueError(msg)
    return ClientCredentialsAuthenticator(
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=settings.oauth_scopes or scopes,
        timeout=settings.request_timeout,
        retry_policy=RetryPolicy(settings.max_retries, settings.retry_delay),
    )
