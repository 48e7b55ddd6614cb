"""The benchmark scenarios and the report (a plain-text table, then one JSON line for machines)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.account_scale import account_scale
from bench.account_scale import table as account_scale_table
from bench.deletions import deletions
from bench.floor import measure_csv_floor, measure_floor
from bench.peers import (
    CSV_EXPORT,
    PEERS_INSTALL,
    baseline_tap,
    qualtricsapi,
    qualtricsapi_installed,
)
from bench.sandbox_export import download_export
from bench.subsets import subsets
from bench.taprun import available_streams, one_survey, run_tap, selected_catalog
from qualtrics_sandbox.server import running_sandbox

SEED = 5
NO_EXPORT_CAP = 1 << 40


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--responses", type=int, default=200_000, help="large survey size (default 200000)"
    )
    parser.add_argument(
        "--small-responses", type=int, default=20_000, help="memory baseline size (20000)"
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=100,
        help="questions per survey (default 100; the 200k survey's export then exceeds Qualtrics' 1.8 GB "
        "cap, which the benchmark lifts in the sandbox)",
    )
    parser.add_argument(
        "--surveys", type=int, default=100, help="surveys in the concurrency run (100)"
    )
    parser.add_argument(
        "--export-seconds", type=float, default=2.0, help="sandbox export time (2 s)"
    )
    parser.add_argument(
        "--sequential-surveys",
        type=int,
        default=5,
        help="surveys timed with max_concurrent_exports=1 (5)",
    )
    parser.add_argument(
        "--answers-responses", type=int, default=20_000, help="response_answers run size"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[
            "throughput",
            "memory",
            "concurrency",
            "answers",
            "deletions",
            "subsets",
            "account_scale",
        ],
        help="run only these scenarios (repeatable)",
    )
    parser.add_argument(
        "--baseline-repo",
        type=Path,
        help="throughput, answers: also run the tap of this checkout on the same survey (before/after a "
        "change, same run)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help=(
            "throughput: also export the same survey with the QualtricsAPI library "
            f"({PEERS_INSTALL}), and time the least a tap could do with its CSV (values only)"
        ),
    )
    parser.add_argument(
        "--deletion-questions",
        type=int,
        default=10,
        help="questions per survey in the deletions run (10; the check exports no answers)",
    )
    parser.add_argument(
        "--wide-questions",
        type=int,
        default=300,
        help="questions of the wide survey in the subsets run (300; 20 of them exported)",
    )
    parser.add_argument(
        "--wide-responses", type=int, default=5000, help="responses of that survey (5000)"
    )
    parser.add_argument(
        "--account-surveys",
        type=int,
        default=2000,
        help="surveys in the account_scale run (2000: most of about 10 responses, a few large, a fifth inactive)",
    )
    parser.add_argument(
        "--account-scale",
        type=float,
        default=10.0,
        help="account_scale time compression: the sandbox's rate clock and the tap's clock run this many "
        "times faster, export jobs and latency are this many times shorter (10; unscaled time = wall x 10)",
    )
    parser.add_argument(
        "--account-latency-ms",
        type=float,
        default=50.0,
        help="account_scale per-request latency at real speed (50 ms; divided by the scale)",
    )
    parser.add_argument(
        "--account-export-seconds",
        type=float,
        default=5.0,
        help="account_scale export job time at real speed (5 s; divided by the scale)",
    )
    parser.add_argument(
        "--account-steady-runs",
        type=int,
        default=1,
        help="account_scale: runs with nothing changed after the first sync (1; 4 shows quiet surveys "
        "skipping, from the 4th on with the default quiet_after_empty_exports of 3)",
    )
    parser.add_argument(
        "--account-no-changes",
        action="store_true",
        help="account_scale: skip the third run (after a few surveys changed)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep tap outputs here (default: a temporary directory)"
    )
    return parser


def _config(handle: Any, **extra: Any) -> dict[str, Any]:
    return {
        "api_token": handle.api_token,
        "base_url": handle.base_url,
        "export_safety_lag_seconds": 0,
        **extra,
    }


def _truth_ids(handle: Any) -> dict[str, set[str]]:
    return {sid: set(s["responses"]) for sid, s in handle.truth()["surveys"].items()}


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f} on {os.cpu_count()} cores"


def throughput(
    responses: int,
    questions: int,
    workdir: Path,
    label: str,
    *,
    baseline: Path | None = None,
    peers: bool = False,
) -> dict[str, Any]:
    """The tap and the floor on the same single-survey export, in the same run (and, on the same survey,
    the tap of the ``baseline`` checkout and QualtricsAPI when asked)."""
    # one_survey: the export (already generated for the floor) is ready at once, so the tap's time is its
    # own (start, download, parse, emit); and uncapped: 200k responses of 100 questions exceed Qualtrics'
    # 1.8 GB export cap, which the sandbox enforces as Qualtrics does, and the bench times one export.
    with one_survey(SEED, responses, questions, NO_EXPORT_CAP) as (handle, config):
        truth = _truth_ids(handle)
        (survey_id,) = truth
        export_zip = workdir / f"{label}-export.zip"
        download_export(
            handle, survey_id, export_zip
        )  # the floor's input; also warms the sandbox's cache
        floor_before, floor_cpu, floor_count = measure_floor(export_zip)
        load_before = _load()
        catalog = selected_catalog(config, ["responses"])
        result = run_tap(config, catalog, workdir, label)
        reused = handle.stats().get("exports", {}).get("export_files_reused")
        compared: dict[str, Any] = {}
        if baseline is not None:
            before = baseline_tap(baseline, config, catalog, workdir)
            if before.returncode != 0:
                raise SystemExit(f"the baseline tap failed:\n{before.stderr_tail}")
            compared["baseline"] = {
                "repo": str(baseline),
                "seconds": round(before.wall_seconds, 2),
                "cpu_seconds": round(before.cpu_seconds, 2),
                "peak_rss_mb": round(before.peak_rss_mb, 1),
                "responses": before.count_lines("responses"),
            }
        if peers:
            compared["qualtricsapi"] = qualtricsapi(handle, survey_id, workdir)
            csv_seconds, csv_cpu, csv_count = measure_csv_floor(workdir / CSV_EXPORT)
            compared["csv_floor"] = {
                "seconds": round(csv_seconds, 2),
                "cpu_seconds": round(csv_cpu, 2),
                "responses": csv_count,
                "over_qualtricsapi": round(csv_seconds / compared["qualtricsapi"]["seconds"], 2),
            }
    # The floor again after the tap: the two bracket the tap run on a machine whose load changes.
    floor_after, floor_cpu_after, _ = measure_floor(export_zip)
    floor_seconds = (floor_before + floor_after) / 2
    floor_cpu = (floor_cpu + floor_cpu_after) / 2
    if result.returncode != 0:
        raise SystemExit(f"the tap failed ({label}):\n{result.stderr_tail}")
    ids = result.record_ids("responses", "response_id")
    exact = len(ids) == len(set(ids)) and set(ids) == truth[survey_id]
    for other in compared.values():  # each against the floor, and the tap against each
        other["ratio"] = round(other["seconds"] / floor_seconds, 2)
        other["tap_over_this"] = round(result.wall_seconds / other["seconds"], 2)
    return {
        **compared,
        "responses": len(ids),
        "floor_responses": floor_count,
        "export_mb": round(export_zip.stat().st_size / 1e6, 1),
        "tap_seconds": round(result.wall_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "tap_per_second": round(len(ids) / result.wall_seconds),
        "floor_per_second": round(floor_count / floor_seconds),
        "ratio": round(result.wall_seconds / floor_seconds, 2),
        "floor_seconds_before_after": [round(floor_before, 2), round(floor_after, 2)],
        "tap_cpu_seconds": round(result.cpu_seconds, 2),
        "floor_cpu_seconds": round(floor_cpu, 2),
        "cpu_ratio": round(result.cpu_seconds / floor_cpu, 2),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "exact_ids": exact,
        "sandbox_cache_reused": reused,
        "load": load_before,
    }


def concurrency(
    surveys: int, export_seconds: float, sequential_surveys: int, workdir: Path
) -> dict[str, Any]:
    """Many small surveys whose exports each take ``export_seconds``: concurrent, and one at a time."""
    with running_sandbox(
        seed=SEED, surveys=surveys, responses=5, questions=5, users=2, export_seconds=export_seconds
    ) as handle:
        truth = _truth_ids(handle)
        config = _config(handle)
        catalog = selected_catalog(config, ["responses"])
        listed = [s["id"] for s in _list_surveys(handle)]
        concurrent = run_tap(config, catalog, workdir, "concurrent")
        order = [] if concurrent.returncode else concurrent.record_ids("responses", "survey_id")
        ids = [] if concurrent.returncode else concurrent.record_ids("responses", "response_id")
        first = listed[:sequential_surveys]
        sequential = run_tap(
            {**config, "max_concurrent_exports": 1, "survey_ids": first},
            catalog,
            workdir,
            "sequential",
        )
    if concurrent.returncode or sequential.returncode:
        raise SystemExit(f"the tap failed:\n{concurrent.stderr_tail}\n{sequential.stderr_tail}")
    expected = set().union(*truth.values())
    survey_order = list(dict.fromkeys(order))
    per_survey = sequential.wall_seconds / sequential_surveys
    return {
        "surveys": surveys,
        "export_seconds": export_seconds,
        "concurrent_seconds": round(concurrent.wall_seconds, 2),
        "sequential_surveys_measured": sequential_surveys,
        "sequential_seconds_measured": round(sequential.wall_seconds, 2),
        "sequential_seconds_extrapolated": round(per_survey * surveys, 1),
        "exact_ids": len(ids) == len(set(ids)) and set(ids) == expected,
        "survey_order_kept": survey_order == [s for s in listed if truth.get(s)],
        "grouped_by_survey": len(survey_order) == len([k for k, _ in _runs(order)]),
        "load": _load(),
    }


def _runs(values: list[str]) -> list[tuple[str, int]]:
    runs: list[tuple[str, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


def _list_surveys(handle: Any) -> list[dict[str, Any]]:
    url: str | None = f"{handle.base_url}/API/v3/surveys"
    elements: list[dict[str, Any]] = []
    while url:
        result = requests.get(url, headers={"X-API-TOKEN": handle.api_token}, timeout=60).json()[
            "result"
        ]
        elements += result["elements"]
        url = result.get("nextPage")
    return elements


def answers(
    responses: int, questions: int, workdir: Path, *, baseline: Path | None = None
) -> dict[str, Any] | None:
    """``response_answers`` (with ``responses``) on one survey, when the tap has that stream (and the tap of
    the ``baseline`` checkout on the same survey, when asked). The export is made beforehand, so the time is
    the tap's own."""
    with one_survey(SEED, responses, questions, NO_EXPORT_CAP) as (handle, config):
        if "response_answers" not in available_streams(config):
            return None
        truth = _truth_ids(handle)
        (survey_id,) = truth
        download_export(handle, survey_id, workdir / "answers-export.zip")
        catalog = selected_catalog(config, ["responses", "response_answers"])
        result = run_tap(config, catalog, workdir, "answers")
        before = None if baseline is None else baseline_tap(baseline, config, catalog, workdir)
    if result.returncode != 0:
        raise SystemExit(f"the tap failed (answers):\n{result.stderr_tail}")
    rows = result.count_lines("response_answers")
    ids = result.record_ids("responses", "response_id")
    report = {
        "responses": len(ids),
        "answer_rows": rows,
        "tap_seconds": round(result.wall_seconds, 2),
        "responses_per_second": round(len(ids) / result.wall_seconds),
        "rows_per_second": round(rows / result.wall_seconds),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "exact_ids": set(ids) == set().union(*truth.values()),
        "load": _load(),
    }
    if before is not None:
        if before.returncode != 0 or before.count_lines("response_answers") != rows:
            raise SystemExit(f"the baseline tap failed or differs (answers):\n{before.stderr_tail}")
        report["baseline"] = {
            "repo": str(baseline),
            "seconds": round(before.wall_seconds, 2),
            "rows_per_second": round(rows / before.wall_seconds),
            "peak_rss_mb": round(before.peak_rss_mb, 1),
        }
    return report


def _table(report: dict[str, Any]) -> str:
    lines = [f"tap-qualtrics benchmark ({report['started']}, load before: {report['load']})", ""]
    row = "{:<48} {:>14}"
    big, small = report.get("throughput"), report.get("memory")
    if big:
        n = big["responses"]
        lines += [
            row.format(f"tap responses/s ({n} responses, 1 survey)", big["tap_per_second"]),
            row.format(
                "floor responses/s (unzip+parse+orjson, same file)", big["floor_per_second"]
            ),
            row.format("tap/floor wall-time ratio (goal <= 2.0)", big["ratio"]),
            row.format("tap/floor CPU-time ratio", big["cpu_ratio"]),
            row.format(
                f"tap seconds / floor seconds ({big['export_mb']} MB zip)",
                f"{big['tap_seconds']} / {big['floor_seconds']}",
            ),
            row.format(f"peak RSS at {n} responses (MB)", big["peak_rss_mb"]),
            row.format("exact response-ID set vs sandbox truth", str(big["exact_ids"])),
        ]
        for name, what in (
            ("baseline", "baseline tap"),
            ("qualtricsapi", "QualtricsAPI"),
            ("csv_floor", "values-only CSV floor"),
        ):
            other = big.get(name)
            if other:
                lines += [
                    row.format(
                        f"{what}: seconds / floor ratio", f"{other['seconds']} / {other['ratio']}"
                    ),
                    row.format(f"  tap time / {what} time", other["tap_over_this"]),
                ]
                if "peak_rss_mb" in other:
                    lines.append(row.format("  peak RSS (MB)", other["peak_rss_mb"]))
                if "over_qualtricsapi" in other:
                    lines.append(
                        row.format(f"  {what} time / QualtricsAPI time", other["over_qualtricsapi"])
                    )
    if small:
        lines += [
            row.format(f"peak RSS at {small['responses']} responses (MB)", small["peak_rss_mb"]),
            row.format(f"tap/floor ratio at {small['responses']}", small["ratio"]),
        ]
        if big:
            lines.append(
                row.format(
                    "RSS growth small -> large (goal <= 30 MB)",
                    round(big["peak_rss_mb"] - small["peak_rss_mb"], 1),
                )
            )
    many = report.get("concurrency")
    if many:
        s = many["surveys"]
        lines += [
            row.format(
                f"{s} surveys x {many['export_seconds']:g} s exports, concurrent (s)",
                many["concurrent_seconds"],
            ),
            row.format(
                f"  sequential, measured on {many['sequential_surveys_measured']} surveys (s)",
                many["sequential_seconds_measured"],
            ),
            row.format(
                f"  sequential, extrapolated to {s} surveys (s)",
                many["sequential_seconds_extrapolated"],
            ),
            row.format(
                "  exact IDs / survey order kept",
                f"{many['exact_ids']} / {many['survey_order_kept']}",
            ),
        ]
    ans = report.get("answers")
    if ans:
        lines += [
            row.format(f"response_answers: {ans['responses']} responses (s)", ans["tap_seconds"]),
            row.format("  answer rows/s", ans["rows_per_second"]),
            row.format("  responses/s", ans["responses_per_second"]),
            row.format("  peak RSS (MB)", ans["peak_rss_mb"]),
        ]
        if ans.get("baseline"):
            lines.append(
                row.format("  baseline tap: answer rows/s", ans["baseline"]["rows_per_second"])
            )
    elif "answers" in report:
        lines.append(row.format("response_answers", "not in this tap"))
    for found in report.get("deletions", []):
        n = found["responses"]
        lines += [
            row.format(
                f"deletions: check of {n} responses, {found['deleted']} deleted (s)",
                found["check_run_seconds"],
            ),
            row.format(
                "  check export / full export (bytes)",
                f"{found['check_export_bytes']} / {found['full_export_bytes']}",
            ),
            row.format(
                "  STATE bytes after first / second run",
                f"{found['state_bytes_first']} / {found['state_bytes_second']}",
            ),
            row.format("  exact live IDs vs sandbox truth", str(found["exact_live_ids"])),
        ]
    wide = report.get("subsets")
    if wide:
        whole, part = wide["whole"], wide["subset"]
        lines += [
            row.format(
                f"subsets: {whole['responses']} responses x {wide['questions']} questions, whole (s)",
                whole["tap_seconds"],
            ),
            row.format(f"  {wide['subset_questions']}-question subset (s)", part["tap_seconds"]),
            row.format(
                "  export bytes whole / subset", f"{whole['export_bytes']} / {part['export_bytes']}"
            ),
            row.format(
                "  answer rows whole / subset", f"{whole['answer_rows']} / {part['answer_rows']}"
            ),
        ]
    if report.get("account_scale"):
        lines += account_scale_table(report["account_scale"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.peers and not qualtricsapi_installed():
        raise SystemExit(f"--peers needs the QualtricsAPI library: {PEERS_INSTALL}")
    wanted = set(args.only or ["throughput", "memory", "concurrency", "answers"])
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": _load(),
    }
    with tempfile.TemporaryDirectory(prefix="tap-qualtrics-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        if "memory" in wanted:
            report["memory"] = throughput(args.small_responses, args.questions, workdir, "small")
        if "throughput" in wanted:
            report["throughput"] = throughput(
                args.responses,
                args.questions,
                workdir,
                "large",
                baseline=args.baseline_repo,
                peers=args.peers,
            )
        if "concurrency" in wanted:
            report["concurrency"] = concurrency(
                args.surveys, args.export_seconds, args.sequential_surveys, workdir
            )
        if "answers" in wanted:
            report["answers"] = answers(
                args.answers_responses, args.questions, workdir, baseline=args.baseline_repo
            )
        if "deletions" in wanted:
            report["deletions"] = [
                deletions(
                    size, args.deletion_questions, 10, workdir, seed=SEED, no_cap=NO_EXPORT_CAP
                )
                for size in (args.small_responses, args.responses)
            ]
        if "subsets" in wanted:
            report["subsets"] = subsets(
                args.wide_responses,
                args.wide_questions,
                20,
                workdir,
                seed=SEED,
                no_cap=NO_EXPORT_CAP,
            )
        if "account_scale" in wanted:
            report["account_scale"] = account_scale(
                workdir,
                surveys=args.account_surveys,
                scale=args.account_scale,
                latency_ms=args.account_latency_ms,
                export_seconds=args.account_export_seconds,
                mutate=not args.account_no_changes,
                steady_runs=args.account_steady_runs,
                seed=SEED,
            )
    print(_table(report))
    print(json.dumps(report, sort_keys=True))
    return 0
