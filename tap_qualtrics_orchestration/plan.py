"""What each shard of a run is: its index, its Meltano state ID, and its settings (no Dagster here).

* State IDs: ``meltano run --state-id-suffix shard-<i>`` gives ``<environment>:<tap>-to-<loader>:shard-<i>``.
  The suffix names the index only, not the shard count: after a change from N to N + 1 shards, shards 0
  to N - 1 keep their state (jump consistent hashing moves surveys and directories only to the new shard),
  so only the surveys and directories that moved are synced again from ``start_date``.
* Settings reach the tap through the environment, which takes precedence over ``meltano.yml``:
  ``TAP_QUALTRICS_SHARD`` and ``TAP_QUALTRICS_RATE_LIMITS_PER_MINUTE``.
* Qualtrics' rate limits are per brand, and the shards share the brand: each gets an equal share of every
  bucket (:func:`rate_share`), so N shards together never exceed what one run may send.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tap_qualtrics.http.rate_budget import DEFAULT_LIMITS

SHARD_ENV = "TAP_QUALTRICS_SHARD"
RATE_LIMITS_ENV = "TAP_QUALTRICS_RATE_LIMITS_PER_MINUTE"


def state_id_suffix(index: int) -> str:
    """``meltano run --state-id-suffix`` of shard ``index``."""
    return f"shard-{index}"


def rate_share(brand_limits: Mapping[str, int] | None, count: int) -> dict[str, int]:
    """Each shard's requests per minute: the brand's limits (Qualtrics' own where not given) divided by the
    number of shards, rounded down, at least 1."""
    limits = {**DEFAULT_LIMITS, **(brand_limits or {})}
    return {bucket: max(1, limit // count) for bucket, limit in limits.items()}


@dataclass(frozen=True)
class ShardRun:
    """One shard's ``meltano run``: which part of the account, under which state ID, within which budget."""

    index: int
    count: int
    rate_limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def state_id_suffix(self) -> str:
        return state_id_suffix(self.index)

    @property
    def name(self) -> str:
        return f"shard {self.index} of {self.count}"

    def env(self) -> dict[str, str]:
        """The tap settings of this shard, as Meltano reads them from the environment."""
        return {
            SHARD_ENV: json.dumps({"count": self.count, "index": self.index}),
            RATE_LIMITS_ENV: json.dumps(dict(self.rate_limits), sort_keys=True),
        }


def plan(
    count: int,
    only: Iterable[int] = (),
    brand_limits: Mapping[str, int] | None = None,
) -> list[ShardRun]:
    """The shard runs of a job: every shard of ``count``, or only those listed in ``only`` (to run a failed
    shard again alone). Raises ``ValueError`` with one sentence for an impossible request."""
    if count < 1:
        raise ValueError(f"The number of shards must be at least 1, not {count}.")
    chosen = sorted(set(only)) or list(range(count))
    outside = [index for index in chosen if not 0 <= index < count]
    if outside:
        raise ValueError(
            f"Shard {outside[0]} does not exist: the {count} shards are numbered 0 to {count - 1}."
        )
    share = rate_share(brand_limits, count)
    return [ShardRun(index, count, share) for index in chosen]
