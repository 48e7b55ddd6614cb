"""Fetch one survey's export straight from the sandbox, as the tap asks for it (this also warms its cache)."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import requests


def download_export(handle: Any, survey_id: str, destination: Path) -> None:
    """Export ``survey_id`` with the tap's options (ndjson, zipped, sorted) into ``destination``."""
    headers = {"X-API-TOKEN": handle.api_token}
    base = f"{handle.base_url}/API/v3/surveys/{survey_id}/export-responses"
    end = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"format": "ndjson", "compress": True, "sortByLastModifiedDate": True, "endDate": end}
    with requests.Session() as session:
        progress = session.post(base, json=body, headers=headers, timeout=600).json()["result"]
        progress_id = progress["progressId"]
        while progress.get("status") != "complete":
            if progress.get("status") == "failed":
                raise RuntimeError(f"the sandbox export of {survey_id} failed")
            time.sleep(0.2)
            progress = session.get(f"{base}/{progress_id}", headers=headers, timeout=600).json()[
                "result"
            ]
        with session.get(
            f"{base}/{progress['fileId']}/file", headers=headers, stream=True, timeout=600
        ) as r:
            r.raise_for_status()
            with destination.open("wb") as out:
                for chunk in r.iter_content(1 << 20):
                    out.write(chunk)
