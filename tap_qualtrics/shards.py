"""Shards: N runs of the tap (N Meltano jobs, each with its own state ID) that split one Qualtrics account
with no overlap and no gap (the ``shard`` setting, ``{"count": N, "index": i}``; docs/shards.md).

* Each survey belongs to exactly one shard, and so does each XM directory: a stable hash of its ID (BLAKE2b,
  never Python's per-process ``hash()``), mapped to a shard by jump consistent hashing. Growing from N to
  N + 1 shards moves only about 1/(N + 1) of the surveys and directories, all of them to the new shard; the
  others stay where their bookmarks are.
* A survey's shard reads everything that hangs off it (questions, responses, distributions, deletion checks,
  in-progress responses); a directory's shard reads its contacts and mailing lists.
* The account-wide streams, which belong to no survey and no directory (users, groups, divisions and the
  directory list itself), are read by shard 0 alone, so no table is loaded by two shards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: The shard that reads the account-wide streams.
ACCOUNT_SHARD = 0
_MASK_64 = (1 << 64) - 1
#: The linear congruential step of Lamping and Veach's jump consistent hash.
_JUMP_MULTIPLIER = 2862933555777941757


@dataclass(frozen=True)
class Shard:
    """One of ``count`` shards (``index`` from 0); only built for ``count`` of 2 or more."""

    count: int
    index: int

    def owns(self, object_id: str) -> bool:
        """Whether the survey or directory with this ID belongs to this shard."""
        return shard_of(object_id, self.count) == self.index

    @property
    def reads_account_streams(self) -> bool:
        """Whether this shard reads the streams that belong to no survey and no directory."""
        return self.index == ACCOUNT_SHARD

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


def shard_of(object_id: str, count: int) -> int:
    """The shard (0 to ``count`` - 1) a survey or directory ID belongs to, the same in every process."""
    digest = hashlib.blake2b(object_id.encode(), digest_size=8).digest()
    return jump_hash(int.from_bytes(digest, "big"), count)


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach, 2014): a 64-bit key -> a bucket in ``range(buckets)``.

    With one more bucket, a key either stays in its bucket or moves to the new one.
    """
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK_64
        jump = int((bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket
