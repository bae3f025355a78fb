"""``tap-eaccounting``: the Singer tap for the Visma eAccounting (Spiris) API v2."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from eaccounting_api import paging, spec
from eaccounting_api.connection import CONNECTION_SETTINGS, DEFAULT_API_URL, DEFAULT_MAX_CONCURRENCY
from eaccounting_api.errors import FatalError, ReauthorizationRequired
from tap_eaccounting import auth_cli, fan_out
from tap_eaccounting.client import AccountBalancesStream, EAccountingStream
from tap_eaccounting.message_writer import BufferedMsgSpecWriter
from tap_eaccounting.run_summary import (
    FAILED,
    OK,
    STOPPED,
    CountingWriter,
    RunSummary,
    StreamOutcome,
    describe_fallbacks,
)
from tap_eaccounting.runtime import Runtime
from tap_eaccounting.single_object import SingleObjectStream
from tap_eaccounting.state_gate import StateGate, forget_unfinished
from tap_eaccounting.stream_failures import Failure, api_mismatch, api_mismatch_failure, classify
from tap_eaccounting.stream_scheduler import (
    DEFAULT_MAX_PARALLEL_STREAMS,
    RunStopped,
    StreamCounter,
    StreamScheduler,
    start_order,
)
from tap_eaccounting.streams import BY_NAME, ENDPOINTS, FAN_OUT_STREAMS, SINGLE_OBJECT_STREAMS, STREAMS


class _DropMessages(logging.Filter):
    """Drops the SDK's log records whose message (format string) starts with one of ``prefixes``."""

    def __init__(self, *prefixes: str) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


# The SDK warns "Stream is assumed to be unsorted, progress is not resumable if interrupted" once per
# stream and partition, because ``is_sorted = False``: pages come in Id order, so a bookmark is final
# only when the stream (partition) is. That is by design and stated once in the README ("Limitations");
# an interrupted stream resumes from its previous bookmark, which ``_keep_finished_work`` keeps.
# The streams that read through the run's shared ``Runtime`` (its client's request counts, its settings).
API_STREAMS = (EAccountingStream, SingleObjectStream)
UNSORTED_NOISE = _DropMessages("Stream is assumed to be unsorted")
# ``Stream.sync`` logs this before re-raising; ``sync_selected`` reports the failure in one line itself.
SYNC_ERROR_NOISE = _DropMessages("An unhandled error occurred while syncing")


class TapEAccounting(Tap):
    """Every list endpoint of the eAccounting API v2, incremental where the API allows."""

    name = "tap-eaccounting"
    package_name = "eaccounting-singer"  # the distribution whose version --about prints
    # msgspec encoding, and one stdout write per ~1 MB of records instead of one per record; counting
    # records per stream for the run summary.
    message_writer_class = CountingWriter

    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS,
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Lower bound of the replication key on the first run of an incremental stream.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=paging.DEFAULT_PAGE_SIZE,
            description="Records per page ($pagesize); an endpoint that serves fewer is asked for what it "
            "serves (learned from its answers, kept in state).",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=DEFAULT_MAX_CONCURRENCY,
            description="Pages (or parents of a child stream) fetched at once, shared by the streams "
            "running at once.",
        ),
        th.Property(
            "max_parallel_streams",
            th.IntegerType,
            default=DEFAULT_MAX_PARALLEL_STREAMS,
            description="Streams synced at once (after a first one has synced); 1 syncs them one after "
            "another.",
        ),
        th.Property(
            "detect_deletes",
            th.BooleanType,
            default=False,
            description="Compare each run's ids with the previous run's (a digest kept in state) and emit "
            "the missing ones with _sdc_deleted_at. Costs one full id scan per stream and run.",
        ),
        th.Property(
            "strict_completeness",
            th.BooleanType,
            default=False,
            description="Fail a stream whose distinct records stay below the server's TotalNumberOfResults "
            "after a re-read (by default a warning with the counts). For sources without churn.",
        ),
        th.Property(
            "account_balance_dates",
            th.ArrayType(th.StringType),
            default=["today", "fiscal_year_ends"],
            description="Dates for account_balances: YYYY-MM-DD, 'today' or 'fiscal_year_ends'.",
        ),
        th.Property(
            fan_out.SETTING,
            th.ArrayType(th.StringType),
            default=[],
            description="Fan-out streams to sync when selected: "
            + ", ".join(FAN_OUT_STREAMS)
            + ". Each costs one request per record of its parent (customer, voucher), so a selected "
            "fan-out stream this list leaves out is not synced (Meltano selects '*.*').",
        ),
        th.Property(
            "fail_fast",
            th.BooleanType,
            default=False,
            description="Stop the run at the first failing stream (no other stream starts, the ones running "
            "stop at their next record). By default the other streams go on and the run exits 3 at the end "
            "(README: Exit codes).",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if problem := fan_out.setting_problem(self.config):
            if kwargs.get("validate_config", True):
                raise ConfigValidationError("Config validation failed", errors=[problem])
            self.logger.warning("%s", problem)
        sdk_logger = logging.getLogger("singer_sdk")
        if UNSORTED_NOISE not in sdk_logger.filters:
            sdk_logger.addFilter(UNSORTED_NOISE)
        self._state_gate = StateGate(self.message_writer)

    @property
    def state_writer(self) -> StateGate:  # type: ignore[override]
        """What the SDK's streams write STATE through: the ``StateGate`` (``state_gate`` says why)."""
        return self._state_gate

    def discover_streams(self) -> Sequence[Stream]:
        runtime = Runtime(self.config)
        streams: list[Stream] = []
        for definition in STREAMS:
            cls = AccountBalancesStream if definition.name == "account_balances" else EAccountingStream
            streams.append(cls(self, definition, runtime))
        streams.extend(SingleObjectStream(self, single, runtime) for single in SINGLE_OBJECT_STREAMS)
        return streams

    # -- the run: the selected streams side by side, each on its own ----------------------------------
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: Any = None,
        catalog: Any = None,
    ) -> None:
        """``Tap.invoke`` with ``sync_selected`` where it calls ``sync_all``, and the run's exit code.

        ``Tap.sync_all`` is ``@final`` and ends at the first failing stream, without flushing the buffered
        writer or writing a STATE; so this does what ``Tap.invoke`` does (``--about``, the version line,
        the tap from ``--config``/``--state``/``--catalog``) and then runs ``sync_selected``."""
        super(Tap, cls).invoke(about=about, about_format=about_format)  # PluginBase: --about
        cls.print_version(print_fn=cls.logger.info)
        tap = cls(
            config=config.config if config is not None else None,
            state=None if state is None else json.load(state),
            catalog=None if catalog is None else json.load(catalog),
            parse_env_config=bool(config is not None and config.parse_env),
            validate_config=True,
        )
        try:
            summary = tap.sync_selected()
        except ReauthorizationRequired:
            raise  # cli(): one message, exit 2
        except FatalError as exc:  # an unusable token store
            cls.logger.error("%s", exc)
            raise SystemExit(exc.exit_code) from None
        if summary.exit_code:
            raise SystemExit(summary.exit_code)

    def sync_selected(self) -> RunSummary:
        """Sync every selected stream, up to ``max_parallel_streams`` at once (``stream_scheduler``;
        README "Throughput", "Exit codes").

        A stream that fails has its records flushed, one ERROR line logged (traceback at DEBUG) and a
        STATE written that keeps what finished (``_keep_finished_work``); the other streams go on, unless
        ``fail_fast`` or the failure is the run's (``stream_failures``): then the run stops (no stream
        starts, running ones end at their next record). A ``FatalError`` or an unexpected error stops
        the run the same way, and propagates once the running streams ended. Every run ends with the
        summary block (``run_summary``). Deselected streams are skipped without a log line; a selected
        fan-out stream that ``fan_out_streams`` does not enable is skipped with one INFO line, and
        listed in the summary as skipped."""
        summary = RunSummary()
        selected = [s for s in self.streams.values() if s.selected]
        for stream in self.streams.values():  # the catalog's order
            if stream.selected:
                summary.add(stream.name)
            elif isinstance(stream, EAccountingStream) and stream.held_back:
                self.logger.info("%s", fan_out.not_enabled_message(stream.name))
                summary.add(stream.name).skip(fan_out.SKIP_REASON)
        for stream_state in self.state.get("bookmarks", {}).values():
            forget_unfinished(stream_state)  # a killed run's leftovers (as Tap.sync_all does)
        if self.state:
            self.state_writer.write_state(self.state)
        parallel = int(self.config.get("max_parallel_streams") or DEFAULT_MAX_PARALLEL_STREAMS)
        scheduler = StreamScheduler(parallel, self.logger)
        try:
            if problem := self._client_problem(selected):
                self.logger.error("%s", problem)
                summary.run_error = True
                return summary
            if isinstance(writer := self.message_writer, CountingWriter):
                writer.before_record = scheduler.check  # a stopping run ends a stream at its next record
            with self._state_gate.scheduled(self.state), scheduler.stopping_on_signals():
                self._sync_scheduled(scheduler, selected, summary)
        finally:
            if isinstance(writer := self.message_writer, CountingWriter):
                writer.before_record = None
            summary.interrupted = scheduler.interrupted_by
            self._flush()
            for stream in selected:
                stream.log_sync_costs()
            self.logger.info("%s", summary.table())
        return summary

    def _sync_scheduled(
        self, scheduler: StreamScheduler, selected: list[Stream], summary: RunSummary
    ) -> None:
        """Run the streams and act on each one's end, in this (the coordinating) thread."""
        api_url = str(self.config.get("api_url") or DEFAULT_API_URL)
        any_ok, api_checked = False, False
        outcomes = summary.outcomes
        for stream, ended in scheduler.run(
            start_order(selected), lambda s: self._sync_stream(s, outcomes[s.name])
        ):
            if outcomes[stream.name].status == OK:
                any_ok = True
                scheduler.open()
                continue
            if ended is None:
                continue  # stopped with the run
            failure = ended
            if (
                failure.maybe_wrong_api
                and not any_ok
                and not api_checked
                and isinstance(stream, EAccountingStream)
            ):
                # Nothing answered like the API yet: is api_url the API at all? (one request)
                api_checked = True
                if mismatch := api_mismatch(stream.runtime.client):
                    failure = api_mismatch_failure(api_url, mismatch)
            self.logger.error("%s", failure.message)
            if failure.run_level:
                summary.run_error = True
                summary.run_exit = failure.exit_code
                scheduler.stop("run-level error")
            elif self.config.get("fail_fast"):
                scheduler.stop("fail_fast")

    def _sync_stream(self, stream: Stream, outcome: StreamOutcome) -> Failure | None:
        """Sync one stream (in a worker thread); the failure it ended with, or ``None`` (synced, or
        stopped with the run: ``outcome.status`` says which). Raises what stops the run."""
        runtime = stream.runtime if isinstance(stream, API_STREAMS) else None
        counts = self._counts(stream)
        records, started = self._records(stream.name), time.monotonic()
        if SYNC_ERROR_NOISE not in stream.logger.filters:
            stream.logger.addFilter(SYNC_ERROR_NOISE)
        finished = False
        try:
            stream.sync()
            stream.finalize_state_progress_markers()
            finished = True
            outcome.status = OK
            return None
        except RunStopped:
            outcome.status = STOPPED
            return None
        except Exception as exc:
            self.logger.debug("%s failed", stream.name, exc_info=True)
            outcome.error = type(exc).__name__
            failure = None if isinstance(exc, FatalError) else classify(exc, stream.name, self.config)
            if failure is None:
                outcome.status = STOPPED
                raise
            outcome.status = FAILED
            return failure
        finally:
            if not finished:
                self._keep_finished_work(stream, runtime)
            self.state_writer.write_state(self.state)  # dropped by the state gate if nothing changed
            self._flush()  # every record emitted so far reaches stdout, whatever comes next
            outcome.records = self._records(stream.name) - records
            outcome.seconds = time.monotonic() - started
            used = self._counts(stream) - counts
            outcome.requests, outcome.rate_limited, outcome.retries = (
                used["requests"],
                used["429"],
                used["retries"],
            )
            if runtime is not None:
                outcome.fallbacks = describe_fallbacks(runtime.capabilities.export(stream.name))

    @staticmethod
    def _client_problem(selected: list[Stream]) -> str | None:
        """What keeps the shared API client from being built (a setting, a token store already used by
        another client_id in this process), as one line; ``None`` when it is built."""
        for stream in selected:
            if isinstance(stream, API_STREAMS):
                try:
                    stream.runtime.client  # noqa: B018 - built once (a cached_property), shared by all streams
                except ValueError as exc:
                    return f"configuration: {exc}"
        return None

    @staticmethod
    def _keep_finished_work(stream: Stream, runtime: Runtime | None) -> None:
        """After a failed sync: the partitions that finished keep their new bookmarks, the rest keep their
        old ones (``forget_unfinished``); what was learned about the endpoints is kept too."""
        forget_unfinished(stream.stream_state)
        if runtime is not None:
            runtime.capabilities.keep_in(stream.name, stream.stream_state)

    def _flush(self) -> None:
        writer = self.message_writer
        if isinstance(writer, BufferedMsgSpecWriter):
            writer.flush()

    def _records(self, stream: str) -> int:
        writer = self.message_writer
        return writer.records[stream] if isinstance(writer, CountingWriter) else 0

    @staticmethod
    def _counts(stream: Stream) -> Counter[str]:
        """What the shared client counted for ``stream`` so far (requests, retries, 429s)."""
        stats = stream.runtime.client.stats if isinstance(stream, API_STREAMS) else None
        return stats.of(stream.name) if isinstance(stats, StreamCounter) else Counter()


def stream_scopes() -> dict[str, tuple[str, ...]]:
    """Scopes that let each stream through: the endpoint's scopes that its parent's endpoint (a child lists
    its parent's ids itself) and its sibling's (the no-change probe) accept too."""
    result: dict[str, tuple[str, ...]] = {}
    for definition in STREAMS:
        scopes = set(ENDPOINTS[definition.path].scopes)
        parent = definition.parent or ("fiscal_years" if definition.name == "account_balances" else None)
        for other in (parent, definition.sibling):
            if other:
                scopes &= set(ENDPOINTS[BY_NAME[other].path].scopes)
        result[definition.name] = tuple(sorted(scopes))
    for single in SINGLE_OBJECT_STREAMS:
        result[single.name] = tuple(sorted(spec.scopes("GET", single.path)))
    return result


def cli(argv: Sequence[str] | None = None) -> Any:
    """Console entry point: ``tap-eaccounting [--config ...] auth url|exchange|status ...`` or the Singer
    tap CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    at = auth_cli.auth_position(args)
    if at is not None:
        auth_args = auth_cli.singer_auth_args(args[:at] + args[at + 1 :])
        raise SystemExit(auth_cli.main(auth_args, stream_scopes=stream_scopes()))
    with auth_cli.exit_on_reauthorization():
        return TapEAccounting.cli(args=args)


if __name__ == "__main__":
    cli()
