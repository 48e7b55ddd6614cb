"""Fixtures for the sandbox's HTTP tests (tests/sandbox/test_http_*.py); helpers in support.sandbox_api."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.sandbox_api import Api, sandbox_for


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """A small read-mostly sandbox shared by a test module."""
    with sandbox_for() as sb:
        yield sb


@pytest.fixture
def api(sandbox: Any) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.close()


@pytest.fixture
def fresh() -> Iterator[Any]:
    """A sandbox of its own, for tests that mutate data or change knobs."""
    with sandbox_for() as sb:
        yield sb
