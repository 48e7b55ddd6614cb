"""Sandboxes for the sandbox's own HTTP tests (tests/sandbox/test_http_*.py) and a tiny API client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

__all__ = ["Api", "sandbox_for"]


def _build_account(**kwargs: Any) -> Any:
    from qualtrics_sandbox.data import build_account

    return build_account(**kwargs)


@contextmanager
def sandbox_for(
    seed: int = 1,
    surveys: int = 4,
    responses: int = 30,
    large_responses: int | None = None,
    users: int | None = None,
    now: Any = None,
    **knobs: Any,
) -> Iterator[Any]:
    from qualtrics_sandbox.server import running_sandbox

    account_kwargs: dict[str, Any] = {
        "seed": seed,
        "surveys": surveys,
        "responses": responses,
        "large_responses": large_responses,
    }
    if users is not None:
        account_kwargs["users"] = users
    if now is not None:
        account_kwargs["now"] = now
    account = _build_account(**account_kwargs)
    with running_sandbox(seed=seed, account=account, **knobs) as sandbox:
        yield sandbox


class Api:
    """A tiny client: plain ``requests`` with the sandbox's API token."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["X-API-TOKEN"] = sandbox.api_token

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.sandbox.url("/API/v3" + path)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.session.post(self.url(path), timeout=30, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.session.put(self.url(path), timeout=30, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30, **kw)

    def walk(self, path: str, **params: Any) -> list[Any]:
        """Follow nextPage to the end; returns every element."""
        out: list[Any] = []
        response = self.get(path, params=params or None)
        while True:
            assert response.status_code == 200, response.text
            result = response.json()["result"]
            out.extend(result["elements"])
            if result["nextPage"] is None:
                return out
            response = self.get(result["nextPage"])

    def export(
        self, sid: str, max_polls: int = 50, **options: Any
    ) -> tuple[dict[str, Any], requests.Response | None]:
        """Start an export, poll it to the end; returns the final progress result and the file
        response."""
        start = self.post(f"/surveys/{sid}/export-responses", json=options)
        assert start.status_code == 200, start.text
        pid = start.json()["result"]["progressId"]
        for _ in range(max_polls):
            progress = self.get(f"/surveys/{sid}/export-responses/{pid}")
            assert progress.status_code == 200, progress.text
            result = progress.json()["result"]
            if result["status"] != "inProgress":
                break
        else:  # pragma: no cover
            raise AssertionError("export never finished")
        if result["status"] != "complete":
            return result, None
        return result, self.get(f"/surveys/{sid}/export-responses/{result['fileId']}/file")

    def close(self) -> None:
        self.session.close()
