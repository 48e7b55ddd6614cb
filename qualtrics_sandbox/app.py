"""The sandbox's WSGI application: Qualtrics v3 routes, envelopes, paging and the ``/_sandbox/``
control plane.

Every ``/API/v3`` response uses the Qualtrics envelope: ``{"result": ..., "meta":
{"httpStatus": "200 - OK", "requestId": <uuid4>}}``, errors ``{"meta": {"httpStatus": "404 - Not
Found", "error": {"errorMessage", "errorCode"}, "requestId"}}``. Paths are accepted with or without
a trailing slash.

Request pipeline for ``/API/v3/*`` and ``/oauth2/*``: count the request (stats) -> ``latency_ms`` ->
one fault draw (429 / 5xx / connection reset, see :mod:`qualtrics_sandbox.faults`) -> authentication
and scope (:mod:`qualtrics_sandbox.auth`) -> rate limits (:mod:`qualtrics_sandbox.ratelimit`) -> the
handler. ``/_sandbox/*`` is never faulted, rate limited or authenticated.

Paging:

- ``/surveys`` and ``/users``: ``offset``, 100 per page, ``nextPage`` =
  ``{base}/API/v3/surveys?offset=100``; a ``pageSize`` parameter is ignored.
- every other list: opaque ``skipToken`` (base64 of the offset, like Qualtrics' ``NQ==``) and
  ``pageSize``. ``pageSize`` defaults to the endpoint maximum; a value above the maximum (or below
  1) is **rejected with 400** ``QVAL_2`` rather than clamped, so a client that asks for more than
  Qualtrics allows notices. Maxima: mailing-list contacts 50, everything else 100.

``nextPage`` is absolute (built from the request's host) and ``null`` on the last page.

Control plane (plain JSON, no envelope):

- ``GET /_sandbox/truth`` — ``Account.truth()``; ``POST /_sandbox/mutate`` —
  ``Account.mutate(spec)``.
- ``GET|POST /_sandbox/faults`` — faults in force / replace them (``{}`` resets).
- ``GET|DELETE /_sandbox/stats`` — request counts, max requests per minute per endpoint and bucket,
  statuses, faults fired, rate-limit rejections, OAuth token requests, export counters / reset the
  counters.
- ``GET|POST /_sandbox/ratelimits`` — ``{"enabled": bool, "limits": {bucket: per_minute}}``.
- ``GET|POST /_sandbox/clock`` — the virtual clock; ``{"advance_seconds": s}`` moves it forward
  (token expiry, export file and continuation-token retention).
- ``GET /_sandbox/health`` — ``{"ok": true}``.
- ``GET|POST /_sandbox/limits`` — ``{"contact_search_depth": n}``: how deep contact search pages
  (default 10,000 as in Qualtrics); ``{"export_max_bytes": n}`` and ``{"export_max_bytes_by_survey":
  {survey_id: n}}``: the export size cap past which a job ends ``failed`` (Qualtrics: 1.8 GB), for every
  survey or for some. Keys left out keep their values.
- ``GET|POST /_sandbox/access`` — ``{"survey_id", "listed": false}`` hides a survey from ``GET /surveys``
  (as one shared through a group); ``{"survey_id", "details": 403, "definition": 404}`` refuses its
  ``GET /surveys/{id}`` or ``GET /survey-definitions/{id}`` with 400, 403 or 404 (no permission, shared
  without that right, deleted); ``{"survey_id", "reset": true}`` or ``{"reset": true}`` restores.

Test hooks (in-process, for a test holding the app or its :class:`~qualtrics_sandbox.server.SandboxHandle`):
:meth:`SandboxApp.set_rate_clock` (statistics and rate limits on a virtual monotonic clock),
:meth:`SandboxApp.add_api_observer` (see each API request arrive and be handled),
``Account.set_clock`` (the clock that stamps mutations), ``ExportManager.workdir`` (where export files
are written) and ``AuthService.issued_access_tokens()``.

XM Directory additions (:mod:`qualtrics_sandbox.xm_directory`): ``includeEmbedded=true`` on the
contact list, ``POST /directories/{d}/contacts/search`` (detailed contacts with epoch-millisecond
dates, the search depth limit) and ``GET /distributions/{id}/links`` (served, with its side effect
counted, so tests can prove a client never calls it).
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from qualtrics_sandbox import xm_directory
from qualtrics_sandbox.auth import AuthError, AuthService, OAuthError
from qualtrics_sandbox.corrupt import corrupt as corrupt_export
from qualtrics_sandbox.exports import (
    ExportManager,
    ExportRequestError,
    read_chunks,
    validate_options,
)
from qualtrics_sandbox.faults import FaultConfigError, Faults
from qualtrics_sandbox.ratelimit import (
    RateLimitConfigError,
    RateLimiter,
    RequestStats,
    retry_after_header,
)

API = "/API/v3"
OFFSET_PAGE = 100

# error codes (opaque strings; Qualtrics' own are only known for ATP_2 and DCD_7)
E_NOT_FOUND = "QVAL_404"
E_METHOD = "QVAL_405"
E_BAD_PARAM = "QVAL_2"
E_BAD_JSON = "QVAL_1"
E_RATE = "RATE_LIMIT_EXCEEDED"
E_SERVER = {500: "GEN_500", 503: "GEN_503", 504: "GEN_504"}
PENDING_MESSAGE = "The Survey Response is not yet available. Please try again later."
#: A ``connection_reset`` fault on a file download with a fraction from here on cuts the body part-way
#: (the rest of the range says where); below it, the connection drops before any response.
MID_BODY_RESET_FROM = 0.5


class ApiError(Exception):
    """A refusal a handler raises, answered as Qualtrics' error envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Route:
    """One API endpoint: its URL rule, handler, stats name, OAuth scope and rate-limit bucket."""

    rule: str
    methods: tuple[str, ...]
    name: str  # stats key, e.g. "GET /surveys/{surveyId}"
    handler: str
    scope: str | None = None
    bucket: str | None = None
    oauth: bool = False


R = Route
ROUTES: tuple[Route, ...] = (
    R("/oauth2/token", ("POST",), "POST /oauth2/token", "oauth_token", oauth=True),
    R(f"{API}/whoami", ("GET",), "GET /whoami", "whoami"),
    R(f"{API}/surveys", ("GET",), "GET /surveys", "surveys", "read:surveys"),
    R(f"{API}/surveys/<sid>", ("GET",), "GET /surveys/{surveyId}", "survey", "read:surveys"),
    R(
        f"{API}/survey-definitions/<sid>",
        ("GET",),
        "GET /survey-definitions/{surveyId}",
        "definition",
        "read:surveys",
    ),
    R(
        f"{API}/survey-definitions/<sid>/questions",
        ("GET",),
        "GET /survey-definitions/{surveyId}/questions",
        "definition_questions",
        "read:surveys",
    ),
    R(
        f"{API}/survey-definitions/<sid>/questions/<qid>",
        ("GET",),
        "GET /survey-definitions/{surveyId}/questions/{questionId}",
        "definition_question",
        "read:surveys",
    ),
    R(
        f"{API}/surveys/<sid>/filters",
        ("GET",),
        "GET /surveys/{surveyId}/filters",
        "filters",
        "read:surveys",
    ),
    R(
        f"{API}/surveys/<sid>/export-responses",
        ("POST",),
        "POST /surveys/{surveyId}/export-responses",
        "export_start",
        "read:survey_responses",
        "export_start",
    ),
    R(
        f"{API}/surveys/<sid>/export-responses/<pid>",
        ("GET",),
        "GET /surveys/{surveyId}/export-responses/{exportProgressId}",
        "export_progress",
        "read:survey_responses",
        "export_progress",
    ),
    R(
        f"{API}/surveys/<sid>/export-responses/<fid>/file",
        ("GET",),
        "GET /surveys/{surveyId}/export-responses/{fileId}/file",
        "export_file",
        "read:survey_responses",
        "export_file",
    ),
    R(
        f"{API}/surveys/<sid>/responses/<rid>",
        ("GET",),
        "GET /surveys/{surveyId}/responses/{responseId}",
        "response_get",
        "read:survey_responses",
    ),
    R(
        f"{API}/surveys/<sid>/responses/<rid>",
        ("DELETE",),
        "DELETE /surveys/{surveyId}/responses/{responseId}",
        "response_delete",
        "write:survey_responses",
    ),
    R(
        f"{API}/responses/<rid>",
        ("PUT",),
        "PUT /responses/{responseId}",
        "response_update",
        "write:survey_responses",
    ),
    R(f"{API}/users", ("GET",), "GET /users", "users", "read:users"),
    R(f"{API}/users/<uid>", ("GET",), "GET /users/{userId}", "user", "read:users"),
    R(f"{API}/directories", ("GET",), "GET /directories", "directories", "read:directories"),
    R(
        f"{API}/directories/<did>/contacts",
        ("GET",),
        "GET /directories/{directoryId}/contacts",
        "contacts",
        "read:directory_contacts",
    ),
    R(
        f"{API}/directories/<did>/mailinglists",
        ("GET",),
        "GET /directories/{directoryId}/mailinglists",
        "mailing_lists",
        "read:mailing_lists",
    ),
    R(
        f"{API}/directories/<did>/mailinglists/<mlid>/contacts",
        ("GET",),
        "GET /directories/{directoryId}/mailinglists/{mailingListId}/contacts",
        "mailing_list_contacts",
        "read:mailing_list_contacts",
    ),
    R(
        f"{API}/distributions",
        ("GET",),
        "GET /distributions",
        "distributions",
        "read:distributions",
    ),
    R(
        f"{API}/distributions/<dist>",
        ("GET",),
        "GET /distributions/{distributionId}",
        "distribution",
        "read:distributions",
    ),
    R(
        f"{API}/distributions/<dist>/history",
        ("GET",),
        "GET /distributions/{distributionId}/history",
        "distribution_history",
        "read:distributions",
        "distribution_history",
    ),
    R(
        f"{API}/directories/<did>/contacts/search",
        ("POST",),
        "POST /directories/{directoryId}/contacts/search",
        "contact_search",
        "read:directory_contacts",
    ),
    R(
        f"{API}/distributions/<dist>/links",
        ("GET",),
        "GET /distributions/{distributionId}/links",
        "distribution_links",
        "read:distributions",
    ),
    R(f"{API}/groups", ("GET",), "GET /groups", "groups", "read:groups"),
    R(f"{API}/divisions", ("GET",), "GET /divisions", "divisions", "read:divisions"),
)

#: pageSize maxima of the skipToken lists (requests above the maximum get 400).
PAGE_MAX = {
    "directories": 100,
    "contacts": 100,
    "mailing_lists": 100,
    "mailing_list_contacts": 50,
    "distributions": 100,
    "distribution_history": 100,
    "groups": 100,
    "divisions": 100,
    "contact_search": 100,
    "distribution_links": 100,
}


# --------------------------------------------------------------------------------------------------
# responses
# --------------------------------------------------------------------------------------------------
def _status_text(status: int) -> str:
    return f"{status} - {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def _flag(value: str | None) -> bool:
    """A boolean query parameter (``includeEmbedded=true``)."""
    return value is not None and value.strip().lower() in ("true", "1")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def envelope(result: Any, status: int = 200) -> Response:
    return _json(
        {
            "result": result,
            "meta": {"httpStatus": _status_text(status), "requestId": str(uuid.uuid4())},
        },
        status,
    )


def meta_only(status: int = 200) -> Response:
    return _json(
        {"meta": {"httpStatus": _status_text(status), "requestId": str(uuid.uuid4())}}, status
    )


def error_envelope(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "meta": {
            "httpStatus": _status_text(status),
            "error": {"errorMessage": message, "errorCode": code},
            "requestId": str(uuid.uuid4()),
        }
    }
    return _json(body, status, headers)


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client connection without (more of) a response."""
    sock = environ.get("werkzeug.socket")
    if sock is None:  # not served by werkzeug's server (e.g. a test client)
        raise ConnectionResetError("connection_reset fault")
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DroppedResponse(Response):
    """An empty response sent after the socket is already shut down; werkzeug swallows the broken
    pipe."""


# --------------------------------------------------------------------------------------------------
# the application
# --------------------------------------------------------------------------------------------------
class SandboxApp:
    """WSGI application serving one :class:`qualtrics_sandbox.data.Account`."""

    def __init__(
        self,
        account: Any,
        *,
        seed: int = 1,
        export_polls: int = 1,
        export_seconds: float = 0.0,
        latency_ms: float = 0.0,
        rate_limits: bool = False,
        rate_limit_overrides: dict[str, int] | None = None,
        retry_after_seconds: float | None = None,
        token_ttl_seconds: float = 3600,
        response_pending_seconds: float = 0.0,
        client_scopes: tuple[str, ...] = ("manage:all",),
        faults: dict[str, Any] | None = None,
        zip_level: int = 1,
        export_workers: int = 2,
        export_max_bytes: int | None = None,
        workdir: str | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.account = account
        self.seed = seed
        self._clock_offset = timedelta(0)
        self._clock_lock = threading.Lock()
        self.faults = Faults(
            {
                "export_polls": export_polls,
                "export_seconds": export_seconds,
                "latency_ms": latency_ms,
                "retry_after_seconds": retry_after_seconds,
                "token_ttl_seconds": token_ttl_seconds,
                "response_pending_seconds": response_pending_seconds,
                "seed": seed,
            }
        )
        if faults:
            self.faults.configure(faults)
        self.ratelimiter = RateLimiter(enabled=rate_limits, limits=rate_limit_overrides)
        self.stats = RequestStats()
        #: survey ID -> {"listed": bool, "details": status, "definition": status} (POST /_sandbox/access)
        self.access: dict[str, dict[str, Any]] = {}
        self.auth = AuthService(
            seed,
            self.now,
            lambda: self.faults.get("token_ttl_seconds"),
            client_scopes,
            credentials=credentials,
        )
        kwargs: dict[str, Any] = {}
        if export_max_bytes is not None:
            kwargs["max_bytes"] = export_max_bytes
        self.exports = ExportManager(
            account,
            self.now,
            seed=seed,
            workdir=workdir,
            workers=export_workers,
            zip_level=zip_level,
            **kwargs,
        )
        #: Paging beyond this many contact-search results is refused with 400 (Qualtrics: 10,000);
        #: lower it through ``POST /_sandbox/limits`` to exercise clients cheaply.
        self.contact_search_depth = xm_directory.SEARCH_DEPTH_LIMIT
        self.url_map = Map(
            [Rule(r.rule, methods=list(r.methods), endpoint=r) for r in ROUTES],
            strict_slashes=False,
        )
        self._adapter = self.url_map.bind("sandbox")
        self._api_observers: list[Callable[[str, str], AbstractContextManager[Any]]] = []

    # -- clock -------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The sandbox's virtual clock: real UTC now plus the offset set through
        ``/_sandbox/clock``."""
        with self._clock_lock:
            return datetime.now(UTC) + self._clock_offset

    def advance_clock(self, seconds: float) -> datetime:
        """Move the virtual clock forward; from then on the account stamps mutations with it too."""
        with self._clock_lock:
            self._clock_offset += timedelta(seconds=seconds)
        if seconds and hasattr(self.account, "set_clock"):
            self.account.set_clock(self.now)
        return self.now()

    def set_rate_clock(self, monotonic: Callable[[], float]) -> None:
        """Test hook: run the request statistics and the rate limiter on ``monotonic`` (seconds, like
        :func:`time.monotonic`), e.g. a virtual clock that jumps instead of sleeping. The rate buckets
        are refilled and the statistics reset on the new clock."""
        self.ratelimiter.set_clock(monotonic)
        self.stats.set_clock(monotonic)

    def add_api_observer(self, observer: Callable[[str, str], AbstractContextManager[Any]]) -> None:
        """Test hook: ``observer(method, path)`` returns a context manager entered when an ``/API/v3`` or
        ``/oauth2`` request arrives and exited once the sandbox has handled it (before the response body
        is sent). ``/_sandbox/`` requests are not observed."""
        self._api_observers.append(observer)

    def close(self) -> None:
        self.exports.close()

    # -- WSGI --------------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            response = self._control(request, path)
        elif self._api_observers:
            with ExitStack() as observed:
                for observer in list(self._api_observers):
                    observed.enter_context(observer(request.method, path))
                response = self._api(request, path, environ)
        else:
            response = self._api(request, path, environ)
        return response(environ, start_response)

    def _api(self, request: Request, path: str, environ: dict[str, Any]) -> Response:
        route: Route | None = None
        args: dict[str, str] = {}
        match_error: Exception | None = None
        try:
            route, args = self._adapter.match(path, request.method)
        except (NotFound, MethodNotAllowed) as exc:
            match_error = exc
        name = route.name if route else f"{request.method} (unmatched)"
        self.stats.record(name, route.bucket if route else None)
        response = self._api_inner(request, route, args, match_error, environ)
        status = (
            "connection_reset" if isinstance(response, _DroppedResponse) else response.status_code
        )
        self.stats.record_status(name, status)
        return response

    def _api_inner(
        self,
        request: Request,
        route: Route | None,
        args: dict[str, str],
        match_error: Exception | None,
        environ: dict[str, Any],
    ) -> Response:
        latency = self.faults.get("latency_ms")
        if latency:
            time.sleep(latency / 1000.0)
        redirect_to = self.faults.get("redirect_to")
        if redirect_to:
            query = request.query_string.decode("latin-1")
            location = redirect_to + request.path + (f"?{query}" if query else "")
            return Response(status=302, headers={"Location": location})
        is_file = route is not None and route.handler == "export_file"
        fault = self.faults.draw_request(_fault_key(request, route, args), is_file_download=is_file)
        reset_mid_body: float | None = None
        if fault is not None:
            if fault.kind == "http_429":
                ra = retry_after_header(self.faults.get("retry_after_seconds"), 1.0)
                return error_envelope(
                    429, E_RATE, "Too many requests. Please try again later.", {"Retry-After": ra}
                )
            if fault.kind == "http_5xx":
                message = {
                    500: "Internal server error.",
                    503: "Service temporarily unavailable.",
                    504: "Gateway timeout.",
                }[fault.status]
                return error_envelope(fault.status, E_SERVER[fault.status], message)
            if is_file and fault.fraction >= MID_BODY_RESET_FROM:
                reset_mid_body = (fault.fraction - MID_BODY_RESET_FROM) / (1 - MID_BODY_RESET_FROM)
            else:
                _drop_connection(environ)
                return _DroppedResponse(b"", status=500)
        if isinstance(match_error, MethodNotAllowed):
            return error_envelope(
                405, E_METHOD, f"Method {request.method} is not allowed on this resource."
            )
        if route is None:
            return error_envelope(404, E_NOT_FOUND, "The requested resource was not found.")
        if route.oauth:
            return self.oauth_token(request)
        try:
            principal = self.auth.authenticate(request.headers)
            self.auth.require(principal, route.scope)
        except AuthError as exc:
            return error_envelope(exc.status, exc.code, exc.message)
        limited = self.ratelimiter.acquire(route.bucket)
        if limited is not None:
            bucket, wait = limited
            ra = retry_after_header(self.faults.get("retry_after_seconds"), wait)
            return error_envelope(
                429,
                E_RATE,
                f"Too many requests ({bucket} rate limit). Please try again later.",
                {"Retry-After": ra},
            )
        try:
            handler = getattr(self, "h_" + route.handler)
            if route.handler == "export_file":
                return handler(request, reset_at=reset_mid_body, environ=environ, **args)
            return handler(request, **args)
        except ApiError as exc:
            return error_envelope(exc.status, exc.code, exc.message, exc.headers)
        except ExportRequestError as exc:
            return error_envelope(exc.status, exc.code, exc.message)

    # -- OAuth -------------------------------------------------------------------------------------
    def oauth_token(self, request: Request) -> Response:
        try:
            body = self.auth.issue(request.headers, request.form)
        except OAuthError as exc:
            headers = (
                {"WWW-Authenticate": 'Basic realm="qualtrics-sandbox"'}
                if exc.status == HTTPStatus.UNAUTHORIZED
                else {}
            )
            headers["Cache-Control"] = "no-store"
            return _json(
                {"error": exc.error, "error_description": exc.description}, exc.status, headers
            )
        return _json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- helpers -----------------------------------------------------------------------------------
    def _survey(self, sid: str) -> Any:
        survey = self.account.surveys.get(sid)
        if survey is None:
            raise ApiError(404, E_NOT_FOUND, f"Survey {sid} was not found.")
        return survey

    @staticmethod
    def _base(request: Request) -> str:
        return request.host_url.rstrip("/")

    def _offset_page(
        self, request: Request, path: str, items: list[Any], convert: Callable[[Any], Any]
    ) -> Response:
        raw = request.args.get("offset", "0")
        try:
            offset = int(raw)
        except ValueError:
            offset = -1
        if offset < 0:
            raise ApiError(400, E_BAD_PARAM, f"Invalid request. Invalid parameter offset: {raw!r}.")
        page = items[offset : offset + OFFSET_PAGE]
        end = offset + len(page)
        next_page = f"{self._base(request)}{API}{path}?offset={end}" if end < len(items) else None
        return envelope({"elements": [convert(x) for x in page], "nextPage": next_page})

    def _skip_page(
        self,
        request: Request,
        path: str,
        items: list[Any],
        kind: str,
        convert: Callable[[Any], Any] = lambda x: x,
    ) -> Response:
        maximum = PAGE_MAX[kind]
        raw_size = request.args.get("pageSize")
        if raw_size is None:
            size = maximum
        else:
            try:
                size = int(raw_size)
            except ValueError:
                size = 0
            if not 1 <= size <= maximum:
                raise ApiError(
                    400,
                    E_BAD_PARAM,
                    f"Invalid request. pageSize must be between 1 and {maximum}, got {raw_size!r}.",
                )
        token = request.args.get("skipToken")
        offset = 0
        if token:
            try:
                offset = int(base64.b64decode(token.encode(), validate=True).decode())
            except (binascii.Error, ValueError, UnicodeDecodeError):
                offset = -1
            if offset < 0:
                raise ApiError(400, E_BAD_PARAM, "Invalid request. Invalid skipToken.")
        page = items[offset : offset + size]
        end = offset + len(page)
        next_page = None
        if end < len(items):
            params = [(k, v) for k, v in request.args.items(multi=True) if k != "skipToken"]
            params.append(("skipToken", base64.b64encode(str(end).encode()).decode()))
            next_page = f"{self._base(request)}{API}{path}?{urlencode(params)}"
        return envelope({"elements": [convert(x) for x in page], "nextPage": next_page})

    @staticmethod
    def _json_body(request: Request, required: bool = True) -> Any:
        data = request.get_data(cache=False)
        if not data:
            if required:
                raise ApiError(400, E_BAD_JSON, "Invalid request. A JSON body is required.")
            return {}
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ApiError(
                400, E_BAD_JSON, "Invalid request. The body is not valid JSON."
            ) from None

    # -- identity, surveys -------------------------------------------------------------------------
    def h_whoami(self, request: Request) -> Response:
        with self.account.lock:
            return envelope(self.account.whoami)

    def h_surveys(self, request: Request) -> Response:
        with self.account.lock:
            surveys = [
                s
                for s in self.account.surveys.values()
                if self.access.get(s.id, {}).get("listed", True)
            ]
            return self._offset_page(request, "/surveys", surveys, lambda s: s.list_element())

    def h_survey(self, request: Request, sid: str) -> Response:
        self._check_access(sid, "details")
        with self.account.lock:
            return envelope(self._survey(sid).legacy())

    def _check_access(self, sid: str, what: str) -> None:
        """A refusal planted with ``POST /_sandbox/access``, as Qualtrics words it."""
        status = self.access.get(sid, {}).get(what)
        if status == HTTPStatus.FORBIDDEN:
            raise ApiError(
                403, "AUTH_PERMISSION_DENIED", "You do not have permission to access this survey."
            )
        if status == HTTPStatus.BAD_REQUEST:
            raise ApiError(
                400, E_BAD_PARAM, "Invalid request. The survey is shared without this permission."
            )
        if status == HTTPStatus.NOT_FOUND:
            raise ApiError(404, E_NOT_FOUND, "The requested survey was not found.")

    def h_definition(self, request: Request, sid: str) -> Response:
        self._check_access(sid, "definition")
        fmt = request.args.get("format")
        with self.account.lock:
            survey = self._survey(sid)
            if fmt is not None:
                raise ApiError(
                    400,
                    E_BAD_PARAM,
                    f"Invalid request. format {fmt!r} is not supported by qualtrics-sandbox.",
                )
            return envelope(survey.definition())

    def h_definition_questions(self, request: Request, sid: str) -> Response:
        with self.account.lock:
            return envelope({"elements": self._survey(sid).definition_questions()})

    def h_definition_question(self, request: Request, sid: str, qid: str) -> Response:
        with self.account.lock:
            for question in self._survey(sid).definition_questions():
                if question.get("QuestionID") == qid:
                    return envelope(question)
        raise ApiError(404, E_NOT_FOUND, f"Question {qid} was not found.")

    def h_filters(self, request: Request, sid: str) -> Response:
        with self.account.lock:
            self._survey(sid)
            filters = list(getattr(self.account, "filters", {}).get(sid, []))
        return envelope({"elements": filters, "nextPage": None})

    # -- exports -----------------------------------------------------------------------------------
    def h_export_start(self, request: Request, sid: str) -> Response:
        with self.account.lock:
            survey = self._survey(sid)
        body = self._json_body(request)
        validate_options(body)  # reject bad requests before drawing the export_failed fault
        failed = self.faults.draw_export_failed(sid)
        result = self.exports.start(
            survey,
            body,
            failed=failed,
            polls=int(self.faults.get("export_polls")),
            seconds=float(self.faults.get("export_seconds")),
            start_exclusive=bool(self.faults.get("export_start_exclusive")),
        )
        return envelope(result)

    def h_export_progress(self, request: Request, sid: str, pid: str) -> Response:
        with self.account.lock:
            self._survey(sid)
        result = self.exports.progress(sid, pid)
        if result is None:
            raise ApiError(404, E_NOT_FOUND, f"Export {pid} was not found.")
        return envelope(result)

    def h_export_file(
        self, request: Request, sid: str, fid: str, reset_at: float | None, environ: dict[str, Any]
    ) -> Response:
        with self.account.lock:
            self._survey(sid)
        export_file = self.exports.file(sid, fid)
        if export_file is None:
            raise ApiError(404, E_NOT_FOUND, f"File {fid} was not found.")
        size = export_file.size
        corrupt_mode = self.faults.get("corrupt_export")
        corrupted: bytes | None = None
        if corrupt_mode and export_file.compress and export_file.format == "ndjson":
            corrupted = corrupt_export(
                export_file.path.read_bytes(),
                corrupt_mode,
                self.faults.get("corrupt_export_index"),
            )
            size = len(corrupted)
        elif reset_at is None and self.faults.draw_export_truncated(sid):
            corrupted = corrupt_export(export_file.path.read_bytes(), "truncated")
            size = len(corrupted)
        headers = {
            "Content-Disposition": f"attachment; filename={export_file.download_name}",
            "Content-Length": str(size),
        }
        if corrupted is not None:
            body: Iterator[bytes] = iter([corrupted] if reset_at is None else [])
            if reset_at is not None:
                body = self._truncated_bytes(corrupted[: int(size * reset_at)], environ)
        elif reset_at is None:
            body = read_chunks(export_file.path)
        else:
            body = self._truncated(export_file.path, int(size * reset_at), environ)
        return Response(
            body,
            status=200,
            headers=headers,
            content_type=export_file.content_type,
            direct_passthrough=True,
        )

    @staticmethod
    def _truncated(path: Path, stop_after: int, environ: dict[str, Any]) -> Iterator[bytes]:
        yield from read_chunks(path, stop_after=stop_after)
        _drop_connection(environ)

    @staticmethod
    def _truncated_bytes(data: bytes, environ: dict[str, Any]) -> Iterator[bytes]:
        yield data
        _drop_connection(environ)

    # -- single responses --------------------------------------------------------------------------
    def _record(self, sid: str, rid: str) -> tuple[Any, Any]:
        survey = self._survey(sid)
        rec = survey.responses.get(rid)
        if rec is None:
            raise ApiError(404, E_NOT_FOUND, f"Response {rid} was not found.")
        return survey, rec

    def h_response_get(self, request: Request, sid: str, rid: str) -> Response:
        pending = float(self.faults.get("response_pending_seconds"))
        with self.account.lock:
            survey, rec = self._record(sid, rid)
            recorded = rec.recorded_date
            if recorded is not None and recorded.tzinfo is None:
                recorded = recorded.replace(tzinfo=UTC)
            fresh = (
                pending > 0
                and recorded is not None
                and (self.now() - recorded).total_seconds() < pending
            )
            if not rec.recorded or fresh:
                return envelope({"message": PENDING_MESSAGE}, 202)
            return envelope(survey.render(rec))

    def h_response_delete(self, request: Request, sid: str, rid: str) -> Response:
        with self.account.lock:
            self._record(sid, rid)
            self.account.mutate({"survey_id": sid, "delete_ids": [rid]})
        return meta_only()

    def h_response_update(self, request: Request, rid: str) -> Response:
        body = self._json_body(request)
        if not isinstance(body, dict):
            raise ApiError(
                400, E_BAD_JSON, "Invalid request. The request body must be a JSON object."
            )
        unknown = set(body) - {"surveyId", "embeddedData", "resetRecordedDate"}
        if unknown:
            raise ApiError(
                400,
                E_BAD_PARAM,
                f"Invalid request. Unrecognized parameter(s): {', '.join(sorted(unknown))}.",
            )
        sid = body.get("surveyId")
        if not isinstance(sid, str) or not sid:
            raise ApiError(
                400, E_BAD_PARAM, "Invalid request. Missing or invalid parameter surveyId."
            )
        embedded = body.get("embeddedData", {})
        if not isinstance(embedded, dict) or not all(
            isinstance(v, (str, int, float)) for v in embedded.values()
        ):
            raise ApiError(
                400,
                E_BAD_PARAM,
                "Invalid request. embeddedData must be an object of scalar values.",
            )
        reset = body.get("resetRecordedDate", True)
        if not isinstance(reset, bool):
            raise ApiError(
                400, E_BAD_PARAM, "Invalid request. resetRecordedDate must be a boolean."
            )
        with self.account.lock:
            self._record(sid, rid)
            self.account.mutate(
                {
                    "survey_id": sid,
                    "update": [
                        {
                            "response_id": rid,
                            "embedded_data": {k: str(v) for k, v in embedded.items()},
                            "reset_recorded_date": reset,
                        }
                    ],
                }
            )
        return meta_only()

    # -- users -------------------------------------------------------------------------------------
    def h_users(self, request: Request) -> Response:
        with self.account.lock:
            users = list(self.account.users)
            return self._offset_page(request, "/users", users, self.account.user_list_element)

    def h_user(self, request: Request, uid: str) -> Response:
        with self.account.lock:
            for user in self.account.users:
                if user.get("id") == uid:
                    return envelope(user)
        raise ApiError(404, E_NOT_FOUND, f"User {uid} was not found.")

    # -- directories -------------------------------------------------------------------------------
    def _directory(self, did: str) -> dict[str, Any]:
        for directory in self.account.directories:
            if directory.get("directoryId") == did:
                return directory
        raise ApiError(404, E_NOT_FOUND, f"Directory {did} was not found.")

    def h_directories(self, request: Request) -> Response:
        with self.account.lock:
            return self._skip_page(
                request, "/directories", list(self.account.directories), "directories"
            )

    def h_contacts(self, request: Request, did: str) -> Response:
        with self.account.lock:
            self._directory(did)
            items = list(self.account.contacts.get(did, []))
            embedded = _flag(request.args.get("includeEmbedded"))
            return self._skip_page(
                request,
                f"/directories/{did}/contacts",
                items,
                "contacts",
                lambda c: xm_directory.list_element(c, self.account, embedded),
            )

    def h_contact_search(self, request: Request, did: str) -> Response:
        """``POST .../contacts/search``: a full page always carries a ``skipToken`` (the next page may
        be empty, as Qualtrics documents), and paging beyond ``contact_search_depth`` contacts
        (10,000, as in Qualtrics) is refused with 400."""
        body = self._json_body(request, required=False)
        with self.account.lock:
            self._directory(did)
            try:
                matches = xm_directory.search(self.account, did, body)
            except xm_directory.SearchError as exc:
                raise ApiError(400, E_BAD_PARAM, str(exc)) from None
            size = self._page_size(request, "contact_search")
            offset = self._skip_offset(request)
            if offset >= self.contact_search_depth:
                raise ApiError(
                    400,
                    E_BAD_PARAM,
                    f"Invalid request. Search results are limited to the first "
                    f"{self.contact_search_depth} contacts; narrow the filter or export the contacts.",
                )
            embedded = _flag(request.args.get("includeEmbedded"))
            page = [
                xm_directory.search_element(c, self.account, embedded)
                for c in matches[offset : offset + size]
            ]
            result: dict[str, Any] = {"elements": page, "nextPage": None}
            if len(page) == size:
                token = base64.b64encode(str(offset + size).encode()).decode()
                params = [(k, v) for k, v in request.args.items(multi=True) if k != "skipToken"]
                params.append(("skipToken", token))
                result["nextPage"] = (
                    f"{self._base(request)}{API}/directories/{did}/contacts/search?{urlencode(params)}"
                )
                result["skipToken"] = token
            return envelope(result)

    def _page_size(self, request: Request, kind: str) -> int:
        maximum = PAGE_MAX[kind]
        raw_size = request.args.get("pageSize")
        if raw_size is None:
            return maximum
        try:
            size = int(raw_size)
        except ValueError:
            size = 0
        if not 1 <= size <= maximum:
            raise ApiError(
                400,
                E_BAD_PARAM,
                f"Invalid request. pageSize must be between 1 and {maximum}, got {raw_size!r}.",
            )
        return size

    @staticmethod
    def _skip_offset(request: Request) -> int:
        token = request.args.get("skipToken")
        if not token:
            return 0
        try:
            offset = int(base64.b64decode(token.encode(), validate=True).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            offset = -1
        if offset < 0:
            raise ApiError(400, E_BAD_PARAM, "Invalid request. Invalid skipToken.")
        return offset

    def h_mailing_lists(self, request: Request, did: str) -> Response:
        with self.account.lock:
            self._directory(did)
            items = list(self.account.mailing_lists.get(did, []))
            return self._skip_page(
                request, f"/directories/{did}/mailinglists", items, "mailing_lists"
            )

    def h_mailing_list_contacts(self, request: Request, did: str, mlid: str) -> Response:
        with self.account.lock:
            self._directory(did)
            if mlid not in {
                m.get("mailingListId") for m in self.account.mailing_lists.get(did, [])
            }:
                raise ApiError(404, E_NOT_FOUND, f"Mailing list {mlid} was not found.")
            items = list(self.account.mailing_list_contacts.get(mlid, []))
            return self._skip_page(
                request,
                f"/directories/{did}/mailinglists/{mlid}/contacts",
                items,
                "mailing_list_contacts",
            )

    # -- distributions -----------------------------------------------------------------------------
    def _survey_id_param(self, request: Request) -> str:
        sid = request.args.get("surveyId")
        if not sid:
            raise ApiError(
                400, E_BAD_PARAM, "Invalid request. Missing or invalid parameter surveyId."
            )
        self._survey(sid)
        return sid

    def h_distributions(self, request: Request) -> Response:
        with self.account.lock:
            sid = self._survey_id_param(request)
            items = list(self.account.distributions.get(sid, []))

            def strip(d: dict[str, Any]) -> dict[str, Any]:
                return (
                    {k: v for k, v in d.items() if k != "messageText"} if "messageText" in d else d
                )

            return self._skip_page(request, "/distributions", items, "distributions", strip)

    def h_distribution(self, request: Request, dist: str) -> Response:
        with self.account.lock:
            sid = self._survey_id_param(request)
            for d in self.account.distributions.get(sid, []):
                if d.get("id") == dist:
                    return envelope(d)
        raise ApiError(404, E_NOT_FOUND, f"Distribution {dist} was not found.")

    def h_distribution_history(self, request: Request, dist: str) -> Response:
        with self.account.lock:
            if dist not in self.account.distribution_history and not any(
                d.get("id") == dist for ds in self.account.distributions.values() for d in ds
            ):
                raise ApiError(404, E_NOT_FOUND, f"Distribution {dist} was not found.")
            items = list(self.account.distribution_history.get(dist, []))
            return self._skip_page(
                request, f"/distributions/{dist}/history", items, "distribution_history"
            )

    def h_distribution_links(self, request: Request, dist: str) -> Response:
        """Exists so a client that calls it is caught: it has a side effect (contact frequency)."""
        with self.account.lock:
            sid = self._survey_id_param(request)
            if not any(d.get("id") == dist for d in self.account.distributions.get(sid, [])):
                raise ApiError(404, E_NOT_FOUND, f"Distribution {dist} was not found.")
            items = xm_directory.link_elements(self.account, dist)
            return self._skip_page(
                request, f"/distributions/{dist}/links", items, "distribution_links"
            )

    def h_groups(self, request: Request) -> Response:
        with self.account.lock:
            return self._skip_page(request, "/groups", list(self.account.groups), "groups")

    def h_divisions(self, request: Request) -> Response:
        with self.account.lock:
            return self._skip_page(request, "/divisions", list(self.account.divisions), "divisions")

    # -- control plane -----------------------------------------------------------------------------
    def _control(self, request: Request, path: str) -> Response:
        name = path[len("/_sandbox") :].strip("/")
        method = request.method
        try:
            if name == "health" and method == "GET":
                return _json({"ok": True})
            if name == "truth" and method == "GET":
                with self.account.lock:
                    return _json(self.account.truth())
            if name == "mutate" and method == "POST":
                spec = self._control_body(request)
                with self.account.lock:
                    return _json(self.account.mutate(spec))
            if name == "faults":
                if method == "GET":
                    return _json(self.faults.snapshot())
                if method == "POST":
                    return _json(self.faults.configure(self._control_body(request)))
            if name == "stats":
                if method == "GET":
                    return _json(self.stats_snapshot())
                if method == "DELETE":
                    self.stats.reset()
                    return _json(self.stats_snapshot())
            if name == "ratelimits":
                if method == "GET":
                    return _json(self.ratelimiter.snapshot())
                if method == "POST":
                    return _json(self.ratelimiter.configure(self._control_body(request)))
            if name == "access":
                if method == "POST":
                    self._configure_access(self._control_body(request))
                if method in ("GET", "POST"):
                    return _json(self.access)
            if name == "limits":
                if method == "POST":
                    self._configure_limits(self._control_body(request))
                if method in ("GET", "POST"):
                    return _json(self._limits_snapshot())
            if name == "clock":
                if method == "GET":
                    return _json(self._clock_state())
                if method == "POST":
                    self.advance_clock(self._advance_seconds(self._control_body(request)))
                    return _json(self._clock_state())
        except (FaultConfigError, RateLimitConfigError, ValueError, KeyError, TypeError) as exc:
            return _json({"error": str(exc) or type(exc).__name__}, 400)
        return _json({"error": f"no control endpoint {method} {path}"}, 404)

    def _clock_state(self) -> dict[str, Any]:
        now = self.now()
        with self._clock_lock:
            offset = self._clock_offset.total_seconds()
        return {
            "now": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "offset_seconds": offset,
        }

    @staticmethod
    def _advance_seconds(spec: Any) -> float:
        """The ``advance_seconds`` of a ``POST /_sandbox/clock`` body."""
        seconds = spec.get("advance_seconds") if isinstance(spec, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError('expected {"advance_seconds": <number >= 0>}')
        return seconds

    @staticmethod
    def _control_body(request: Request) -> Any:
        data = request.get_data(cache=False)
        if not data:
            return {}
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ValueError("body is not valid JSON") from None

    def _configure_access(self, spec: Any) -> None:
        """``{"survey_id", "listed": bool, "details": 400|403|404|null, "definition": 400|403|404|null}``:
        hide a survey from ``GET /surveys``, or refuse its details or definition; keys left out keep their
        values, ``{"survey_id", "reset": true}`` restores the survey, ``{"reset": true}`` every survey."""
        if not isinstance(spec, dict):
            raise TypeError("expected an object")
        if spec.get("reset") and "survey_id" not in spec:
            self.access.clear()
            return
        sid = spec.get("survey_id")
        if sid not in self.account.surveys:
            raise KeyError(sid)
        unknown = set(spec) - {"survey_id", "listed", "details", "definition", "reset"}
        if unknown:
            raise ValueError(f"unknown access keys {sorted(unknown)}")
        if spec.get("reset"):
            self.access.pop(sid, None)
            return
        entry = self.access.setdefault(sid, {})
        for key in ("details", "definition"):
            if key in spec:
                if spec[key] not in (None, 400, 403, 404):
                    raise ValueError(f"{key} must be null, 400, 403 or 404")
                entry[key] = spec[key]
        if "listed" in spec:
            if not isinstance(spec["listed"], bool):
                raise ValueError("listed must be true or false")
            entry["listed"] = spec["listed"]

    def _configure_limits(self, spec: Any) -> None:
        """``POST /_sandbox/limits``: validate everything first, then apply (a bad body changes nothing)."""
        if not isinstance(spec, dict) or not spec:
            raise ValueError(f"expected an object with some of {sorted(LIMIT_KEYS)}")
        unknown = sorted(set(spec) - LIMIT_KEYS)
        if unknown:
            raise ValueError(f"unknown limits {unknown}; expected some of {sorted(LIMIT_KEYS)}")
        depth = spec.get("contact_search_depth", self.contact_search_depth)
        cap = spec.get("export_max_bytes", self.exports.max_bytes)
        by_survey = spec.get("export_max_bytes_by_survey", self.exports.max_bytes_by_survey)
        if not _positive_int(depth):
            raise ValueError("contact_search_depth must be an integer >= 1")
        if not _positive_int(cap):
            raise ValueError("export_max_bytes must be an integer >= 1")
        if not isinstance(by_survey, dict) or not all(
            isinstance(k, str) and _positive_int(v) for k, v in by_survey.items()
        ):
            raise ValueError("export_max_bytes_by_survey must map survey IDs to integers >= 1")
        self.contact_search_depth = depth
        self.exports.max_bytes = cap
        self.exports.max_bytes_by_survey = dict(by_survey)

    def _limits_snapshot(self) -> dict[str, Any]:
        return {
            "contact_search_depth": self.contact_search_depth,
            "export_max_bytes": self.exports.max_bytes,
            "export_max_bytes_by_survey": dict(self.exports.max_bytes_by_survey),
        }

    def stats_snapshot(self) -> dict[str, Any]:
        out = self.stats.snapshot()
        out.update(self.auth.stats())
        out["faults_fired"] = self.faults.fired_counts()
        out["rate_limits"] = self.ratelimiter.snapshot()
        out["exports"] = self.exports.stats()
        return out


LIMIT_KEYS = frozenset({"contact_search_depth", "export_max_bytes", "export_max_bytes_by_survey"})


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


#: Path arguments that are random per run (export jobs and files): left out of a request's fault key.
_UNSTABLE_ARGS = frozenset({"pid", "fid"})


def _fault_key(request: Request, route: Route | None, args: dict[str, str]) -> str:
    """What a request is, for its fault draw: the route, its stable IDs and the query string."""
    name = route.name if route is not None else f"{request.method} {request.path}"
    stable = ",".join(f"{k}={v}" for k, v in sorted(args.items()) if k not in _UNSTABLE_ARGS)
    return f"{name}|{stable}|{request.query_string.decode('latin-1')}"
