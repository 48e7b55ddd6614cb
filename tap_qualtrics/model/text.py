"""Small text helpers for records: Qualtrics HTML to plain text, camelCase keys to snake_case."""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser

_BREAKING_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_WHITESPACE = re.compile(r"\s+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skipping += 1
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skipping:
            self._skipping -= 1
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str | None:
    """Visible text of a Qualtrics rich-text field, entities decoded, whitespace collapsed."""
    if html is None:
        return None
    if "<" not in html and "&" not in html:
        return _WHITESPACE.sub(" ", html).strip()
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return _WHITESPACE.sub(" ", "".join(collector.parts)).replace("\xa0", " ").strip()


@lru_cache(maxsize=1024)
def snake_case(name: str) -> str:
    """``lastModifiedDate`` -> ``last_modified_date``; ``userID`` -> ``user_id``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").replace(" ", "_").lower()
