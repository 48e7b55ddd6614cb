"""Secrets out of everything that leaves the tap: log lines, exception messages, failure summaries."""

from __future__ import annotations

from collections.abc import Iterable

#: shorter values (a test's "abc") would blank out ordinary words in every message
SHORTEST_SECRET = 4


class Redactor:
    """Replaces known secret values in text that leaves the tap (log lines, exception messages)."""

    def __init__(self, secrets: Iterable[object]) -> None:
        texts = {str(s) for s in secrets if s is not None and not isinstance(s, (dict, list))}
        self._secrets = sorted(
            (s for s in texts if len(s) >= SHORTEST_SECRET), key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
