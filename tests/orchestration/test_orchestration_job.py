"""The Dagster job, run by the module's command line, with a stand-in for the `meltano` executable that
records every call: what runs when, with which settings and system directory, what the loader is sent.
(tests/e2e/test_e2e_shards.py runs the same job with the real Meltano into PostgreSQL.)"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tap_qualtrics_orchestration.job import ShardedMeltano
from tap_qualtrics_orchestration.plan import rate_share

FAKE_MELTANO = '''#!{python}
"""A stand-in for meltano: logs each call as one JSON line; `run` writes the shard's state."""
import json, os, sys, time

log, states = os.environ["FAKE_LOG"], os.environ["FAKE_STATES"]
args = sys.argv[1:]
call = {{
    "args": args,
    "shard": json.loads(os.environ.get("TAP_QUALTRICS_SHARD") or "null"),
    "rates": json.loads(os.environ.get("TAP_QUALTRICS_RATE_LIMITS_PER_MINUTE") or "null"),
    "sys_dir": os.environ.get("MELTANO_SYS_DIR_ROOT"),
    "run_dir_linked": os.path.islink(os.path.join(os.environ["MELTANO_SYS_DIR_ROOT"], "run")),
    "database": os.environ.get("MELTANO_DATABASE_URI"),
    "catalog": (
        json.load(open(os.environ["TAP_QUALTRICS__CATALOG"]))
        if "TAP_QUALTRICS__CATALOG" in os.environ else None
    ),
    "start": time.time(),
}}
code = 0
if "--dump=catalog" in args:
    print(json.dumps(json.load(open(os.environ["FAKE_CATALOG"]))))
elif "invoke" in args:
    call["stdin"] = [json.loads(line) for line in sys.stdin]
elif args[-3:-1] == ["config", "print"]:
    print(os.environ.get("FAKE_CONFIG", "{{}}"))
elif args[-2:] == ["state", "export"]:
    print(json.dumps({{
        name: {{"completed": {{"singer_state": json.load(open(os.path.join(states, name)))}}, "partial": {{}}}}
        for name in os.listdir(states)
    }}))
elif "run" in args:
    shard = call["shard"]
    # a barrier: the run goes on once FAKE_PARALLEL runs have started, i.e. only if they run side by side
    started = os.path.join(states, "..", "started")
    os.makedirs(started, exist_ok=True)
    open(os.path.join(started, str(shard["index"])), "w").close()
    deadline = time.time() + 60
    while len(os.listdir(started)) < int(os.environ["FAKE_PARALLEL"]) and time.time() < deadline:
        time.sleep(0.02)
    call["met"] = len(os.listdir(started))
    if str(shard["index"]) in os.environ.get("FAKE_FAIL", "").split(","):
        print("tap-qualtrics Responses of 1 survey could not be synced", file=sys.stderr)
        code = 1
    else:
        suffix = args[args.index("--state-id-suffix") + 1]
        read = {{"table_version": 1000 + 10 * shard["index"] + len(os.listdir(states)),
                 "shard_count": shard["count"]}}
        state = {{"bookmarks": {{"mailing_lists": {{"last_complete_read": read}}}}}}
        with open(os.path.join(states, "dev:tap-qualtrics-to-target-postgres:" + suffix), "w") as f:
            json.dump(state, f)
call["end"] = time.time()
call["code"] = code
with open(log, "a") as f:
    f.write(json.dumps(call) + "\\n")
sys.exit(code)
'''

CATALOG = {
    "streams": [
        {
            "tap_stream_id": name,
            "stream": name,
            "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
            "metadata": [
                {"breadcrumb": [], "metadata": {"selected": True, "table-key-properties": ["id"]}}
            ],
        }
        for name in ("users", "mailing_lists")
    ]
}


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    root = tmp_path / "project"
    (root / ".meltano" / "run").mkdir(parents=True)
    (root / ".meltano" / "extractors").mkdir()
    (root / "meltano.yml").write_text("default_environment: dev\n")
    meltano = tmp_path / "meltano"
    meltano.write_text(FAKE_MELTANO.format(python=sys.executable))
    meltano.chmod(meltano.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "catalog.json").write_text(json.dumps(CATALOG))
    (tmp_path / "states").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_QUALTRICS_", "MELTANO_", "DAGSTER_"))
    }
    env.update(
        FAKE_LOG=str(tmp_path / "calls.jsonl"),
        FAKE_STATES=str(tmp_path / "states"),
        FAKE_CATALOG=str(tmp_path / "catalog.json"),
    )
    return {"root": root, "meltano": meltano, "env": env, "tmp": tmp_path}


def _orchestrate(
    project: dict[str, Any], *args: str, fail: str = "", parallel: int = 3, config: str = "{}"
) -> tuple[int, str, list]:
    """The command line on the stand-in; each `meltano run` waits until ``parallel`` runs have started."""
    log = project["tmp"] / "calls.jsonl"
    log.unlink(missing_ok=True)
    shutil.rmtree(project["tmp"] / "started", ignore_errors=True)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_qualtrics_orchestration",
            "--project",
            str(project["root"]),
            "--meltano",
            str(project["meltano"]),
            "--log-dir",
            str(project["tmp"] / "logs"),
            *args,
        ],
        env={
            **project["env"],
            "FAKE_FAIL": fail,
            "FAKE_PARALLEL": str(parallel),
            "FAKE_CONFIG": config,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return completed.returncode, completed.stdout, calls


def _runs(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((c for c in calls if "run" in c["args"]), key=lambda c: c["shard"]["index"])


def test_three_shards_run_in_parallel_between_prepare_and_activate(project: dict[str, Any]) -> None:
    # the project configures the brand's budget: the three shards share it
    configured = json.dumps({"api_token": "*****", "rate_limits_per_minute": {"brand": 2400}})
    code, stdout, calls = _orchestrate(project, "--shards", "3", config=configured)
    assert code == 0, stdout
    assert dict(line.split(maxsplit=1) for line in stdout.splitlines()) == {
        "prepare_tables": "succeeded",
        **{f"run_shard[shard_{i}]": "succeeded" for i in range(3)},
        "activate_versions": "succeeded",
    }
    runs = _runs(calls)
    assert [run["shard"] for run in runs] == [{"count": 3, "index": i} for i in range(3)]
    for index, run in enumerate(runs):
        assert run["args"] == [
            "--environment",
            "dev",
            "run",
            "--no-install",
            "--state-id-suffix",
            f"shard-{index}",
            "tap-qualtrics",
            "target-postgres",
        ]
        assert run["rates"] == rate_share({"brand": 2400}, 3)
        assert run["rates"]["brand"] == 800
        assert run["catalog"] == CATALOG  # the one the tables were prepared from: no discovery
    # in parallel: each run went on only once all three had started
    assert [run["met"] for run in runs] == [3, 3, 3]
    assert max(run["start"] for run in runs) < min(run["end"] for run in runs)
    # each Meltano command in its own system directory, without the project's run/, removed afterwards
    directories = [call["sys_dir"] for call in calls]
    assert len(set(directories)) == len(calls)
    assert not any(call["run_dir_linked"] for call in calls)
    assert not any(Path(directory).exists() for directory in directories)
    assert {call["database"] for call in calls} == {
        f"sqlite:///{project['root'] / '.meltano' / 'meltano.db'}"
    }
    # the tables first: every selected stream's SCHEMA, before any shard ran
    prepare = next(c for c in calls if c["args"][-2:] == ["invoke", "target-postgres"])
    assert [(m["type"], m["stream"]) for m in prepare["stdin"]] == [
        ("SCHEMA", "users"),
        ("SCHEMA", "mailing_lists"),
    ]
    assert prepare["end"] < min(run["start"] for run in runs)
    # and its commands one at a time: the first may create a new project's system database
    first_step = sorted(
        (c for c in calls if c["end"] <= min(run["start"] for run in runs)),
        key=lambda c: c["start"],
    )
    assert [c["args"][-2:] for c in first_step] == [
        ["print", "tap-qualtrics"],
        ["--dump=catalog", "tap-qualtrics"],
        ["invoke", "target-postgres"],
    ]
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(first_step))
    # last: the oldest complete read of the stream the shards share, once all three had one
    activate = [c for c in calls if c["args"][-2:] == ["invoke", "target-postgres"]][-1]
    assert activate["start"] > max(run["end"] for run in runs)
    versions = [
        json.loads(
            (
                project["tmp"] / "states" / f"dev:tap-qualtrics-to-target-postgres:shard-{i}"
            ).read_text()
        )["bookmarks"]["mailing_lists"]["last_complete_read"]["table_version"]
        for i in range(3)
    ]
    assert activate["stdin"] == [
        {
            "type": "SCHEMA",
            "stream": "mailing_lists",
            "schema": CATALOG["streams"][1]["schema"],
            "key_properties": ["id"],
        },
        {"type": "ACTIVATE_VERSION", "stream": "mailing_lists", "version": min(versions)},
    ]


def test_a_failed_shard_holds_back_activation_until_it_runs_again_alone(
    project: dict[str, Any],
) -> None:
    code, stdout, calls = _orchestrate(project, "--shards", "3", fail="1")
    assert code == 1
    outcomes = dict(line.split(maxsplit=1) for line in stdout.splitlines())
    assert outcomes == {
        "prepare_tables": "succeeded",
        "run_shard[shard_0]": "succeeded",
        "run_shard[shard_1]": "FAILED",
        "run_shard[shard_2]": "succeeded",
        "activate_versions": "not run (a step before it failed)",
    }
    assert [c["code"] for c in _runs(calls)] == [0, 1, 0]
    assert len([c for c in calls if c["args"][-2:] == ["invoke", "target-postgres"]]) == 1
    assert (
        (project["tmp"] / "logs" / "shard-1.log")
        .read_text()
        .startswith("tap-qualtrics Responses of 1 survey")
    )

    code, stdout, calls = _orchestrate(project, "--shards", "3", "--only", "1", parallel=1)
    assert code == 0, stdout
    assert [run["shard"] for run in _runs(calls)] == [{"count": 3, "index": 1}]
    # the states of all three shards are read (one export); the activation follows
    assert [c["args"][-2:] for c in calls if "state" in c["args"]] == [["state", "export"]]
    activate = [c for c in calls if c["args"][-2:] == ["invoke", "target-postgres"]][-1]
    assert [m["type"] for m in activate["stdin"]] == ["SCHEMA", "ACTIVATE_VERSION"]


def test_an_impossible_plan_runs_nothing(project: dict[str, Any]) -> None:
    code, stdout, calls = _orchestrate(project, "--shards", "3", "--only", "5")
    assert (code, stdout, calls) == (2, "", [])


def test_the_brands_budget_as_given_or_as_the_project_configures_it(
    project: dict[str, Any],
) -> None:
    os.environ.update(
        {k: v for k, v in project["env"].items() if k.startswith("FAKE_")}, FAKE_PARALLEL="1"
    )
    try:
        resource = ShardedMeltano(project_dir=str(project["root"]), meltano=str(project["meltano"]))
        os.environ["FAKE_CONFIG"] = json.dumps({"rate_limits_per_minute": {"export_start": 60}})
        assert resource.brand_limits() == {"export_start": 60}
        os.environ["FAKE_CONFIG"] = json.dumps({"api_token": "*****"})
        assert resource.brand_limits() == {}  # Qualtrics' limits
        given = ShardedMeltano(
            project_dir=str(project["root"]),
            meltano=str(project["meltano"]),
            rate_limits_per_minute={"brand": 600},
        )
        assert given.brand_limits() == {"brand": 600}
    finally:
        for key in ("FAKE_LOG", "FAKE_STATES", "FAKE_CATALOG", "FAKE_CONFIG", "FAKE_PARALLEL"):
            os.environ.pop(key, None)
    calls = [json.loads(line) for line in (project["tmp"] / "calls.jsonl").read_text().splitlines()]
    assert [c["args"][-3:] for c in calls] == [["config", "print", "tap-qualtrics"]] * 2
