"""The ``shard`` setting: each survey and directory ID belongs to exactly one shard, the same one in every
process; growing from N to N + 1 shards moves IDs only to the new shard; a bad setting is one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_qualtrics.selection import SurveySelection
from tap_qualtrics.settings import explain_schema_error, parse_settings
from tap_qualtrics.shards import Shard, jump_hash, shard_of
from tap_qualtrics.tap import TapQualtrics

CONFIG = {"api_token": "token-value-0123456789", "data_center": "iad1"}
#: IDs shaped like Qualtrics' (``SV_`` + 15 characters, ``POOL_`` + 15)
IDS = [f"SV_{n:015x}" for n in range(6000)] + [f"POOL_{n * 7919:015d}" for n in range(2000)]


def test_each_id_belongs_to_exactly_one_shard() -> None:
    """No overlap, no gap: over many IDs and shard counts, exactly one Shard(count, i) owns each ID."""
    for count in range(2, 9):
        shards = [Shard(count, index) for index in range(count)]
        for object_id in IDS:
            owners = [shard.index for shard in shards if shard.owns(object_id)]
            assert owners == [shard_of(object_id, count)], (object_id, count, owners)


def test_shards_get_even_parts() -> None:
    for count in (2, 3, 4, 7):
        sizes = Counter(shard_of(object_id, count) for object_id in IDS)
        assert sorted(sizes) == list(range(count))
        expected = len(IDS) / count
        assert all(abs(size - expected) < 0.1 * expected for size in sizes.values()), sizes


def test_one_more_shard_moves_ids_only_to_it() -> None:
    """From N to N + 1 shards an ID stays where it was or moves to shard N, about 1/(N + 1) of them."""
    for count in range(1, 8):
        moved = 0
        for object_id in IDS:
            before, after = shard_of(object_id, count), shard_of(object_id, count + 1)
            if after != before:
                assert after == count, (object_id, count, before, after)
                moved += 1
        expected = len(IDS) / (count + 1)
        assert abs(moved - expected) < 0.1 * expected, (count, moved)


def test_assignment_is_the_same_in_every_process() -> None:
    """A stable digest, never Python's salted hash(): another interpreter with another hash seed agrees,
    and so do these pinned values (a change would move every survey to another shard's state)."""
    sample = IDS[:50] + IDS[-50:]
    code = (
        "import json, sys; from tap_qualtrics.shards import shard_of; "
        "print(json.dumps([shard_of(i, 5) for i in json.loads(sys.stdin.read())]))"
    )
    for seed in ("1", "4242"):
        elsewhere = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(sample),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        assert json.loads(elsewhere) == [shard_of(object_id, 5) for object_id in sample]
    assert [shard_of(f"SV_{n:015x}", 3) for n in range(12)] == PINNED_3
    assert [jump_hash(key, 10) for key in (0, 1, 2**32, 2**63, 2**64 - 1)] == PINNED_JUMP


#: shards of 3 of SV_000000000000000 ... SV_00000000000000b
PINNED_3 = [2, 2, 2, 0, 2, 1, 1, 1, 0, 2, 0, 1]
#: buckets of 10: the same as the paper's C++ reference implementation gives
PINNED_JUMP = [0, 6, 2, 5, 9]


def test_one_bucket_and_no_bucket() -> None:
    assert {jump_hash(key, 1) for key in range(100)} == {0}
    with pytest.raises(ValueError, match="at least 1"):
        jump_hash(1, 0)


@pytest.mark.parametrize(
    ("shard", "fragment"),
    [
        ("2", "shard must be of type object."),
        ({"count": 3}, 'shard must be an object {"count": N, "index": i}'),
        ({"count": 3, "index": 1, "of": 4}, 'shard must be an object {"count": N, "index": i}'),
        ({"count": None, "index": 0}, 'shard must be an object {"count": N, "index": i}'),
        ({"count": 0, "index": 0}, "shard.count must be a whole number of at least 1"),
        ({"count": "three", "index": 0}, "shard.count must be a whole number of at least 1"),
        ({"count": 3, "index": -1}, "shard.index must be a whole number of at least 0"),
        ({"count": 3, "index": True}, "shard.index must be a whole number of at least 0"),
        ({"count": 3, "index": 3}, "the 3 shards are numbered 0 to 2"),
    ],
)
def test_a_bad_shard_is_one_sentence(shard: Any, fragment: str) -> None:
    with pytest.raises(ConfigValidationError) as raised:
        TapQualtrics(config={**CONFIG, "shard": shard})
    (error,) = raised.value.errors
    # as the command line says it (the SDK's JSON-schema check comes first)
    sentence = explain_schema_error(error)
    assert fragment in sentence
    assert "\n" not in sentence
    assert sentence.endswith(".")


def test_shard_settings() -> None:
    settings = parse_settings({**CONFIG, "shard": {"count": 4, "index": 2}})
    assert settings.shard == Shard(4, 2)
    assert settings.surveys.shard == Shard(4, 2)
    assert str(settings.shard) == "shard 2 of 4"
    # text from the environment (TAP_QUALTRICS_SHARD through Meltano) arrives parsed; whole-number text is fine
    assert parse_settings({**CONFIG, "shard": {"count": "4", "index": "0"}}).shard == Shard(4, 0)
    # one shard of one is the whole account: the tap behaves as without the setting
    assert parse_settings({**CONFIG, "shard": {"count": 1, "index": 0}}).shard is None
    assert parse_settings(CONFIG).shard is None


def test_the_selection_of_a_shard() -> None:
    """``survey_ids`` and the shard both apply, to listed surveys and to the IDs named explicitly."""
    ids = IDS[:300]
    mine = [i for i in ids if shard_of(i, 3) == 1]
    shard = Shard(3, 1)
    everything = SurveySelection(shard=shard)
    assert [i for i in ids if everything.includes(i)] == mine
    assert everything.explicit_ids == ()
    named = SurveySelection((*ids[:20], "SV_0*"), shard)
    assert named.explicit_ids == tuple(i for i in ids[:20] if i in mine)
    assert [i for i in ids if named.includes(i)] == [
        i for i in mine if i in ids[:20] or i.startswith("SV_0")
    ]


def test_discovery_does_not_depend_on_the_shard(tmp_path: Path) -> None:
    """``--discover`` with a shard's config prints the catalog of any other config (a sync then leaves the
    account-wide streams to shard 0)."""
    catalogs = []
    for shard in (None, {"count": 3, "index": 2}):
        config = {**CONFIG, **({"shard": shard} if shard else {})}
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        catalogs.append(
            subprocess.run(
                [sys.executable, "-m", "tap_qualtrics", "--config", str(path), "--discover"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    assert catalogs[0] == catalogs[1]
    assert '"users"' in catalogs[0]
