"""Export windows do not depend on whether Qualtrics' ``startDate`` is inclusive: the tap asks one second
early and drops what precedes the window itself, so a response modified exactly at the bookmark is never
lost, and none is emitted twice."""

from __future__ import annotations

from support.reliability import catalog_for, config_for, response_bookmarks, run_tap
from support.tap import sandbox


def test_a_response_modified_exactly_at_the_bookmark_is_delivered_when_start_is_exclusive() -> None:
    with sandbox(seed=531, surveys=2, responses=6) as handle:
        handle.set_faults({"export_start_exclusive": True})
        catalog = catalog_for(["responses"])
        # a lag puts the first run's window end in the past, so a change can be planted exactly on it
        first = run_tap(
            config_for(handle, oauth=False, export_safety_lag_seconds=30), catalog=catalog
        )
        assert first.error is None
        bookmarks = response_bookmarks(first.states[-1])
        survey_id = min(bookmarks)
        edge = bookmarks[survey_id]
        assert edge is not None and edge.endswith(".000000Z")  # whole seconds: the window end
        edited = handle.mutate({"survey_id": survey_id, "edit": 1, "stamp": edge})["edited"]
        second = run_tap(
            config_for(handle, oauth=False, export_safety_lag_seconds=0),
            catalog=catalog,
            state=first.states[-1],
        )
    assert second.error is None
    delivered = [r for r in second.records("responses") if r["survey_id"] == survey_id]
    assert [r["response_id"] for r in delivered] == edited
    assert delivered[0]["last_modified_date"] == edge
    # nothing before the bookmark came back: the second early is read and dropped
    assert all(r["last_modified_date"] >= edge for r in second.records("responses"))
