"""``tap-qualtrics``: the tap's settings, its streams, and how a run ends (exit code and last words)."""

from __future__ import annotations

import datetime
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import IO, Any

import click
import requests
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.tap_base import CliTestOptionValue

from tap_qualtrics._compat import override
from tap_qualtrics.http.client import QualtricsStream
from tap_qualtrics.output import TapMessageWriter, flush_all
from tap_qualtrics.redaction import Redactor
from tap_qualtrics.run import SyncRun, collect_failures
from tap_qualtrics.settings import (
    API_PATH,
    CONFIG_JSONSCHEMA,
    explain_schema_error,
    refuse_unknown_settings,
)
from tap_qualtrics.streams import (
    BlocksStream,
    ContactsStream,
    DirectoriesStream,
    DistributionContactsStream,
    DistributionsStream,
    DivisionsStream,
    ExportColumnsStream,
    GroupsStream,
    LiveResponseIdsStream,
    MailingListContactsStream,
    MailingListsStream,
    QuestionChoicesStream,
    QuestionsStream,
    ResponseAnswersStream,
    ResponseDeletionChecksStream,
    ResponseEmbeddedDataStream,
    ResponseInProgressAnswersStream,
    ResponseInProgressEmbeddedDataStream,
    ResponsesInProgressStream,
    ResponsesStream,
    SubQuestionsStream,
    SurveysStream,
    UsersStream,
)
from tap_qualtrics.termination import TerminationRequested, install_stop_handlers


class TapQualtrics(Tap):
    """Singer tap for Qualtrics: surveys, questions, responses (through the export API), users, XM
    Directory (directories, contacts, mailing lists), distributions, groups and divisions."""

    #: the one output channel: every message, in order (tap_qualtrics/output.py)
    message_writer_class = TapMessageWriter

    name = "tap-qualtrics"
    config_jsonschema = CONFIG_JSONSCHEMA

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # in place of the SDK's handlers, which write the in-memory state and exit 0: a stop reads as success
        install_stop_handlers(self.run.stopping)
        if isinstance(self.message_writer, TapMessageWriter):
            self.run.writer = self.message_writer
        if kwargs.get("validate_config", True):
            # the SDK has checked the JSON-schema types; a config that cannot work fails here, before any request
            refuse_unknown_settings(self.config, self.config_jsonschema["properties"])
            _ = self.run.settings
            # a sync (discovery builds the tap without the mapper: its catalog must not depend on the shard)
            if kwargs.get("setup_mapper", True):
                self._leave_account_streams_to_shard_0()

    def _leave_account_streams_to_shard_0(self) -> None:
        """A shard other than 0 does not read the account-wide streams (tap_qualtrics/shards.py)."""
        shard = self.run.settings.shard
        if shard is None:
            return
        account = [
            stream
            for stream in self.streams.values()
            if isinstance(stream, QualtricsStream) and stream.account_wide and stream.selected
        ]
        names = ", ".join(stream.name for stream in account) or "none selected"
        if shard.reads_account_streams:
            also = f", and the account-wide streams ({names})"
        else:
            also = f"; the account-wide streams ({names}) are left to shard 0"
            for stream in account:
                stream.selected = False
        self.logger.info(
            "This run is %s: it syncs the surveys and directories that belong to it%s.", shard, also
        )

    @cached_property
    def run(self) -> SyncRun:
        """This run's shared settings, authenticator and failure ledger."""
        return SyncRun(
            self.config,
            started_at=datetime.datetime.fromtimestamp(self.initialized_at / 1000, datetime.UTC),
            required_scopes=self._required_scopes,
        )

    @override
    def discover_streams(self) -> list[Stream]:
        return [
            SurveysStream(self, run=self.run),
            QuestionsStream(self, run=self.run),
            ResponsesStream(self, run=self.run),
            UsersStream(self, run=self.run),
            QuestionChoicesStream(self, run=self.run),
            SubQuestionsStream(self, run=self.run),
            BlocksStream(self, run=self.run),
            ExportColumnsStream(self, run=self.run),
            ResponseAnswersStream(self, run=self.run),
            ResponseEmbeddedDataStream(self, run=self.run),
            ResponsesInProgressStream(self, run=self.run),
            ResponseInProgressAnswersStream(self, run=self.run),
            ResponseInProgressEmbeddedDataStream(self, run=self.run),
            ResponseDeletionChecksStream(self, run=self.run),
            LiveResponseIdsStream(self, run=self.run),
            DirectoriesStream(self, run=self.run),
            ContactsStream(self, run=self.run),
            MailingListsStream(self, run=self.run),
            MailingListContactsStream(self, run=self.run),
            DistributionsStream(self, run=self.run),
            DistributionContactsStream(self, run=self.run),
            GroupsStream(self, run=self.run),
            DivisionsStream(self, run=self.run),
        ]

    def _required_scopes(self) -> tuple[str, ...]:
        """OAuth scopes the selected streams need (the default of ``oauth_scopes``)."""
        needed = {
            scope
            for stream in self.streams.values()
            if isinstance(stream, QualtricsStream)
            and (stream.selected or stream.has_selected_descendents)
            for scope in stream.required_scopes
        }
        return tuple(sorted(needed))

    @classmethod
    @override
    def cb_discover(
        cls,
        ctx: click.Context,
        param: click.Option,  # noqa: ARG003 - click's callback signature
        value: bool,
    ) -> None:
        """``--discover`` checks a config as a sync does, so a misspelt setting or missing credentials are
        refused now, not at the first sync.

        Without any config (no ``--config``, or an empty ``{}``) the catalog is printed unchecked: the
        streams and schemas are static and need no credentials, and the SDK's ``--about``-style tools and
        ``meltano select --list`` on a project without settings yet rely on that.
        """
        if not value:
            return
        config, parse_env = _config_input(ctx)
        with cls._one_sentence_on_failure(config):
            tap = cls(
                config=config,
                parse_env_config=parse_env,
                validate_config=bool(config) or parse_env,  # the checks of a sync (see __init__)
                setup_mapper=False,
            )
            tap.run_discovery()
        ctx.exit()

    @classmethod
    @override
    def cb_test(
        cls,
        ctx: click.Context,
        param: click.Option,  # noqa: ARG003 - click's callback signature
        value: str,
    ) -> None:
        """``--test``: check the config, then read up to one record of every stream (the SDK's dry run).

        Ends with one INFO line when the check passed, or one ERROR sentence and exit code 1 when it did
        not (a config that cannot work, refused credentials, an unreachable host, a failed stream).
        """
        if value == CliTestOptionValue.Disabled.value:
            return
        config, parse_env = _config_input(ctx)
        with cls._one_sentence_on_failure(config):
            tap = cls(config=config, parse_env_config=parse_env, validate_config=True)
            if value == CliTestOptionValue.Schema.value:
                tap.write_schemas()
            else:
                tap.run_connection_test()
            flush_all()
        if value != CliTestOptionValue.Schema.value:
            origin = tap.run.settings.api_root.removesuffix(API_PATH)
            cls.logger.info(
                "Connection test passed: Qualtrics at %s accepted the credentials and every stream "
                "read its first records.",
                origin,
            )
        ctx.exit()

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        """Run a sync; end with one clear sentence and a non-zero exit code when anything failed."""
        values = dict(config.config) if config is not None else {}
        with cls._one_sentence_on_failure(values):
            super().invoke(
                about=about,
                about_format=about_format,
                config=config,
                state=state,
                catalog=catalog,
            )
            flush_all()  # the last records, when no STATE followed them

    @classmethod
    @contextmanager
    def _one_sentence_on_failure(cls, config: Mapping[str, Any]) -> Iterator[None]:
        """Run the block; if it fails, or any stream or survey failed in it, log one sentence and exit 1."""
        redact = Redactor(config.get(key) for key in ("api_token", "client_id", "client_secret"))
        with collect_failures() as failures:
            try:
                yield
            except ConfigValidationError as error:
                for sentence in error.errors or [str(error)]:
                    cls.logger.error(redact(explain_schema_error(str(sentence))))
                sys.exit(1)
            except (FatalAPIError, RetriableAPIError) as error:
                cls.logger.error(redact(str(error)))
                sys.exit(1)
            except requests.RequestException as error:
                cls.logger.error("Could not reach Qualtrics: %s", redact(str(error)))
                sys.exit(1)
            except TerminationRequested as stop:
                _exit_stopped(stop.signum)
        if failures:
            cls.logger.error(failures.summary())
            sys.exit(1)


def _config_input(ctx: click.Context) -> tuple[dict[str, Any], bool]:
    """The merged ``--config`` files and whether ``--config ENV`` was given (the SDK's parsed option)."""
    given = ctx.params.get("config")
    return dict(getattr(given, "config", None) or {}), bool(getattr(given, "parse_env", False))


def _exit_stopped(signum: int) -> None:
    """End the process at once, non-zero (128 + the signal, as a shell reports it).

    Every message written so far goes out (the writer's buffer is flushed here) and every STATE written
    covers only records written before it, so the next run resumes without a gap. Exports still in flight
    are abandoned rather than waited for: their threads die with the process, and their temporary files,
    already unlinked when created, go with it.
    """
    name = signal.Signals(signum).name
    TapQualtrics.logger.error(
        "Stopped by %s before the sync finished; the next run resumes from the last STATE written.",
        name,
    )
    flush_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)
