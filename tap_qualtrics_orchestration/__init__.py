"""Run one Qualtrics account as N parallel shards of ``meltano run tap-qualtrics target-postgres``, on Dagster.

Install with the ``orchestrate`` extra (``pip install 'tap-qualtrics[orchestrate]'``). Locally, one command
runs the job on Dagster's multiprocess executor::

    python -m tap_qualtrics_orchestration --shards 3

``dagster dev -m tap_qualtrics_orchestration.definitions`` serves the same job in Dagster's UI; in production
the job runs on any Dagster deployment (each shard a step; on Kubernetes, a pod per step with the
``k8s_job_executor``). How shards split the account: docs/shards.md.

* :mod:`.plan` — each shard's state ID, setting and share of the brand's rate limits (no Dagster);
* :mod:`.meltano` — Meltano commands, each with a private ``.meltano/run`` so parallel runs do not collide;
* :mod:`.tables` — the SCHEMA and ACTIVATE_VERSION messages sent around the shards;
* :mod:`.job` — the Dagster job: prepare the tables, run the shards in parallel, activate table versions.
"""
