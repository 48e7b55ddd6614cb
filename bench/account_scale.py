"""A whole account at scale: first sync and steady state of ``responses`` over many surveys, under Qualtrics'
rate limits, with latency and export jobs that take time (issue #17, "Measure it first").

The account: ``surveys`` surveys of about ``small_responses`` responses each, a few large ones (survey 1 with
``large_responses``; every ``LARGE_EVERY``-th survey gets ``large_responses // 2`` more), a fifth of them
inactive and one empty (the sandbox's own mix, ``qualtrics_sandbox.data``).

Time is compressed by ``scale`` on both sides, so that a run that takes 20 minutes at Qualtrics' speed takes
2 at ``scale`` 10, with the same decisions made:

- the sandbox's rate buckets and request statistics run on a clock ``scale`` times faster (its limits stay
  Qualtrics' own, per *virtual* minute; ``SandboxApp.set_rate_clock``), its export jobs take
  ``export_seconds / scale`` and its latency is ``latency_ms / scale``;
- the tap runs through :mod:`bench.scaled_tap`, whose ``time.monotonic`` / ``time.sleep`` run ``scale``
  times faster, so its rate budget (Qualtrics' limits per 60.5 virtual seconds, the default
  ``rate_limits_per_minute``), its export polling and its retry delays shrink by the same factor.

Only CPU time is not compressed: ``unscaled_seconds`` (wall x scale) is what the run would take at real speed
if the CPU were ``scale`` times faster too, an upper bound when the CPU is a large part of the time (the
report gives the tap's and the sandbox's CPU seconds to judge that).

Each run is followed by a check of the response IDs it wrote against the sandbox's truth.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.scaled_tap import ENV as CLOCK_SCALE_ENV
from bench.taprun import TapResult, run_tap, selected_catalog
from qualtrics_sandbox.data import build_account
from qualtrics_sandbox.ratelimit import DEFAULT_LIMITS
from qualtrics_sandbox.server import serve

LARGE_EVERY = 200
#: surveys changed before the third run, and how (responses added to some, edited in others)
MUTATED_SURVEYS = 10
ADDED_PER_SURVEY = 3
EDITED_PER_SURVEY = 2
#: the buckets the tap's budget and the sandbox both know
BUCKETS = ("brand", "export_start", "export_progress", "export_file")
_BUDGET_WAIT = re.compile(r"Waiting ([\d.]+) s for the Qualtrics rate budget \(([^)]*)\)")


def _account(
    seed: int, surveys: int, small_responses: int, large_responses: int
) -> tuple[Any, dict[str, int]]:
    account = build_account(
        seed=seed,
        surveys=surveys,
        responses=small_responses,
        large_responses=large_responses,
        users=2,
    )
    ids = list(account.surveys)
    for index in range(LARGE_EVERY - 1, len(ids), LARGE_EVERY):
        account.mutate({"survey_id": ids[index], "add": large_responses // 2})
    # these responses are stamped now; the tap's window ends at its start in whole seconds
    # (export_safety_lag_seconds 0), so the first sync must start in a later second to include them
    time.sleep(1.1)
    sizes = sorted(len(s.responses) for s in account.surveys.values())
    shape = {
        "surveys": len(sizes),
        "inactive": sum(not s.is_active for s in account.surveys.values()),
        "empty": sizes.count(0),
        "responses": sum(sizes),
        "median_responses": sizes[len(sizes) // 2] if sizes else 0,
        "large_surveys": sum(size >= large_responses // 2 for size in sizes),
        "max_responses": sizes[-1] if sizes else 0,
    }
    return account, shape


def _budget_waits(log: Path) -> dict[str, int]:
    """How often the tap logged a wait for its rate budget (waits over 1 virtual second), per bucket set."""
    waits = Counter(names for _, names in _BUDGET_WAIT.findall(log.read_text(errors="replace")))
    return dict(sorted(waits.items()))


def _run_report(
    result: TapResult,
    stats: dict[str, Any],
    bench_cpu: float,
    scale: float,
    surveys: int,
    log: Path,
) -> dict[str, Any]:
    minutes = result.wall_seconds * scale / 60
    total = stats["total_requests"]
    # every request counts against the brand bucket: the sandbox counts it as the total
    buckets = {**stats["bucket_requests"], "brand": total}
    maxima = {**stats["bucket_max_per_minute"], "brand": stats["max_total_per_minute"]}
    starts = buckets.get("export_start", 0)
    limit = DEFAULT_LIMITS["export_start"]
    # the least time these starts need under the limit: a full bucket at once, then limit/60 a second
    floor_seconds = max(0, starts - limit) / limit * 60
    statuses = stats.get("statuses", {})
    throttled = sum(codes.get("429", 0) for codes in statuses.values())
    return {
        "wall_seconds": round(result.wall_seconds, 2),
        "unscaled_seconds": round(result.wall_seconds * scale, 1),
        "sandbox_virtual_seconds": stats["elapsed_seconds"],
        "tap_cpu_seconds": round(result.cpu_seconds, 1),
        "bench_cpu_seconds": round(bench_cpu, 1),
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "state_messages": result.tally.state_messages,
        "state_mb_written": round(result.tally.state_bytes / 1e6, 1),
        "last_state_bytes": len(result.tally.last_state),
        "requests": total,
        "requests_per_survey": round(total / surveys, 2),
        "requests_per_survey_by_endpoint": {
            name: round(count / surveys, 3) for name, count in sorted(stats["requests"].items())
        },
        "bucket_requests": {name: buckets.get(name, 0) for name in BUCKETS},
        "export_starts": starts,
        "export_start_utilisation": round(starts / (minutes * limit), 3) if minutes else None,
        "export_start_floor_unscaled_seconds": round(floor_seconds, 1),
        # the most requests in any 60 virtual seconds, against Qualtrics' limit per minute
        "max_per_minute": {name: maxima.get(name, 0) for name in BUCKETS},
        "max_per_minute_of_limit": {
            name: round(maxima.get(name, 0) / DEFAULT_LIMITS[name], 3) for name in BUCKETS
        },
        "throttled_429": throttled,
        "budget_waits_logged": _budget_waits(log),
    }


def _ids_check(result: TapResult, truth: dict[str, set[str]], expected: set[str]) -> dict[str, Any]:
    """The IDs written against the truth: ``expected`` must all be there, and nothing the account lacks."""
    written = result.record_ids("responses", "response_id")
    distinct = set(written)
    every = set().union(*truth.values())
    missing = expected - distinct
    unknown = distinct - every
    return {
        "records": len(written),
        "duplicates": len(written) - len(distinct),
        "expected": len(expected),
        "missing": len(missing),
        "unknown": len(unknown),
        "unchanged_rewritten": len(distinct - expected - unknown),
        "exact_ids": not missing and not unknown and len(written) == len(distinct),
    }


def account_scale(
    workdir: Path,
    *,
    surveys: int = 2000,
    scale: float = 10.0,
    latency_ms: float = 50.0,
    export_seconds: float = 5.0,
    small_responses: int = 10,
    large_responses: int = 2000,
    mutate: bool = True,
    steady_runs: int = 1,
    seed: int = 5,
) -> dict[str, Any]:
    """First sync, steady state (nothing changed) and, with ``mutate``, a run after a few surveys changed."""
    built = time.perf_counter()
    account, shape = _account(seed, surveys, small_responses, large_responses)
    build_seconds = time.perf_counter() - built
    runs: dict[str, Any] = {}
    with serve(
        account,
        seed=seed,
        rate_limits=True,
        latency_ms=latency_ms / scale,
        export_seconds=export_seconds / scale,
    ) as handle:
        config = {
            "api_token": handle.api_token,
            "base_url": handle.base_url,
            "export_safety_lag_seconds": 0,
        }
        catalog = selected_catalog(config, ["responses"])
        env = {CLOCK_SCALE_ENV: repr(scale)}
        truth = {sid: set(s["responses"]) for sid, s in handle.truth()["surveys"].items()}
        expected = set().union(*truth.values())
        state: dict[str, Any] | None = None
        steady = (
            ["steady_state"]
            if steady_runs == 1
            else [f"steady_state_{n}" for n in range(1, steady_runs + 1)]
        )
        plan = ["first_sync", *steady] + (["after_changes"] if mutate else [])
        for label in plan:
            if label == "after_changes":
                expected = _change_some(handle, truth)
                truth = {sid: set(s["responses"]) for sid, s in handle.truth()["surveys"].items()}
            handle.app.set_rate_clock(_faster_clock(scale))
            cpu_before = time.process_time()
            result = run_tap(
                config,
                catalog,
                workdir,
                f"account-{label}",
                state,
                module="bench.scaled_tap",
                extra_env=env,
            )
            bench_cpu = time.process_time() - cpu_before
            if result.returncode != 0:
                raise SystemExit(f"the tap failed (account scale, {label}):\n{result.stderr_tail}")
            stats = handle.stats()
            runs[label] = {
                **_run_report(
                    result,
                    stats,
                    bench_cpu,
                    scale,
                    surveys,
                    workdir / f"account-{label}-err.log",
                ),
                **_ids_check(result, truth, expected),
            }
            state = result.state
            expected = set()  # nothing changed until told otherwise
    return {
        "account": shape,
        "scale": scale,
        "latency_ms": latency_ms,
        "export_seconds": export_seconds,
        "limits_per_minute": {name: DEFAULT_LIMITS[name] for name in BUCKETS},
        "build_seconds": round(build_seconds, 1),
        "cores": os.cpu_count(),
        "runs": runs,
    }


def _faster_clock(scale: float) -> Callable[[], float]:
    """A monotonic clock running ``scale`` times faster than real time from now on."""
    origin = time.monotonic()
    return lambda: origin + (time.monotonic() - origin) * scale


def _change_some(handle: Any, truth: dict[str, set[str]]) -> set[str]:
    """Add responses to half of ``MUTATED_SURVEYS`` small surveys and edit some in the other half; returns
    the IDs changed (what the next run must write)."""
    small = [sid for sid, ids in truth.items() if 0 < len(ids) <= 2 * EDITED_PER_SURVEY + 20]
    step = max(1, len(small) // MUTATED_SURVEYS)
    changed: set[str] = set()
    for n, sid in enumerate(small[::step][:MUTATED_SURVEYS]):
        spec = {"add": ADDED_PER_SURVEY} if n % 2 == 0 else {"edit": EDITED_PER_SURVEY}
        out = handle.mutate({"survey_id": sid, **spec})
        changed.update(out.get("added", []), out.get("edited", []))
    # the tap's window ends at its start in whole seconds (export_safety_lag_seconds 0): start the next run
    # in a later second than the changes, or they belong to the run after it
    time.sleep(1.1)
    return changed


def table(found: dict[str, Any]) -> list[str]:
    """The report's lines for :func:`bench.cli._table`."""
    shape, scale = found["account"], found["scale"]
    row = "{:<48} {:>14}"
    title = (
        f"account scale: {shape['surveys']} surveys ({shape['inactive']} inactive, "
        f"{shape['large_surveys']} large, median {shape['median_responses']} responses), "
        f"time compressed x{scale:g}"
    )
    setting = (
        f"  {found['latency_ms']:g} ms latency, {found['export_seconds']:g} s exports, Qualtrics' "
        f"limits (unscaled figures = wall x {scale:g})"
    )
    lines = [title, setting]
    for label, run in found["runs"].items():
        lines += [
            row.format(
                f"  {label}: wall s / unscaled s",
                f"{run['wall_seconds']} / {run['unscaled_seconds']}",
            ),
            row.format("    requests per survey", run["requests_per_survey"]),
            row.format(
                "    export starts / floor s (unscaled)",
                f"{run['export_starts']} / {run['export_start_floor_unscaled_seconds']}",
            ),
            row.format(
                "    export-start utilisation (goal >= 0.9)", run["export_start_utilisation"]
            ),
            row.format(
                "    max starts in 60 s / limit", run["max_per_minute_of_limit"]["export_start"]
            ),
            row.format(
                "    max brand requests in 60 s / limit", run["max_per_minute_of_limit"]["brand"]
            ),
            row.format(
                "    CPU s: tap / sandbox+reader",
                f"{run['tap_cpu_seconds']} / {run['bench_cpu_seconds']}",
            ),
            row.format(
                "    STATE messages / MB written",
                f"{run['state_messages']} / {run['state_mb_written']}",
            ),
            row.format("    429s / exact IDs", f"{run['throttled_429']} / {run['exact_ids']}"),
        ]
    return lines
