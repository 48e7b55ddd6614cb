"""Where the stream schemas live: ``tap_qualtrics/schemas`` in a wheel, ``schemas/`` in the repo.

The top-level ``schemas/`` folder is the single source; the wheel build copies it into the package.
An editable install or a plain checkout has no packaged copy, so the repo root is the fallback.
"""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

from singer_sdk import SchemaDirectory


def schema_directory() -> Traversable | Path:
    """The directory holding ``<stream name>.json`` files."""
    packaged = importlib.resources.files("tap_qualtrics").joinpath("schemas")
    if packaged.is_dir():
        return packaged
    in_repo = Path(__file__).resolve().parent.parent / "schemas"
    if in_repo.is_dir():
        return in_repo
    msg = "tap-qualtrics cannot find its schemas (neither tap_qualtrics/schemas nor the repo's schemas/)."
    raise FileNotFoundError(msg)


SCHEMAS = SchemaDirectory(schema_directory())
