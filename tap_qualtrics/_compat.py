"""``typing.override`` exists from Python 3.12; singer-sdk brings ``typing_extensions`` for older ones."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = ["override"]
