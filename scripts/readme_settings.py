"""Keep the README settings table equal to `tap-qualtrics --about --format=markdown`.

Run `python scripts/readme_settings.py` after changing a setting; tests/test_readme.py fails until you do.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def about_settings_table() -> str:
    """The settings table exactly as the tap prints it."""
    tap = Path(sys.executable).with_name("tap-qualtrics")
    about = subprocess.run(
        [str(tap), "--about", "--format=markdown"], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"^## Settings\n\n(.*?)(?:\n## |\Z)", about, flags=re.DOTALL | re.MULTILINE)
    if match is None:
        raise SystemExit("tap-qualtrics --about printed no settings table")
    return match.group(1).strip()


def readme_settings_table(text: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip()


def main() -> None:
    text = README.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:start] + "\n" + about_settings_table() + "\n" + text[end:])
    print(f"updated the settings table in {README}")


if __name__ == "__main__":
    main()
