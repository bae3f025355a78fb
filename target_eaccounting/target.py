"""target-eaccounting: the Singer target class, its settings and the CLI entry point."""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

import click
from singer_sdk import Target
from singer_sdk import typing as th

from eaccounting_api.connection import CONNECTION_SETTINGS, DEFAULT_MAX_CONCURRENCY, client_from_config
from target_eaccounting import run_errors
from target_eaccounting.message_reader import BadMessage, LineNumberingReader
from target_eaccounting.record_errors import RecordError, TooManyFailedRecordsError
from target_eaccounting.rejects import replay_messages
from target_eaccounting.run import DEFAULT_LEDGER, DEFAULT_PLAN, DEFAULT_REJECTS, RunContext
from target_eaccounting.sinks import EAccountingSink
from target_eaccounting.stream_specs import STREAMS, stream_spec

_STREAM_NAMES = ", ".join(sorted(STREAMS))


class TargetEAccounting(Target):
    """Writes customers, suppliers, articles, invoices, drafts, payments and vouchers to eAccounting."""

    name = "target-eaccounting"
    package_name = "eaccounting-singer"  # the distribution whose version --about prints
    default_sink_class = EAccountingSink

    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS,
        th.Property("ledger_path", th.StringType, default=DEFAULT_LEDGER, description="SQLite write ledger."),
        th.Property("reject_path", th.StringType, default=DEFAULT_REJECTS, description="Reject JSONL file."),
        th.Property("plan_path", th.StringType, default=DEFAULT_PLAN, description="Dry-run plan (JSONL)."),
        th.Property(
            "max_failed_records",
            th.IntegerType,
            default=0,
            description="Rejected records tolerated; above it the run exits non-zero (after flushing).",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description="Validate everything and write the plan to plan_path without any write request.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=DEFAULT_MAX_CONCURRENCY,
            description="Writes in flight.",
        ),
        th.Property(
            "external_key_properties",
            th.ObjectType(additional_properties=th.StringType),
            description="Per stream, the source field holding the record's external key. Default: a hash "
            "of the record (master data: its number).",
        ),
        th.Property(
            "reference_fields",
            th.ObjectType(additional_properties=th.StringType),
            description="Per stream, the API field that carries the external key on the created object "
            "(default YourReference for invoices and drafts, Reference for payments).",
        ),
        th.Property(
            "convert_drafts", th.BooleanType, default=False, description="Convert drafts to invoices."
        ),
        th.Property(
            "inject_fiscal_year_id",
            th.BooleanType,
            default=True,
            description="Send FiscalYearId (the year of the document's own date) on invoices and payments.",
        ),
        th.Property("max_write_attempts", th.IntegerType, default=3, description="POSTs per record at most."),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # a bad input line is rejected with its line number instead of stopping the run
        reader = kwargs.pop("message_reader", None) or LineNumberingReader(self._reject_message)
        super().__init__(*args, message_reader=reader, **kwargs)
        # Sinks drain one after another (a payment sink drains the invoice sinks first);
        # the concurrency is inside each batch, bounded by max_concurrency.
        self.max_parallelism = 1
        self._run: RunContext | None = None
        self._run_lock = threading.Lock()
        self._closed = False

    def get_sink_class(self, stream_name: str) -> type[EAccountingSink]:
        stream_spec(stream_name)  # raises UnknownStreamError for a stream no API object matches
        return EAccountingSink

    @property
    def run(self) -> RunContext:
        with self._run_lock:
            if self._run is None:
                config = dict(self.config)
                client = client_from_config(config, max_concurrency=int(config.get("max_concurrency") or 4))
                self._run = RunContext(config, self.logger, client)
            return self._run

    @property
    def input_line(self) -> int | None:
        """The number of the input line being handled (a record's line, while the SDK hands it over)."""
        reader = self.message_reader
        return reader.line_number if isinstance(reader, LineNumberingReader) else None

    def _reject_message(self, bad: BadMessage) -> None:
        self.run.outcomes.reject(
            bad.stream,
            None,
            bad.record,
            RecordError(bad.reason, bad.message, field=bad.field),
            line_number=bad.line_number,
            raw_line=bad.raw_line,
        )

    def drain_streams(self, names: tuple[str, ...]) -> None:
        for name in names:
            if self.sink_exists(name):
                self.drain_one(self.get_sink(name))

    def abort(self) -> None:
        """A run stopped by an error (e.g. the grant needs re-authorization) still flushes the reject
        file and the ledger, and still ends with its summary line."""
        if self._run is not None and not self._closed:
            self._close_run()

    def _close_run(self) -> None:
        assert self._run is not None
        self._closed = True
        self._run.close()
        self.logger.info(self._run.outcomes.summary())

    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        if self._run is None:
            self.logger.info("target-eaccounting summary: created=0 updated=0 skipped=0 rejected=0")
            return
        outcomes = self._run.outcomes
        self._close_run()
        rejected = outcomes.counts["rejected"]
        if rejected and outcomes.dry_run:
            self.logger.warning(
                "dry run: %d record(s) would be rejected, see %s", rejected, self.config.get("plan_path")
            )
        if not outcomes.dry_run and rejected > int(self.config.get("max_failed_records") or 0):
            raise TooManyFailedRecordsError(
                f"{rejected} record(s) rejected, more than max_failed_records="
                f"{int(self.config.get('max_failed_records') or 0)}; see {outcomes.rejects.path}, fix the "
                f"records and run `target-eaccounting --config CONFIG --replay {outcomes.rejects.path}`"
            )

    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        command.params.append(
            click.Option(
                ["--replay", "replay"],
                type=click.Path(exists=True, dir_okay=False),
                default=None,
                help="Replay the records of a reject file (JSONL) instead of reading standard input.",
            )
        )
        return command

    @classmethod
    def invoke(cls, *, replay: str | None = None, **kwargs: Any) -> None:
        if replay:
            kwargs["file_input"] = io.StringIO("".join(m + "\n" for m in replay_messages(replay)))
        try:
            super().invoke(**kwargs)
        except run_errors.KNOWN_ERRORS as exc:  # exit codes: README, target-eaccounting "Exit codes"
            for line in run_errors.report_lines(exc):
                cls.logger.error("%s", line)
            cls.logger.debug("the error's traceback:", exc_info=exc)
            sys.exit(run_errors.exit_code(exc))


cli = TargetEAccounting.cli

__all__ = ["TargetEAccounting", "cli"]
