"""The README stays a five-minute front page: its settings table is generated from `--about` (so the two never
drift apart), it is under 200 lines, and every relative link of it and of docs/ reaches an existing file and
heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import readme_settings  # scripts/readme_settings.py: scripts is on the tests' pythonpath

REPO = readme_settings.README.parent
PAGES = [readme_settings.README, *sorted((REPO / "docs").glob("*.md"))]
#: [text](target) outside code; targets with a scheme (https:, mailto:) are not relative.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def test_readme_settings_table_matches_about() -> None:
    readme = readme_settings.README.read_text()
    assert (
        readme_settings.readme_settings_table(readme) == readme_settings.about_settings_table()
    ), "README settings table is stale: run `python scripts/readme_settings.py`"


def test_readme_is_under_200_lines() -> None:
    lines = len(readme_settings.README.read_text().splitlines())
    assert lines < 200, f"README.md has {lines} lines: move detail into a docs/ page"


def _without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def _without_code(text: str) -> str:
    """The page without fenced code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", _without_fences(text))


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", _without_fences(page.read_text()), flags=re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings
    }


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(REPO)) for page in PAGES])
def test_relative_links_reach_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in LINK.findall(_without_code(page.read_text())):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)
