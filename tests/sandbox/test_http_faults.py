"""Fault injection, rate limits and request statistics, over real HTTP."""

from __future__ import annotations

import requests
from support.sandbox_api import Api, sandbox_for


def _outcomes(sandbox, n: int, path: str = "/API/v3/whoami") -> list[str]:
    out = []
    headers = {"X-API-TOKEN": sandbox.api_token}
    for _ in range(n):
        try:
            response = requests.get(sandbox.url(path), headers=headers, timeout=10)
        except requests.ConnectionError:
            out.append("reset")
            continue
        out.append(str(response.status_code))
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "0"
        if response.status_code != 200:
            assert response.json()["meta"]["error"]["errorCode"]
    return out


def test_faults_fire_at_configured_rates_and_reproducibly(sandbox) -> None:
    config = {
        "http_429": 0.10,
        "http_5xx": 0.15,
        "connection_reset": 0.05,
        "retry_after_seconds": 0,
        "seed": 42,
    }
    applied = sandbox.set_faults(config)
    try:
        assert {k: applied[k] for k in config} == config
        assert sandbox.faults()["http_429"] == 0.10
        first = _outcomes(sandbox, 400)
        n = len(first)
        counts = {k: first.count(k) for k in set(first)}
        five = counts.get("500", 0) + counts.get("503", 0) + counts.get("504", 0)
        assert abs(counts.get("429", 0) / n - 0.10) < 0.04
        assert abs(five / n - 0.15) < 0.05
        assert abs(counts.get("reset", 0) / n - 0.05) < 0.03
        assert {"500", "503", "504"} <= set(counts)
        fired = sandbox.stats()["faults_fired"]
        assert fired["http_429"] == counts["429"] and fired["connection_reset"] == counts["reset"]
        # the same seed gives the same sequence
        sandbox.set_faults(config)
        assert _outcomes(sandbox, 400) == first
        # /_sandbox is never faulted
        sandbox.set_faults({"http_5xx": 1.0})
        for _ in range(20):
            assert requests.get(sandbox.url("/_sandbox/truth"), timeout=10).status_code == 200
        assert set(_outcomes(sandbox, 5)) <= {"500", "503", "504"}
    finally:
        assert sandbox.set_faults({})["http_5xx"] == 0.0
    assert set(_outcomes(sandbox, 20)) == {"200"}


def test_fault_config_validation(sandbox) -> None:
    for bad in (
        {"http_429": 2},
        {"nonsense": 1},
        {"http_429": 0.6, "http_5xx": 0.6},
        {"export_polls": -1},
        {"seed": "x"},
    ):
        response = requests.post(sandbox.url("/_sandbox/faults"), json=bad, timeout=10)
        assert response.status_code == 400, bad
    assert requests.get(sandbox.url("/_sandbox/faults"), timeout=10).json()["http_429"] == 0.0


def test_oauth_endpoint_is_faulted_too(sandbox) -> None:
    sandbox.set_faults({"http_5xx": 1.0})
    try:
        response = requests.post(
            sandbox.url("/oauth2/token"),
            data={"grant_type": "client_credentials"},
            auth=(sandbox.client_id, sandbox.client_secret),
            timeout=10,
        )
        assert response.status_code in (500, 503, 504)
    finally:
        sandbox.set_faults({})


def test_connection_reset_on_file_downloads_before_or_mid_body() -> None:
    with sandbox_for(surveys=3, responses=120) as sandbox:
        api = Api(sandbox)
        sid = max(
            sandbox.truth()["surveys"],
            key=lambda s: len(sandbox.truth()["surveys"][s]["responses"]),
        )
        result, good = api.export(sid, format="json", compress=False)
        size = len(good.content)
        file_url = sandbox.url(f"/API/v3/surveys/{sid}/export-responses/{result['fileId']}/file")
        sandbox.set_faults({"connection_reset": 1.0, "seed": 3})
        kinds = set()
        for _ in range(12):
            try:
                response = requests.get(
                    file_url, headers={"X-API-TOKEN": sandbox.api_token}, timeout=10
                )
            except requests.exceptions.ChunkedEncodingError:
                kinds.add("mid-body")
            except requests.ConnectionError:
                kinds.add("before")
            else:  # pragma: no cover - a reset must never deliver a complete body
                raise AssertionError(
                    f"got a response {response.status_code} of {len(response.content)}/{size}"
                )
        assert kinds == {"before", "mid-body"}
        sandbox.set_faults({})
        api.close()


def test_export_truncated_serves_half_a_file_without_moving_the_other_draws() -> None:
    """A complete transfer of a damaged zip, drawn apart from the per-request faults (whose sequence for
    a seed stays the same with or without it)."""
    with sandbox_for(surveys=3, responses=40) as sandbox:
        api = Api(sandbox)
        sid = max(
            sandbox.truth()["surveys"],
            key=lambda s: len(sandbox.truth()["surveys"][s]["responses"]),
        )
        result, good = api.export(sid, format="ndjson")
        file_url = sandbox.url(f"/API/v3/surveys/{sid}/export-responses/{result['fileId']}/file")
        headers = {"X-API-TOKEN": sandbox.api_token}
        sandbox.set_faults({"export_truncated": 1.0})
        cut = requests.get(file_url, headers=headers, timeout=10)
        assert cut.status_code == 200
        assert cut.content == good.content[: len(good.content) // 2]
        assert cut.headers["Content-Length"] == str(len(cut.content))
        assert sandbox.stats()["faults_fired"] == {"export_truncated": 1}

        sequences = []
        for truncated in (0.0, 0.5):
            sandbox.set_faults(
                {
                    "http_429": 0.3,
                    "export_truncated": truncated,
                    "seed": 9,
                    "retry_after_seconds": 0,
                }
            )
            sequences.append(_outcomes(sandbox, 40))
        assert sequences[0] == sequences[1] and "429" in sequences[0]
        sandbox.set_faults({})
        intact = requests.get(file_url, headers=headers, timeout=10)
        assert intact.content == good.content
        api.close()


def test_latency_knob(sandbox) -> None:
    import time

    sandbox.set_faults({"latency_ms": 150})
    try:
        t0 = time.perf_counter()
        requests.get(
            sandbox.url("/API/v3/whoami"), headers={"X-API-TOKEN": sandbox.api_token}, timeout=10
        )
        assert time.perf_counter() - t0 >= 0.15
    finally:
        sandbox.set_faults({})


def test_rate_limits_429_with_retry_after() -> None:
    with sandbox_for(
        surveys=2,
        responses=3,
        rate_limits=True,
        rate_limit_overrides={"export_start": 3, "brand": 40},
    ) as sandbox:
        api = Api(sandbox)
        sid = next(iter(sandbox.truth()["surveys"]))
        statuses = [
            api.post(f"/surveys/{sid}/export-responses", json={"format": "json"}) for _ in range(4)
        ]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        limited = statuses[-1]
        assert limited.json()["meta"]["httpStatus"] == "429 - Too Many Requests"
        assert limited.json()["meta"]["error"]["errorCode"] == "RATE_LIMIT_EXCEEDED"
        assert int(limited.headers["Retry-After"]) == 20  # 3/min drains one slot every 20 s
        # other endpoints still work; then the brand bucket (40/min) runs out
        codes = [api.get("/whoami").status_code for _ in range(40)]
        assert codes.count(200) == 40 - 3 and codes[-3:] == [429] * 3
        stats = sandbox.stats()
        assert stats["requests"]["POST /surveys/{surveyId}/export-responses"] == 4
        assert stats["max_per_minute"]["POST /surveys/{surveyId}/export-responses"] == 4
        assert stats["statuses"]["POST /surveys/{surveyId}/export-responses"] == {
            "200": 3,
            "429": 1,
        }
        assert stats["rate_limits"]["rejected"] == {"export_start": 1, "brand": 3}
        assert stats["max_total_per_minute"] >= 44
        # a configured Retry-After wins; limits can be changed and switched off at run time
        sandbox.set_rate_limits({"limits": {"brand": 1000, "export_start": 1}})
        sandbox.set_faults({"retry_after_seconds": 7})
        api.post(f"/surveys/{sid}/export-responses", json={"format": "json"})
        limited = api.post(f"/surveys/{sid}/export-responses", json={"format": "json"})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        sandbox.set_rate_limits({"enabled": False})
        assert (
            api.post(f"/surveys/{sid}/export-responses", json={"format": "json"}).status_code == 200
        )
        assert (
            requests.post(
                sandbox.url("/_sandbox/ratelimits"), json={"limits": {"nope": 1}}, timeout=10
            ).status_code
            == 400
        )
        # stats can be reset
        assert sandbox.reset_stats()["total_requests"] == 0
        api.close()


def test_default_limits_are_qualtrics_limits() -> None:
    with sandbox_for(surveys=1, responses=1, rate_limits=True) as sandbox:
        limits = requests.get(sandbox.url("/_sandbox/ratelimits"), timeout=10).json()
        assert limits["enabled"] is True
        assert limits["limits"] == {
            "brand": 3000,
            "export_start": 100,
            "export_progress": 1000,
            "export_file": 100,
            "distribution_history": 300,
        }
