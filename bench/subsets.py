"""A wide survey exported whole and with a 20-question subset (``export_subsets``): export size and tap time.

The same survey is synced twice in one run, each from no state: once whole, once with only its first
``subset`` questions (and all its embedded data and metadata), with ``responses`` and ``response_answers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.taprun import downloaded_bytes, one_survey, run_tap, selected_catalog

STREAMS = ("responses", "response_answers")


def subsets(
    responses: int, questions: int, subset: int, workdir: Path, *, seed: int, no_cap: int
) -> dict[str, Any]:
    with one_survey(seed, responses, questions, no_cap) as (handle, base):
        ((survey_id, survey),) = handle.truth()["surveys"].items()
        chosen = survey["questions"][:subset]
        catalog = selected_catalog(base, STREAMS)
        runs = {}
        for label, config in (
            ("whole", base),
            ("subset", {**base, "export_subsets": {survey_id: {"question_ids": chosen}}}),
        ):
            result = run_tap(config, catalog, workdir, f"subsets-{label}")
            if result.returncode != 0:
                raise SystemExit(f"the tap failed (subsets, {label}):\n{result.stderr_tail}")
            runs[label] = {
                "tap_seconds": round(result.wall_seconds, 2),
                "export_bytes": downloaded_bytes(workdir / f"subsets-{label}-err.log").get(
                    "response export", 0
                ),
                "answer_rows": result.count_lines("response_answers"),
                "responses": len(result.record_ids("responses", "response_id")),
                "peak_rss_mb": round(result.peak_rss_mb, 1),
            }
    return {"questions": questions, "subset_questions": len(chosen), **runs}
