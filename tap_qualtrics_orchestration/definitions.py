"""Dagster code location: ``dagster dev -m tap_qualtrics_orchestration.definitions`` (or a workspace entry).

The ``meltano`` resource's settings (project directory, meltano executable, number of shards, the brand's
rate limits) are set in the launchpad's run config, under ``resources.meltano.config``.
"""

from dagster import Definitions

from tap_qualtrics_orchestration.job import qualtrics_shards

defs = Definitions(jobs=[qualtrics_shards])
