"""Deterministic Qualtrics-style identifiers drawn from a ``random.Random``.

Most Qualtrics IDs are a prefix plus 15 alphanumeric characters (``SV_3gbwq8aJgqPwQDP``,
``R_240YEnuWbbwZOy1``, ``UR_8wfG5qsMxuh0Jrn``); export files are a UUID with ``-def``.
"""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits

PREFIXES = (
    "SV",
    "UR",
    "R",
    "BL",
    "ES",
    "POOL",
    "CID",
    "CG",
    "EMD",
    "FS",
    "RS",
    "UT",
    "GR",
    "DV",
    "MLRP",
    "SMS",
)


def alnum(rng: random.Random, n: int = 15) -> str:
    return "".join(rng.choices(ALNUM, k=n))


def make_id(rng: random.Random, prefix: str, n: int = 15) -> str:
    """``<prefix>_`` + ``n`` alphanumeric characters."""
    return f"{prefix}_{alnum(rng, n)}"


def uuid4(rng: random.Random) -> str:
    """A version-4 style UUID string drawn from ``rng`` (deterministic, unlike uuid.uuid4)."""
    h = f"{rng.getrandbits(128):032x}"
    h = h[:12] + "4" + h[13:16] + "89ab"[int(h[16], 16) & 3] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def file_id(rng: random.Random) -> str:
    """An export file id: a UUID with the ``-def`` suffix."""
    return uuid4(rng) + "-def"


class IdFactory:
    """Draws IDs from one ``random.Random`` and guarantees uniqueness within the factory."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self, prefix: str, n: int = 15) -> str:
        while True:
            value = make_id(self.rng, prefix, n)
            if value not in self.seen:
                self.seen.add(value)
                return value

    def uuid(self) -> str:
        while True:
            value = uuid4(self.rng)
            if value not in self.seen:
                self.seen.add(value)
                return value

    def __call__(self, prefix: str, n: int = 15) -> str:
        return self.new(prefix, n)

    # convenience names
    def survey(self) -> str:
        return self.new("SV")

    def user(self) -> str:
        return self.new("UR")

    def response(self) -> str:
        return self.new("R")

    def block(self) -> str:
        return self.new("BL")
