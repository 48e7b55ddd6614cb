"""Fetch one survey's export straight from the sandbox, as the tap asks for it (this also warms its cache)."""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests


def download_export(handle: Any, survey_id: str, destination: Path) -> None:
    """Export ``survey_id`` with the tap's options (ndjson, zipped, sorted) into ``destination``."""
    end = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"format": "ndjson", "compress": True, "sortByLastModifiedDate": True, "endDate": end}
    with requests.Session() as session:
        file_url = prepare_export(handle, survey_id, body, session)
        with session.get(file_url, headers=_headers(handle), stream=True, timeout=600) as r:
            r.raise_for_status()
            with destination.open("wb") as out:
                for chunk in r.iter_content(1 << 20):
                    out.write(chunk)


def prepare_export(
    handle: Any, survey_id: str, body: Mapping[str, Any], session: requests.Session | None = None
) -> str:
    """Start an export and wait until its file is ready (the sandbox then reuses it for the same request);
    returns the file's URL."""
    base = f"{handle.base_url}/API/v3/surveys/{survey_id}/export-responses"
    with requests.Session() if session is None else contextlib.nullcontext(session) as s:
        progress = s.post(base, json=dict(body), headers=_headers(handle), timeout=600).json()
        progress = progress["result"]
        progress_id = progress["progressId"]
        while progress.get("status") != "complete":
            if progress.get("status") == "failed":
                raise RuntimeError(f"the sandbox export of {survey_id} failed")
            time.sleep(0.2)
            progress = s.get(f"{base}/{progress_id}", headers=_headers(handle), timeout=600).json()[
                "result"
            ]
    return f"{base}/{progress['fileId']}/file"


def _headers(handle: Any) -> dict[str, str]:
    return {"X-API-TOKEN": handle.api_token}
