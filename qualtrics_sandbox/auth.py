"""Authentication of the sandbox: the API token and OAuth 2.0 client credentials.

- ``X-API-TOKEN: <token>`` (header name case-insensitive). Missing credentials -> 400 ``ATP_2``
  "Expected authorization in headers, but none provided."; an unknown token -> 401 ``DCD_7``
  "Unrecognized X-API-TOKEN.". The API token carries every scope.
- ``POST /oauth2/token`` with HTTP Basic ``client_id:client_secret`` (or
  ``client_id``/``client_secret`` in the form body), form ``grant_type=client_credentials`` and
  optional space-separated ``scope``. Answers the plain OAuth JSON ``{access_token, token_type:
  "Bearer", expires_in, scope}`` (no Qualtrics envelope). Bad client -> 401 ``{"error":
  "invalid_client"}``; other grant types -> 400 ``unsupported_grant_type``; unknown or not granted
  scopes -> 400 ``invalid_scope``; no grant type -> 400 ``invalid_request``.
- ``Authorization: Bearer <token>`` on ``/API/v3``: unknown -> 401 ``ATP_1``; expired -> 401
  ``ATP_3``; valid but without the endpoint's scope -> 403 ``ATP_4``.

``manage:all`` grants every scope; ``manage:X`` grants ``read:X`` and ``write:X``. Tokens expire
after ``token_ttl_seconds`` of the sandbox's (virtual) clock, read when the token is issued.
"""

from __future__ import annotations

import base64
import binascii
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

#: Scope names of the Qualtrics OAuth client UI.
KNOWN_SCOPES = frozenset(
    [
        "manage:all",
        "read:surveys",
        "write:surveys",
        "manage:surveys",
        "read:survey_responses",
        "write:survey_responses",
        "manage:survey_responses",
        "read:users",
        "write:users",
        "read:directories",
        "manage:directories",
        "read:directory_contacts",
        "write:directory_contacts",
        "manage:directory_contacts",
        "read:mailing_lists",
        "write:mailing_lists",
        "manage:mailing_lists",
        "read:mailing_list_contacts",
        "write:mailing_list_contacts",
        "manage:mailing_list_contacts",
        "read:distributions",
        "write:distributions",
        "manage:distributions",
        "read:subscriptions",
        "write:subscriptions",
        "manage:subscriptions",
        "read:survey_sessions",
        "write:survey_sessions",
        "manage:survey_sessions",
        "read:groups",
        "write:groups",
        "manage:groups",
        "read:divisions",
        "write:divisions",
        "manage:divisions",
        "read:libraries",
        "write:libraries",
        "manage:libraries",
        "read:contact_transactions",
        "write:contact_transactions",
        "manage:contact_transactions",
        "read:contact_frequency_rules",
        "write:contact_frequency_rules",
        "manage:contact_frequency_rules",
        "read:samples",
        "write:samples",
        "manage:samples",
        "read:participants",
        "write:participants",
        "manage:participants",
        "read:organizations",
        "manage:organizations",
        "read:activity_logs",
        "manage:activity_logs",
        "manage:erasure_requests",
        "manage:customer_data_requests",
        "read:imported_data_projects",
        "write:imported_data_projects",
        "write:automations",
        "write:embedded_dashboards",
        "write:embedded_xid_profile_cards",
    ]
)


class AuthError(Exception):
    """An authentication failure on ``/API/v3``; rendered as the Qualtrics error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class OAuthError(Exception):
    """An OAuth token-endpoint failure; rendered as plain ``{"error", "error_description"}``
    JSON."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Principal:
    """Who made a request: ``kind`` is ``"api_token"`` or ``"oauth"``."""

    kind: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def allows(self, scope: str | None) -> bool:
        if scope is None or self.kind == "api_token" or "manage:all" in self.scopes:
            return True
        if scope in self.scopes:
            return True
        _, _, resource = scope.partition(":")
        return f"manage:{resource}" in self.scopes


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: datetime


def _derive(seed: int, label: str, length: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(random.Random(f"qualtrics-sandbox:{label}:{seed}").choices(alphabet, k=length))


class AuthService:
    """Credentials of one sandbox (deterministic from the seed) and the OAuth tokens issued so
    far."""

    def __init__(
        self,
        seed: int,
        now: Callable[[], datetime],
        ttl_seconds: Callable[[], float],
        client_scopes: tuple[str, ...] = ("manage:all",),
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        # ``credentials`` (test knob) overrides api_token / client_id / client_secret and may set
        # access_token_prefix, so secret-scanning tests can use sentinel values of their own.
        chosen = dict(credentials or {})
        self.api_token = chosen.get("api_token") or _derive(seed, "api-token", 40)
        self.client_id = chosen.get("client_id") or _derive(seed, "client-id", 32).lower()
        self.client_secret = chosen.get("client_secret") or _derive(seed, "client-secret", 48)
        self.access_token_prefix = chosen.get("access_token_prefix", "")
        unknown = set(client_scopes) - KNOWN_SCOPES
        if unknown:
            raise ValueError(f"unknown client scopes: {sorted(unknown)}")
        self.client_scopes = frozenset(client_scopes)
        self._now = now
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.token_requests = 0
        self.tokens_issued = 0

    # -- the token endpoint ------------------------------------------------------------------------
    def issue(self, headers: Mapping[str, str], form: Mapping[str, str]) -> dict[str, Any]:
        """Handle ``POST /oauth2/token``; returns the token JSON or raises :class:`OAuthError`."""
        with self._lock:
            self.token_requests += 1
        client_id, client_secret = self._client_credentials(headers, form)
        if client_id != self.client_id or client_secret != self.client_secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed.")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing grant_type.")
        if grant_type != "client_credentials":
            raise OAuthError(
                400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}."
            )
        requested = form.get("scope", "").split()
        if requested:
            unknown = [s for s in requested if s not in KNOWN_SCOPES]
            if unknown:
                raise OAuthError(400, "invalid_scope", f"Unknown scope: {' '.join(unknown)}.")
            if "manage:all" not in self.client_scopes:
                denied = [
                    s for s in requested if not Principal("oauth", self.client_scopes).allows(s)
                ]
                if denied:
                    raise OAuthError(
                        400, "invalid_scope", f"Scope not granted: {' '.join(denied)}."
                    )
            scopes = frozenset(requested)
        else:
            scopes = self.client_scopes
        ttl = float(self._ttl())
        token = self.access_token_prefix + str(uuid.uuid4())
        with self._lock:
            self._tokens[token] = _Token(scopes, self._now() + timedelta(seconds=ttl))
            self.tokens_issued += 1
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl) if ttl == int(ttl) else ttl,
            "scope": " ".join(sorted(scopes)),
        }

    @staticmethod
    def _client_credentials(headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[str, str]:
        authorization = headers.get("Authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", "Malformed Basic credentials.") from None
            client_id, sep, secret = decoded.partition(":")
            if not sep:
                raise OAuthError(401, "invalid_client", "Malformed Basic credentials.")
            return client_id, secret
        if form.get("client_id"):
            return form.get("client_id", ""), form.get("client_secret", "")
        raise OAuthError(401, "invalid_client", "Client authentication failed.")

    # -- API requests ------------------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """Check the credentials of an ``/API/v3`` request (header names are case-insensitive)."""
        api_token = headers.get("X-API-TOKEN")
        if api_token is not None:
            if api_token.strip() == self.api_token:
                return Principal("api_token")
            raise AuthError(401, "DCD_7", "Unrecognized X-API-TOKEN.")
        authorization = headers.get("Authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            with self._lock:
                token = self._tokens.get(value.strip())
            if token is None:
                raise AuthError(401, "ATP_1", "Invalid OAuth access token.")
            if self._now() >= token.expires_at:
                raise AuthError(401, "ATP_3", "The OAuth access token has expired.")
            return Principal("oauth", token.scopes)
        raise AuthError(400, "ATP_2", "Expected authorization in headers, but none provided.")

    @staticmethod
    def require(principal: Principal, scope: str | None) -> None:
        if not principal.allows(scope):
            raise AuthError(
                403,
                "ATP_4",
                f"The access token does not grant the scope this API requires: {scope}.",
            )

    def issued_access_tokens(self) -> list[str]:
        """Every OAuth access token issued so far (expired ones included)."""
        with self._lock:
            return list(self._tokens)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "oauth_token_requests": self.token_requests,
                "oauth_tokens_issued": self.tokens_issued,
            }
