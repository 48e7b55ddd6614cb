"""The README's settings table is generated from `--about`; this keeps the two from drifting apart."""

from __future__ import annotations

import readme_settings  # scripts/readme_settings.py: scripts is on the tests' pythonpath


def test_readme_settings_table_matches_about() -> None:
    readme = readme_settings.README.read_text()
    assert (
        readme_settings.readme_settings_table(readme) == readme_settings.about_settings_table()
    ), "README settings table is stale: run `python scripts/readme_settings.py`"
