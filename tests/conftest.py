"""Root of the test suites: the shared helpers live in the ``support`` package (tests/support/).

Test modules are imported with ``--import-mode=importlib`` and ``tests`` (plus the repository root and
``scripts``) is on ``pythonpath`` (pyproject.toml), so suites can be collected in any order and
subset, and two test modules may share a base name in different folders.
"""

import pytest

# Helpers assert too (e.g. support.directory.assert_no_side_effect_endpoint): give them pytest's messages.
pytest.register_assert_rewrite("support")
