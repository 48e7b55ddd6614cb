"""Fixtures of the answer-model tests: one small deterministic sandbox account, its column maps."""

from __future__ import annotations

from typing import Any

import pytest

from qualtrics_sandbox.data import build_account
from tap_qualtrics.model.answers import ColumnMap, build_column_map


@pytest.fixture(scope="session")
def account() -> Any:
    """Surveys 0 and 1 contain every question type (1 is the large one); 5 surveys, 40 responses each."""
    return build_account(seed=3, surveys=5, responses=40, users=5)


@pytest.fixture(scope="session")
def surveys(account: Any) -> list[Any]:
    return list(account.surveys.values())


@pytest.fixture(scope="session")
def column_maps(surveys: list[Any]) -> dict[str, ColumnMap]:
    return {s.id: build_column_map(s.id, s.legacy(), s.definition()) for s in surveys}


@pytest.fixture(scope="session")
def rendered(surveys: list[Any]) -> dict[str, list[dict]]:
    """Every response of every survey, as a JSON export sorted by last-modified date renders it."""
    out: dict[str, list[dict]] = {}
    for s in surveys:
        out[s.id] = []
        for rec in s.responses.values():
            r = s.render(rec)
            r["values"] = {
                **r["values"],
                "LastModifiedDate": rec.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            out[s.id].append(r)
    return out
