"""Cutting an export window into consecutive shorter ones (tap_qualtrics/exports/windows.py)."""

from __future__ import annotations

import itertools

import pytest

from tap_qualtrics.exports.engine import ExportWindow
from tap_qualtrics.exports.windows import FALLBACK_EARLIEST, MIN_WINDOW_SECONDS, split_window
from tap_qualtrics.model.timestamps import parse_timestamp


def _covers_exactly(pieces: list[ExportWindow], window: ExportWindow) -> None:
    assert pieces[0].start == window.start
    assert pieces[-1].end == window.end
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start  # no gap, no overlap ([start, end) windows)
        assert parse_timestamp(before.end) > parse_timestamp(before.start or FALLBACK_EARLIEST)


def test_halves_a_bounded_window_on_whole_seconds() -> None:
    window = ExportWindow("2026-11-30T00:00:00Z", "2026-12-01T00:00:01Z")
    pieces = split_window(window, 2)
    assert pieces == [
        ExportWindow("2026-11-30T00:00:00Z", "2026-11-30T12:00:00Z"),
        ExportWindow("2026-11-30T12:00:00Z", "2026-12-01T00:00:01Z"),
    ]


def test_a_window_without_start_keeps_none_and_cuts_from_the_survey_creation() -> None:
    window = ExportWindow(None, "2026-12-01T00:00:00Z")
    pieces = split_window(window, 4, earliest="2026-11-01T00:00:00.750Z")
    assert (
        pieces[0].start is None
    )  # anything modified before the survey's creation is still exported
    assert [p.end for p in pieces[:-1]] == [
        "2026-11-08T12:00:00Z",
        "2026-11-16T00:00:00Z",
        "2026-11-23T12:00:00Z",
    ]
    _covers_exactly(pieces, window)


def test_without_any_earliest_date_cuts_from_a_fixed_past() -> None:
    window = ExportWindow(None, "2026-12-01T00:00:00Z")
    for earliest in (None, "2027-01-01T00:00:00Z"):  # a creation date after the window is no help
        pieces = split_window(window, 2, earliest=earliest)
        assert pieces == [
            ExportWindow(None, "2014-06-17T00:00:00Z"),
            ExportWindow("2014-06-17T00:00:00Z", "2026-12-01T00:00:00Z"),
        ]


@pytest.mark.parametrize("pieces", [2, 3, 7, 600, 10_000])
def test_many_pieces_stay_ordered_and_at_least_a_minute_long(pieces: int) -> None:
    window = ExportWindow("2026-11-30T13:17:29Z", "2026-12-01T00:00:01Z")
    cut = split_window(window, pieces)
    _covers_exactly(cut, window)
    assert len(cut) == min(pieces, (10 * 3600 + 42 * 60 + 32) // MIN_WINDOW_SECONDS)
    lengths = [
        (parse_timestamp(p.end) - parse_timestamp(p.start or "")).total_seconds() for p in cut
    ]
    assert min(lengths) >= MIN_WINDOW_SECONDS
    assert max(lengths) - min(lengths) <= 1


def test_a_window_under_two_minutes_is_not_cut() -> None:
    window = ExportWindow("2026-11-30T23:58:01Z", "2026-12-01T00:00:00Z")
    assert split_window(window, 2) == [window]
    assert split_window(ExportWindow("2026-11-30T23:58:00Z", "2026-12-01T00:00:00Z"), 5) == [
        ExportWindow("2026-11-30T23:58:00Z", "2026-11-30T23:59:00Z"),
        ExportWindow("2026-11-30T23:59:00Z", "2026-12-01T00:00:00Z"),
    ]
