"""Root of the test suites: the shared helpers live in the ``support`` package (tests/support/).

Test modules are imported with ``--import-mode=importlib`` and ``tests`` (plus the repository root and
``scripts``) is on ``pythonpath`` (pyproject.toml), so suites can be collected in any order and
subset, and two test modules may share a base name in different folders.
"""

import pytest

# Helpers assert too (e.g. support.directory.assert_no_side_effect_endpoint): give them pytest's messages.
pytest.register_assert_rewrite("support")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end modules first: each takes up to two minutes on one worker (make test runs test files on
    one worker per core), so starting them first keeps the other worker busy with the rest, rather than
    leaving the slowest file running alone at the end."""
    items.sort(key=lambda item: item.path.parent.name != "e2e")
