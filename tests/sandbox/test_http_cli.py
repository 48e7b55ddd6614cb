"""The ``qualtrics-sandbox serve`` command line, run as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _require_data() -> None:
    try:
        import qualtrics_sandbox.data  # noqa: F401
    except ImportError:
        pytest.skip("qualtrics_sandbox.data is not available yet")


def _start(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "qualtrics_sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_json_line_and_serves(sig: int) -> None:
    _require_data()
    proc = _start(
        "--port",
        "0",
        "--seed",
        "5",
        "--surveys",
        "3",
        "--responses",
        "4",
        "--export-polls",
        "0",
        "--latency-ms",
        "0",
        "--rate-limits",
        "on",
        "--token-ttl-seconds",
        "120",
    )
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        for key in (
            "base_url",
            "api_token",
            "client_id",
            "client_secret",
            "brand_id",
            "datacenter",
            "seed",
            "surveys",
            "responses",
        ):
            assert key in info, key
        assert info["seed"] == 5 and info["surveys"] == 3 and info["responses"] == 4
        assert info["base_url"].startswith("http://127.0.0.1:")
        response = requests.get(
            info["base_url"] + "/API/v3/whoami",
            headers={"X-API-TOKEN": info["api_token"]},
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["meta"]["httpStatus"] == "200 - OK"
        assert (
            len(requests.get(info["base_url"] + "/_sandbox/truth", timeout=10).json()["surveys"])
            == 3
        )
        token = requests.post(
            info["base_url"] + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(info["client_id"], info["client_secret"]),
            timeout=10,
        ).json()
        assert token["expires_in"] == 120
        assert (
            requests.get(info["base_url"] + "/_sandbox/ratelimits", timeout=10).json()["enabled"]
            is True
        )
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out == ""  # exactly one line was printed
    assert "Traceback" not in err


def test_cli_rejects_bad_arguments() -> None:
    proc = _start("--rate-limits", "maybe")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and out == "" and "rate-limits" in err
