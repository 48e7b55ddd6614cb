"""Error messages built from Qualtrics responses never carry a response body or header value, even when
the body (e.g. of a proxy's error page) echoes the request's credentials."""

from __future__ import annotations

import json

import pytest
import requests
from support.reliability import SENTINEL_SECRET, SENTINEL_TOKEN, leaked_secrets

from tap_qualtrics.tap import TapQualtrics

ECHOING_BODIES = {
    "qualtrics envelope": {
        "meta": {
            "httpStatus": "x",
            "error": {"errorCode": "GEN_1", "errorMessage": "bad request"},
            "requestId": "r",
        },
        "echo": {"X-API-TOKEN": SENTINEL_TOKEN, "client_secret": SENTINEL_SECRET},
    },
    "oauth error": {"error": "invalid_client", "error_description": "ok", "token": SENTINEL_TOKEN},
    "html page": f"<html>X-API-TOKEN: {SENTINEL_TOKEN} {SENTINEL_SECRET}</html>",
}


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = "https://iad1.qualtrics.com/API/v3/surveys?offset=100"
    text = body if isinstance(body, str) else json.dumps(body)
    response._content = text.encode()
    response.headers["Set-Cookie"] = f"session={SENTINEL_SECRET}"
    response.headers["X-Echo"] = SENTINEL_TOKEN
    response.request = requests.Request(
        "GET", response.url, headers={"X-API-TOKEN": SENTINEL_TOKEN}
    ).prepare()
    return response


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
@pytest.mark.parametrize("body", sorted(ECHOING_BODIES))
def test_error_sentences_carry_no_body_or_header(status: int, body: str) -> None:
    tap = TapQualtrics(config={"api_token": "a-different-token-1234", "data_center": "iad1"})
    for stream in tap.streams.values():
        message = stream.response_error_message(_response(status, ECHOING_BODIES[body]))
        assert leaked_secrets(message, [SENTINEL_TOKEN, SENTINEL_SECRET]) == []
        assert "\n" not in message and "offset=100" not in message
