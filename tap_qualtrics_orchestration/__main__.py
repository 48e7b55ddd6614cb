"""``python -m tap_qualtrics_orchestration --shards 3``: the Dagster job ``qualtrics_shards`` on this machine.

The steps run in parallel on Dagster's multiprocess executor. With ``DAGSTER_HOME`` set the run is recorded
in that Dagster instance (``dagster dev`` shows it, and can re-execute its failed steps); without it, in a
temporary one. Dagster's log and each step's Meltano log go to stderr (and each Meltano log to a file, see
``--log-dir``); one line per step on stdout says how it ended. Exit code 0 when every step succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, execute_job, reconstructable

from tap_qualtrics_orchestration.job import qualtrics_shards
from tap_qualtrics_orchestration.plan import plan


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tap_qualtrics_orchestration",
        description="Run one Qualtrics account as parallel meltano run shards (docs/shards.md).",
    )
    parser.add_argument(
        "--shards", type=int, required=True, help="how many shards split the account"
    )
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        default=[],
        metavar="INDEX",
        help="run only this shard (repeatable), e.g. one that failed; the table versions are then activated",
    )
    parser.add_argument("--project", default=".", help="the Meltano project directory (default: .)")
    parser.add_argument("--meltano", default="meltano", help="the meltano executable")
    parser.add_argument("--environment", help="Meltano environment (default: the project's)")
    parser.add_argument("--env-file", help="Meltano's --env-file (default: the project's .env)")
    parser.add_argument(
        "--rate-limits",
        type=json.loads,
        metavar="JSON",
        help=(
            "the brand's requests per minute, e.g. '{\"brand\": 2000}' (default: the extractor's "
            "rate_limits_per_minute as configured); each shard gets an equal share"
        ),
    )
    parser.add_argument(
        "--log-dir", help="where each step's Meltano log goes (default: <project>/output/shards)"
    )
    parser.add_argument(
        "--max-concurrent", type=int, help="steps at once (default: the number of shards)"
    )
    return parser.parse_args(argv)


def run_config(args: argparse.Namespace) -> dict[str, Any]:
    resource = {
        "project_dir": str(Path(args.project).resolve()),
        "meltano": args.meltano,
        "environment": args.environment,
        "env_file": args.env_file,
        "shards": args.shards,
        "rate_limits_per_minute": args.rate_limits,
        "log_dir": args.log_dir,
    }
    return {
        "resources": {"meltano": {"config": {k: v for k, v in resource.items() if v is not None}}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
        "ops": {"prepare_tables": {"config": {"only": args.only}}},
        "execution": {
            "config": {
                "multiprocess": {
                    "max_concurrent": args.max_concurrent or args.shards,
                    # steps start from a process that has imported the job once, not each from scratch
                    "start_method": {
                        "forkserver": {"preload_modules": [qualtrics_shards.__module__]}
                    },
                }
            }
        },
    }


@contextmanager
def dagster_instance() -> Iterator[DagsterInstance]:
    """``DAGSTER_HOME``'s instance, or a temporary one (the multiprocess executor needs one on disk)."""
    if os.environ.get("DAGSTER_HOME"):
        with DagsterInstance.get() as instance:
            yield instance
        return
    with (
        tempfile.TemporaryDirectory(prefix="dagster-") as home,
        DagsterInstance.local_temp(tempdir=home) as instance,
    ):
        yield instance


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan(args.shards, args.only)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    with dagster_instance() as instance:
        result = execute_job(
            reconstructable(qualtrics_shards), instance=instance, run_config=run_config(args)
        )
        outcomes: dict[str, str] = {}
        for event in result.all_events:
            if event.step_key is None:
                continue
            if event.is_step_success:
                outcomes[event.step_key] = "succeeded"
            elif event.is_step_failure:
                outcomes[event.step_key] = "FAILED"
            elif event.is_step_skipped:
                outcomes[event.step_key] = "not run (a step before it failed)"
        for node in qualtrics_shards.graph.node_names():  # a step after a failed one never starts
            if not any(step.split("[")[0] == node for step in outcomes):
                outcomes[node] = "not run (a step before it failed)"
        for step, outcome in outcomes.items():
            print(f"{step:<28} {outcome}")
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
