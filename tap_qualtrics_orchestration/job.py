"""The Dagster job ``qualtrics_shards``: one Qualtrics account as N parallel ``meltano run`` steps.

::

    prepare_tables ─┬─> run_shard[shard_0] ─┐
                    ├─> run_shard[shard_1] ─┼──> activate_versions
                    └─> run_shard[shard_2] ─┘

* ``prepare_tables`` sends the SCHEMA of every selected stream to the loader, so the tables exist before the
  shards load into them at the same time (:mod:`.tables`); then it fans out one step per shard (all of
  them, or ``only`` some, to run a failed one again).
* ``run_shard`` runs ``meltano run <extractor> <loader> --state-id-suffix shard-<i>`` with the shard's
  settings in the environment (:mod:`.plan`) and the prepared catalog; a non-zero exit fails the step with
  the end of its log.
* ``activate_versions`` reads every shard's state (one ``meltano state export``) and activates the table versions all of them have read
  (:mod:`.tables`). Dagster skips it when a shard failed; running the failed shard again (``only``) runs it.

The steps run in parallel on Dagster's multiprocess executor (``max_concurrent`` in the run config), or one
pod per step with dagster-k8s' ``k8s_job_executor``.
"""

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    Config,
    ConfigurableResource,
    DynamicOut,
    DynamicOutput,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    job,
    op,
)
from pydantic import Field

from tap_qualtrics_orchestration.meltano import MeltanoProject, MeltanoResult
from tap_qualtrics_orchestration.plan import ShardRun, plan, state_id_suffix
from tap_qualtrics_orchestration.tables import (
    activation_messages,
    activation_versions,
    schema_messages,
)


class ShardedMeltano(ConfigurableResource):  # type: ignore[type-arg]  # subclassed as documented
    """The Meltano project the shards run in, and how the account is split."""

    project_dir: str = Field(default=".", description="The Meltano project (where meltano.yml is).")
    meltano: str = Field(default="meltano", description="The meltano executable.")
    environment: str | None = Field(
        default=None, description="Meltano environment; default: the project's default_environment."
    )
    env_file: str | None = Field(
        default=None, description="Meltano's --env-file; default: the project's .env."
    )
    extractor: str = "tap-qualtrics"
    loader: str = "target-postgres"
    shards: int = Field(default=3, description="How many shards split the account.")
    rate_limits_per_minute: dict[str, int] | None = Field(
        default=None,
        description=(
            "The brand's request budget per minute, which the shards share equally; default: the "
            "extractor's rate_limits_per_minute as the project configures it, else Qualtrics' limits."
        ),
    )
    log_dir: str | None = Field(
        default=None,
        description="Where each step's Meltano log is written; default <project>/output/shards.",
    )

    def project(self) -> MeltanoProject:
        project = MeltanoProject(
            Path(self.project_dir).resolve(),
            executable=self.meltano,
            environment=self.environment,
            env_file=self.env_file,
            extractor=self.extractor,
            loader=self.loader,
        )
        if not project.environment_name:  # without one, `meltano run` keeps no state at all
            raise Failure(
                description="Shards need a Meltano environment: set default_environment in meltano.yml, "
                "MELTANO_ENVIRONMENT, or the environment setting."
            )
        return project

    def log_path(self, name: str) -> Path:
        directory = (
            Path(self.log_dir)
            if self.log_dir
            else Path(self.project_dir).resolve() / "output" / "shards"
        )
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{name}.log"

    def shard_runs(
        self, only: list[int] | None = None, brand_limits: dict[str, int] | None = None
    ) -> list[ShardRun]:
        return plan(self.shards, only or (), brand_limits)

    def brand_limits(self) -> dict[str, int]:
        """The brand's budget the shards share: as given, else the extractor's ``rate_limits_per_minute``
        as the project configures it (``meltano config print``); ``{}``: Qualtrics' limits."""
        if self.rate_limits_per_minute:
            return dict(self.rate_limits_per_minute)
        result = self.project().run(["config", "print", self.extractor])
        _check(result, "meltano config print")
        configured = json.loads(result.stdout or "{}").get("rate_limits_per_minute")
        return dict(configured) if isinstance(configured, dict) else {}

    def catalog(self) -> dict[str, Any]:
        """The catalog Meltano hands the extractor (selection applied)."""
        result = self.project().run(
            ["invoke", "--dump=catalog", self.extractor], log=self.log_path("catalog")
        )
        _check(result, "meltano invoke --dump=catalog")
        catalog: dict[str, Any] = json.loads(result.stdout)
        return catalog

    def send_to_loader(self, messages: list[dict[str, Any]], log_name: str) -> None:
        """Singer messages straight into the loader (``meltano invoke <loader>``)."""
        stdin = "".join(json.dumps(message) + "\n" for message in messages)
        result = self.project().run(
            ["invoke", self.loader], stdin=stdin, log=self.log_path(log_name), echo=sys.stderr
        )
        _check(result, f"meltano invoke {self.loader}")

    def states(self) -> list[dict[str, Any] | None]:
        """Every shard's saved Singer state (``None`` before its first run), from one ``meltano state
        export``: the completed state, with the partial one of a run that failed since laid over it."""
        project = self.project()
        result = project.run(["state", "export"])
        _check(result, "meltano state export")
        exported = json.loads(result.stdout or "{}")
        states = []
        for index in range(self.shards):
            saved = exported.get(project.state_id(state_id_suffix(index))) or {}
            completed = (saved.get("completed") or {}).get("singer_state")
            partial = (saved.get("partial") or {}).get("singer_state")
            states.append(_laid_over(completed, partial) if partial else completed)
        return states


def _laid_over(base: dict[str, Any] | None, top: dict[str, Any]) -> dict[str, Any]:
    """``top`` merged into ``base``, key by key down the dictionaries (as Meltano merges a partial state)."""
    merged = dict(base or {})
    for key, value in top.items():
        below = merged.get(key)
        merged[key] = (
            _laid_over(below, value)
            if isinstance(below, dict) and isinstance(value, dict)
            else value
        )
    return merged


def _check(result: MeltanoResult, what: str) -> None:
    if not result.ok:
        raise Failure(
            description=f"{what} failed (exit {result.returncode}).",
            metadata={"log": MetadataValue.md("```\n" + "\n".join(result.log_tail) + "\n```")},
        )


class PlanConfig(Config):
    """Which shards a run covers."""

    only: list[int] = Field(
        default_factory=list,
        description="Run only these shards (by index), e.g. to run a failed one again; default all.",
    )


@op(
    description=(
        "Create every selected stream's table before the shards load in parallel; then one output per shard."
    ),
    out={"catalog": Out(dict), "brand_limits": Out(dict), "shards": DynamicOut(int)},
)
def prepare_tables(
    context: OpExecutionContext, config: PlanConfig, meltano: ShardedMeltano
) -> Iterator[Output[dict[str, Any]] | DynamicOutput[int]]:
    shards = meltano.shard_runs(config.only)  # refuses an impossible plan before any work
    # one after the other: on a new project the first Meltano command creates its system database, and two
    # creating it at once collide ("table plugin_settings already exists")
    limits = meltano.brand_limits()
    catalog = meltano.catalog()
    messages = schema_messages(catalog)
    meltano.send_to_loader(messages, "prepare")
    context.log.info("%s has the tables of the %d selected streams", meltano.loader, len(messages))
    context.log.info("the brand's budget per minute, shared: %s", limits or "Qualtrics' limits")
    yield Output(catalog, "catalog")
    yield Output(limits, "brand_limits")
    for shard in shards:
        context.log.info("%s: state ID suffix %s", shard.name, shard.state_id_suffix)
        yield DynamicOutput(shard.index, mapping_key=f"shard_{shard.index}", output_name="shards")


@op(description="meltano run for one shard, with its own state ID and settings.")
def run_shard(
    context: OpExecutionContext,
    meltano: ShardedMeltano,
    catalog: dict[str, Any],
    brand_limits: dict[str, int],
    index: int,
) -> int:
    """The shard's ``meltano run``, on the catalog the tables were prepared from (the extractor's
    ``catalog`` extra: every shard reads the same streams, and none runs discovery again), within its
    share of the brand's budget."""
    shard = meltano.shard_runs([index], brand_limits)[0]
    log = meltano.log_path(shard.state_id_suffix)
    context.log.info("%s: meltano run, log in %s", shard.name, log)
    with tempfile.TemporaryDirectory(prefix="shard-catalog-") as directory:
        catalog_file = Path(directory) / "catalog.json"
        catalog_file.write_text(json.dumps(catalog))
        extra = meltano.extractor.upper().replace("-", "_") + "__CATALOG"
        result = meltano.project().run(
            [
                "run",
                "--no-install",
                "--state-id-suffix",
                shard.state_id_suffix,
                meltano.extractor,
                meltano.loader,
            ],
            env={**shard.env(), extra: str(catalog_file)},
            log=log,
            echo=sys.stderr,
        )
    _check(result, f"{shard.name}: meltano run")
    return index


@op(description="ACTIVATE_VERSION for the streams every shard read completely.")
def activate_versions(
    context: OpExecutionContext,
    meltano: ShardedMeltano,
    catalog: dict[str, Any],
    finished: list[int],
) -> dict[str, int]:
    versions, waiting = activation_versions(meltano.states(), meltano.shards)
    if versions:
        meltano.send_to_loader(activation_messages(catalog, versions), "activate")
    context.log.info(
        "shards %s finished; activated %s; waiting for a complete read by every shard: %s",
        finished,
        versions or "nothing",
        ", ".join(waiting) or "nothing",
    )
    return versions


@job(
    description="One Qualtrics account as parallel meltano run shards into one warehouse.",
    resource_defs={"meltano": ShardedMeltano.configure_at_launch()},
)
def qualtrics_shards() -> None:
    catalog, brand_limits, shards = prepare_tables()
    finished = shards.map(lambda index: run_shard(catalog, brand_limits, index))
    activate_versions(catalog, finished.collect())
