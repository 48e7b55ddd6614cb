"""A second run from the first run's STATE delivers exactly what changed in the sandbox between them
(incremental streams) or the whole new truth (full-table streams)."""

from __future__ import annotations

from support.directory import (
    FIRST_RUN_LAG,
    assert_no_side_effect_endpoint,
    norm,
    sandbox,
    stamp_changes_after,
    sync,
    token_config,
)


def test_second_run_delivers_the_changes() -> None:
    with sandbox(seed=9) as handle:
        config = token_config(handle, page_size=9)
        first = sync({**config, **FIRST_RUN_LAG})
        assert not first.failures
        edge = first.tap.run.export_window_end
        truth = handle.truth()
        default, panel = list(truth["directories"])
        panel_list = truth["directory_mailing_lists"][panel][0]
        default_list = truth["directory_mailing_lists"][default][0]
        with_distributions = [sid for sid, dists in truth["distributions"].items() if dists]
        quiet_survey = next(sid for sid in truth["surveys"] if sid not in with_distributions)

        stamp_changes_after(handle, edge)
        default_changes = handle.mutate(
            {"directory_id": default, "add_contacts": 3, "edit_contacts": 4}
        )
        panel_changes = handle.mutate(
            {
                "directory_id": panel,
                "mailing_list_id": panel_list,
                "add_contacts": 2,
                "remove_members": 3,
            }
        )
        removed = handle.mutate(
            {"directory_id": default, "mailing_list_id": default_list, "remove_members": 5}
        )
        dist_changes = handle.mutate({"survey_id": with_distributions[0], "edit_distributions": 1})
        new_dists = handle.mutate({"survey_id": quiet_survey, "add_distributions": 2})
        after = handle.truth()

        second = sync(config, state=first.final_state)
        assert not second.failures
        assert_no_side_effect_endpoint(handle)

    # contacts: exactly the added and edited ones, with their new modification time
    expected_contacts = {
        (default, cid)
        for cid in default_changes["added_contacts"] + default_changes["edited_contacts"]
    }
    expected_contacts |= {(panel, cid) for cid in panel_changes["added_contacts"]}
    emitted = {(r["directory_id"], r["contact_id"]): r for r in second.records("contacts")}
    assert set(emitted) == expected_contacts
    assert all(
        r["last_modified"] == norm(after["contacts"][did][cid]) for (did, cid), r in emitted.items()
    )
    assert all(r["last_modified"] >= edge for r in emitted.values())

    # distributions: the edited one and the two new ones (a survey that had none before)
    expected_dists = set(dist_changes["edited_distributions"]) | set(
        new_dists["added_distributions"]
    )
    assert {r["distribution_id"] for r in second.records("distributions")} == expected_dists
    assert {
        r["survey_id"]
        for r in second.records("distributions")
        if r["distribution_id"] in new_dists["added_distributions"]
    } == {quiet_survey}

    # full-table streams: the whole new truth, removed memberships gone
    assert {
        (r["mailing_list_id"], r["contact_id"]) for r in second.records("mailing_list_contacts")
    } == {(mlid, cid) for mlid, members in after["mailing_list_members"].items() for cid in members}
    assert not {(default_list, cid) for cid in removed["removed_members"]} & {
        (r["mailing_list_id"], r["contact_id"]) for r in second.records("mailing_list_contacts")
    }
    assert sorted(
        (r["distribution_id"], r["contact_id"], r["contact_lookup_id"])
        for r in second.records("distribution_contacts")
    ) == sorted((d, c, lk) for d, rows in after["distribution_contacts"].items() for c, lk in rows)
    opened = {
        (r["distribution_id"], r["contact_id"]): r["opened_at"]
        for r in second.records("distribution_contacts")
    }
    edited = dist_changes["edited_distributions"][0]
    assert sum(1 for (d, _), at in opened.items() if d == edited and at and at >= edge) >= 1
    assert {r["mailing_list_id"]: r["contact_count"] for r in second.records("mailing_lists")}[
        panel_list
    ] == len(after["mailing_list_members"][panel_list])

    # bookmarks moved on to the second run's window end, for every partition
    second_edge = second.tap.run.export_window_end
    assert second_edge > edge
    assert second.bookmarks("contacts", "directory_id") == {
        default: second_edge,
        panel: second_edge,
    }
    assert set(second.bookmarks("distributions", "survey_id").values()) == {second_edge}


def test_a_run_with_nothing_new_emits_no_incremental_records() -> None:
    with sandbox(seed=10, surveys=3) as handle:
        config = token_config(handle)
        first = sync(config, streams=("contacts", "distributions"))
        assert first.records("contacts") and first.records("distributions")
        second = sync(config, state=first.final_state, streams=("contacts", "distributions"))
    assert second.records("contacts") == [] and second.records("distributions") == []
    assert not second.failures
