"""The wheel is what users install: it must carry the schemas and discover every stream on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STREAMS = {"surveys", "questions", "responses", "users"}


def test_wheel_ships_schemas_and_discovers(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("tap_qualtrics-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for stream in STREAMS:
        assert f"tap_qualtrics/schemas/{stream}.json" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        cwd=tmp_path,
    )
    # Run from an empty directory so nothing resolves against the source tree.
    result = subprocess.run(
        [str(env_dir / "bin" / "tap-qualtrics"), "--discover"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    catalog = json.loads(result.stdout)
    discovered = {entry["tap_stream_id"] for entry in catalog["streams"]}
    assert discovered >= STREAMS
    for entry in catalog["streams"]:
        assert entry["schema"]["properties"], entry["tap_stream_id"]
