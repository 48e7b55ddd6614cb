"""`make demo`: the real pipeline on your machine, with no Qualtrics account and no database server.

1. Installs Meltano (its own venv, .meltano-venv/) and the project's plugins (.meltano/), once.
2. Starts qualtrics-sandbox, a local fake of the Qualtrics v3 API, inside this process.
3. Runs `meltano run tap-qualtrics target-duckdb` against it, printing the tap's progress as it goes.
4. Prints what landed in the DuckDB file: row counts, a sample of every table, each survey with its response
   count and one question's answer distribution.
5. Changes some responses in the sandbox and runs again from Meltano's saved state, to show the incremental
   run updating edited rows in place and adding new ones.

Everything lands in demo-output/ (the database, Meltano's state and job log, the full log).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import meltano_setup

try:
    import duckdb
except ImportError:  # an extra (test): main says how to install it
    duckdb = None

OUT = meltano_setup.ROOT / "demo-output"
DATABASE = OUT / "warehouse.duckdb"
LOG = OUT / "meltano.log"
SCHEMA = "qualtrics"
PIPELINE = ["run", "tap-qualtrics", "target-duckdb"]
SANDBOX = {"seed": 7, "surveys": 8, "responses": 60, "users": 40, "export_polls": 1}

_LOG_LINE = re.compile(
    r"^\S+T(?P<time>\d\d:\d\d:\d\d)\S*\s+\[(?P<level>\w+)\s*\]\s+(?P<who>\S+)\s+(?P<msg>.*)$"
)
#: SDK lines that repeat per partition or say nothing to a person watching; the full log keeps them.
_QUIET = (
    "METRIC",
    "Skipping parse of env var settings",
    "Added '",
    "Starting incremental sync of",
    "Stream is assumed to be unsorted",
)
_streams_begun: set[str] = set()


def main() -> int:
    started = time.monotonic()
    if duckdb is None:  # fail early with a clear sentence
        print(
            "The demo reads the DuckDB file with the duckdb package, which .venv lacks: reinstall .venv "
            "with `.venv/bin/pip install -e '.[sandbox,test]'` (or delete .venv and run `make demo`)."
        )
        return 1
    meltano_setup.ensure_installed()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()

    # werkzeug (the sandbox extra) is imported only after the check above could explain a missing extra
    from qualtrics_sandbox import running_sandbox  # noqa: PLC0415 - optional extra, checked first

    print("\nStarting qualtrics-sandbox (a local fake of the Qualtrics v3 API) ...")
    with running_sandbox(**SANDBOX) as sandbox:
        print(f"  serving {len(sandbox.truth()['surveys'])} surveys at {sandbox.base_url}")
        env = {
            "TAP_QUALTRICS_BASE_URL": sandbox.base_url,
            "TAP_QUALTRICS_API_TOKEN": sandbox.api_token,
            "TAP_QUALTRICS_START_DATE": "2015-01-01T00:00:00Z",
            # The sandbox answers at once; in production keep the defaults (polls every 2 s, 60 s safety lag).
            "TAP_QUALTRICS_EXPORT_POLL_INTERVAL_SECONDS": "0",
            "TAP_QUALTRICS_EXPORT_SAFETY_LAG_SECONDS": "0",
            "TARGET_DUCKDB_FILEPATH": str(DATABASE),
            "MELTANO_STATE_BACKEND_URI": (OUT / "state").as_uri(),
            "MELTANO_DATABASE_URI": f"sqlite:///{OUT / 'meltano.db'}",
        }

        print(f"\n1) meltano {' '.join(PIPELINE)}   (full log: {_shown(LOG)})")
        _streams_begun.clear()
        if not _run(env):
            return 1
        counts = print_summary()

        changed = max(
            sandbox.truth()["surveys"].items(), key=lambda item: len(item[1]["responses"])
        )[0]
        change = sandbox.mutate({"survey_id": changed, "add": 3, "edit": 2})
        print(
            f"\n2) In the sandbox, survey {changed} got {len(change['added'])} new responses and "
            f"{len(change['edited'])} edited ones. Running again; Meltano hands the tap its saved state:"
        )
        before = _modified(changed, change["edited"])
        _streams_begun.clear()
        if not _run(env):
            return 1
        ok = print_incremental(counts, changed, change, before)

    empty = [table for table, count in counts.items() if count == 0]
    print(f"\nDone in {time.monotonic() - started:.0f} s. The database is {DATABASE}")
    print("Explore it, for example:")
    print(
        f"  .venv/bin/python -c \"import duckdb; db = duckdb.connect('{_shown(DATABASE)}', read_only=True); "
        f"db.sql('SELECT survey_id, response_id, recorded_date FROM {SCHEMA}.responses LIMIT 5').show()\""
    )
    if empty:
        print(f"\nERROR: these tables are empty: {', '.join(empty)}", file=sys.stderr)
    return 0 if ok and not empty else 1


def _run(env: dict[str, str]) -> bool:
    """One `meltano run`, showing the tap's progress (not its metrics) and the target's loads."""
    started = time.monotonic()
    code = meltano_setup.stream_meltano(PIPELINE, env, _show_progress, LOG)
    if code != 0:
        print(f"\nmeltano run failed (exit {code}); the end of its log:", file=sys.stderr)
        print("".join(LOG.read_text().splitlines(keepends=True)[-40:]), file=sys.stderr)
        return False
    print(f"   finished in {time.monotonic() - started:.1f} s")
    return True


def _show_progress(line: str) -> None:
    """The tap's own progress (each survey's export, each stream once), warnings and errors."""
    match = _LOG_LINE.match(line)
    if match is None:
        return
    who, level, message = match["who"], match["level"], match["msg"].strip()
    if level not in {"warning", "error", "critical"} or message.startswith(_QUIET):
        if who != "tap-qualtrics" or message.startswith(_QUIET):
            return
        if message.startswith("Beginning sync of "):
            stream = message.split("'")[1] if "'" in message else message
            if stream in _streams_begun:
                return
            _streams_begun.add(stream)
    print(f"   {match['time']} {who:<14} {message[:150]}", flush=True)


def _connect() -> Any:
    return duckdb.connect(str(DATABASE), read_only=True)


def print_summary() -> dict[str, int]:
    """Row counts and a readable sample of every table; returns the counts."""
    with _connect() as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
                [SCHEMA],
            ).fetchall()
        ]
        counts = {
            table: db.execute(f'SELECT count(*) FROM {SCHEMA}."{table}"').fetchone()[0]
            for table in tables
        }
        print(f"\n   Tables in {_shown(DATABASE)} (schema {SCHEMA}):")
        for table in tables:
            print(f"     {table:<28} {counts[table]:>7} rows")
        if "surveys" in counts:
            _print_surveys(db)
        if {"questions", "responses"} <= counts.keys():
            _print_answer_distribution(db)
        for table in tables:
            if table != "surveys":
                _print_sample(db, table)
    return counts


def _print_surveys(db: Any) -> None:
    rows = db.execute(
        f"""SELECT s.survey_id, s.name, s.is_active, count(r.response_id)
            FROM {SCHEMA}.surveys s LEFT JOIN {SCHEMA}.responses r USING (survey_id)
            GROUP BY ALL ORDER BY s.survey_id"""
    ).fetchall()
    print("\n   Surveys and their responses:")
    for survey_id, name, active, responses in rows:
        state = "active  " if active else "inactive"
        print(f"     {survey_id}  {state} {responses:>5} responses  {_short(name, 50)}")


def _print_answer_distribution(db: Any) -> None:
    """One single-choice question of the busiest survey, with how often each answer was given."""
    question = db.execute(
        f"""SELECT q.survey_id, q.question_id, q.question_text
            FROM {SCHEMA}.questions q
            JOIN (SELECT survey_id, count(*) AS n FROM {SCHEMA}.responses GROUP BY ALL) r USING (survey_id)
            WHERE q.type = 'MC' AND q.selector = 'SAVR' AND NOT coalesce(q.is_trashed, false)
            ORDER BY r.n DESC, q.position, q.question_id LIMIT 1"""
    ).fetchone()
    if question is None:
        return
    survey_id, question_id, text = question
    path = f'$."{question_id}"'
    rows = db.execute(
        f"""SELECT coalesce(json_extract_string(labels, ?), '(not answered)') AS answer, count(*) AS n
            FROM {SCHEMA}.responses WHERE survey_id = ? GROUP BY ALL ORDER BY n DESC, answer""",
        [path, survey_id],
    ).fetchall()
    print(f'\n   Answers to {survey_id} / {question_id} "{_short(text, 70)}":')
    widest = max(count for _, count in rows)
    for answer, count in rows:
        print(f"     {count:>5}  {'#' * max(1, round(30 * count / widest)):<30}  {answer}")


def _print_sample(db: Any, table: str) -> None:
    """Up to three rows: the primary key, then a few short columns (names and texts first)."""
    keys = next(
        iter(
            db.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
                [SCHEMA, table],
            ).fetchone()
            or []
        ),
        [],
    )
    columns = [
        name
        for name, kind in db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [SCHEMA, table],
        ).fetchall()
        if name not in keys
        and not name.startswith("_sdc_")
        and kind in {"VARCHAR", "BOOLEAN", "HUGEINT"}
        and not name.endswith(("_id", "_html"))
    ]
    columns.sort(
        key=lambda name: 0 if "name" in name or "text" in name else 1 if "type" in name else 2
    )
    readable = list(keys) + columns[:3]
    if not readable:
        return
    quoted = ", ".join(f'"{c}"' for c in readable)
    rows = db.execute(f'SELECT {quoted} FROM {SCHEMA}."{table}" ORDER BY ALL LIMIT 3').fetchall()
    print(f"\n   {table} (sample):")
    for row in rows:
        print(
            "     "
            + "  ".join(f"{c}={_short(v, 40)!s}" for c, v in zip(readable, row, strict=True))
        )


def _modified(survey_id: str, response_ids: list[str]) -> dict[str, Any]:
    with _connect() as db:
        return dict(
            db.execute(
                f"SELECT response_id, last_modified_date FROM {SCHEMA}.responses "
                "WHERE survey_id = ? AND list_contains(?, response_id)",
                [survey_id, response_ids],
            ).fetchall()
        )


def print_incremental(
    counts: dict[str, int], survey_id: str, change: dict[str, Any], before: dict
) -> bool:
    """What the second run changed; False if it did not do what it should."""
    with _connect() as db:
        responses = db.execute(f"SELECT count(*) FROM {SCHEMA}.responses").fetchone()[0]
    after = _modified(survey_id, change["edited"] + change["added"])
    print(f"\n   responses: {counts.get('responses', 0)} rows before, {responses} rows now")
    ok = responses == counts.get("responses", 0) + len(change["added"])
    for response_id in change["edited"]:
        old, new = before.get(response_id), after.get(response_id)
        print(f"     edited {response_id}: last_modified_date {old} -> {new} (updated in place)")
        ok = ok and old is not None and new is not None and new > old
    found = sum(1 for response_id in change["added"] if response_id in after)
    print(f"     new responses loaded: {found} of {len(change['added'])}")
    ok = ok and found == len(change["added"])
    if not ok:
        print(
            "ERROR: the incremental run did not pick up the changes exactly once", file=sys.stderr
        )
    return ok


def _short(value: Any, width: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
