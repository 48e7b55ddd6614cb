"""A redirect never takes the credentials elsewhere: the Qualtrics API has no reason to redirect a client,
so the tap refuses every redirect with one sentence, for API requests and for the OAuth token request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.reliability import (
    SENTINEL_CREDENTIALS,
    catalog_for,
    config_for,
    leaked_secrets,
    run_tap,
)
from support.tap import sandbox

SECRETS = [SENTINEL_CREDENTIALS[k] for k in ("api_token", "client_id", "client_secret")]


@contextmanager
def other_host() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback server standing for another host: it records the headers of every request it gets."""
    received: list[dict[str, str]] = []

    class Recorder(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            received.append({**dict(self.headers.items()), "_path": self.path, "_body": body})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"result": {"elements": [], "nextPage": null}, "meta": {}}')

        do_GET = do_POST = _answer  # noqa: N815 - the names http.server dispatches to

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.2", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("oauth", [False, True], ids=["api_token", "oauth"])
def test_a_redirect_to_another_host_is_refused_and_the_credentials_stay_home(oauth: bool) -> None:
    with (
        other_host() as (elsewhere, received),
        sandbox(seed=521, surveys=2, responses=3, credentials=SENTINEL_CREDENTIALS) as handle,
    ):
        handle.set_faults({"redirect_to": elsewhere})
        outcome = run_tap(config_for(handle, oauth=oauth), catalog=catalog_for(["surveys"]))

    assert received == []  # not one request reached the other host
    assert outcome.error is not None
    message = str(outcome.error)
    endpoint = "POST /oauth2/token" if oauth else "GET /API/v3/surveys"
    assert message == (
        f"Qualtrics answered {endpoint} with a redirect (HTTP 302) to http://127.0.0.2; the tap does "
        "not follow redirects, so credentials never leave the configured host — check data_center "
        "and base_url."
    )
    assert outcome.records("surveys") == []
    assert leaked_secrets(outcome.all_text(), SECRETS) == []
