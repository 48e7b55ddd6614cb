"""Serve the sandbox over real HTTP: werkzeug's threaded server on loopback, in a daemon thread.

>>> with running_sandbox(seed=1, surveys=3, responses=10) as sandbox:   # doctest: +SKIP
...     requests.get(sandbox.url("/API/v3/whoami"), headers={"X-API-TOKEN": sandbox.api_token})

Knobs (keyword arguments of :func:`running_sandbox`, also on the command line):

- ``export_polls`` (default 1), ``export_seconds`` (0.0): how long an export stays in progress;
- ``latency_ms`` (0): added to every ``/API/v3`` and ``/oauth2`` request;
- ``rate_limits`` (False here, on in the CLI), ``rate_limit_overrides`` ({bucket: per_minute}),
  ``retry_after_seconds`` (None: computed);
- ``token_ttl_seconds`` (3600), ``client_scopes`` (("manage:all",));
- ``response_pending_seconds`` (0): single-response GET answers 202 while a response is younger than
  this;
- ``faults`` (dict, as for ``POST /_sandbox/faults``), ``zip_level`` (1), ``export_workers`` (2),
  ``export_max_bytes`` (1.8 GB), ``workdir`` (temporary files; default the system temp dir);
- ``credentials`` ({"api_token", "client_id", "client_secret", "access_token_prefix"}, all optional):
  sentinel credentials instead of the seed-derived ones (for secret-scanning tests);
- ``users``, ``now``: passed to ``build_account``; ``account``: serve this account instead of
  building one.

The :class:`SandboxHandle` drives the ``/_sandbox/`` control plane over HTTP (``control``, ``truth``,
``mutate``, ``stats``, ``reset_stats``, ``set_faults``, ``advance_clock``...) and offers in-process test
hooks: ``pin_mutation_clock`` here, and on ``handle.app`` ``set_rate_clock``, ``add_api_observer``,
``exports.workdir`` and ``auth.issued_access_tokens()`` (see :mod:`qualtrics_sandbox.app`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from qualtrics_sandbox.app import SandboxApp
from qualtrics_sandbox.data import build_account

APP_KNOBS = (
    "export_polls",
    "export_seconds",
    "latency_ms",
    "rate_limits",
    "rate_limit_overrides",
    "retry_after_seconds",
    "token_ttl_seconds",
    "response_pending_seconds",
    "client_scopes",
    "faults",
    "zip_level",
    "export_workers",
    "export_max_bytes",
    "workdir",
    "credentials",
)
ACCOUNT_KNOBS = ("users", "now")


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without the per-request access log line (errors are still logged)."""

    access_log = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            super().log_request(code, size)


class AccessLogRequestHandler(QuietRequestHandler):
    """werkzeug's handler with its access log line (``--access-log``)."""

    access_log = True


@dataclass
class SandboxHandle:
    """A running sandbox."""

    base_url: str
    api_token: str
    client_id: str
    client_secret: str
    account: Any
    app: SandboxApp
    server: BaseWSGIServer

    @property
    def brand_id(self) -> str:
        return getattr(self.account, "brand_id", "sandboxbrand")

    @property
    def datacenter(self) -> str:
        return getattr(self.account, "datacenter", "sandbox1")

    def url(self, path: str) -> str:
        """``base_url`` + ``path`` (``path`` starts with ``/``, e.g. ``/API/v3/surveys``)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """``method /_sandbox/<name>`` with a JSON ``body``; returns the JSON answer (non-200 raises
        ``ValueError``). The named methods below cover the usual controls."""
        response = requests.request(method, self.url(f"/_sandbox/{name}"), json=body, timeout=60)
        if response.status_code != HTTPStatus.OK:
            raise ValueError(f"/_sandbox/{name}: {response.status_code} {response.text}")
        return response.json()

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace the faults in force (``{}`` resets); returns them."""
        return self.control("POST", "faults", faults)

    def faults(self) -> dict[str, Any]:
        return self.control("GET", "faults")

    def truth(self) -> dict[str, Any]:
        return self.control("GET", "truth")

    def mutate(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.control("POST", "mutate", spec)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def reset_stats(self) -> dict[str, Any]:
        return self.control("DELETE", "stats")

    def set_access(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Hide a survey from the list, or refuse its details or definition (``POST /_sandbox/access``)."""
        return self.control("POST", "access", spec)

    def set_limits(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Change ``contact_search_depth``, ``export_max_bytes`` or ``export_max_bytes_by_survey``."""
        return self.control("POST", "limits", spec)

    def set_rate_limits(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.control("POST", "ratelimits", spec)

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self.control("POST", "clock", {"advance_seconds": seconds})

    def pin_mutation_clock(self, at: datetime | None) -> None:
        """Test hook: stamp the coming changes (mutations) at ``at``, each 1 ms after the one before;
        ``None`` stamps them with the real clock again. In-process only (it sets the account's clock)."""
        self.account.set_clock(None if at is None else (lambda: at))

    def info(self) -> dict[str, Any]:
        """The facts the CLI prints when ready."""
        return {
            "base_url": self.base_url,
            "api_token": self.api_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "brand_id": self.brand_id,
            "datacenter": self.datacenter,
        }


def _build_account(
    seed: int,
    surveys: int,
    responses: int,
    large_responses: int | None,
    questions: int | None,
    extra: dict[str, Any],
) -> Any:
    kwargs: dict[str, Any] = {
        "seed": seed,
        "surveys": surveys,
        "responses": responses,
        "large_responses": large_responses,
        **extra,
    }
    if questions is not None:
        kwargs["questions"] = questions
    return build_account(**kwargs)


@contextmanager
def serve(
    account: Any,
    *,
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 0,
    access_log: bool = False,
    **app_knobs: Any,
) -> Iterator[SandboxHandle]:
    """Serve an existing account; stops the server and removes temporary files on exit."""
    unknown = set(app_knobs) - set(APP_KNOBS)
    if unknown:
        raise TypeError(f"unknown sandbox knobs: {', '.join(sorted(unknown))}")
    app = SandboxApp(account, seed=seed, **app_knobs)
    handler = AccessLogRequestHandler if access_log else QuietRequestHandler
    try:
        server = make_server(host, port, app, threaded=True, request_handler=handler)
    except BaseException:
        app.close()
        raise
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="qualtrics-sandbox",
        daemon=True,
    )
    thread.start()
    shown_host = host if ":" not in host else f"[{host}]"
    handle = SandboxHandle(
        base_url=f"http://{shown_host}:{server.port}",
        api_token=app.auth.api_token,
        client_id=app.auth.client_id,
        client_secret=app.auth.client_secret,
        account=account,
        app=app,
        server=server,
    )
    try:
        yield handle
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.close()


@contextmanager
def running_sandbox(
    seed: int = 1,
    surveys: int = 12,
    responses: int = 40,
    large_responses: int | None = None,
    questions: int | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    account: Any = None,
    access_log: bool = False,
    **knobs: Any,
) -> Iterator[SandboxHandle]:
    """Build a deterministic account (unless ``account`` is given) and serve it on ``host:port``.

    Yields a :class:`SandboxHandle` (``base_url``, ``api_token``, ``client_id``, ``client_secret``,
    ``account``, ``url(path)``, ``set_faults``, ``truth``, ``mutate``, ``stats``, ``advance_clock``,
    ...).
    """
    account_kwargs = {k: knobs.pop(k) for k in ACCOUNT_KNOBS if k in knobs}
    if account is None:
        account = _build_account(
            seed, surveys, responses, large_responses, questions, account_kwargs
        )
    with serve(account, seed=seed, host=host, port=port, access_log=access_log, **knobs) as handle:
        yield handle
