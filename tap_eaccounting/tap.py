"""``tap-eaccounting``: the Singer tap for the Visma eAccounting (Spiris) API v2."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from eaccounting_api import paging
from eaccounting_api.connection import CONNECTION_SETTINGS, DEFAULT_MAX_CONCURRENCY
from tap_eaccounting import auth_cli
from tap_eaccounting.client import AccountBalancesStream, EAccountingStream, Runtime
from tap_eaccounting.message_writer import BufferedMsgSpecWriter
from tap_eaccounting.streams import BY_NAME, ENDPOINTS, STREAMS


class TapEAccounting(Tap):
    """Every list endpoint of the eAccounting API v2, incremental where the API allows."""

    name = "tap-eaccounting"
    package_name = "eaccounting-singer"  # the distribution whose version --about prints
    # msgspec encoding, and one stdout write per ~1 MB of records instead of one per record.
    message_writer_class = BufferedMsgSpecWriter

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
            description="Pages (or parents of a child stream) fetched at once.",
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
    ).to_dict()

    def discover_streams(self) -> Sequence[Stream]:
        runtime = Runtime(self.config)
        streams: list[Stream] = []
        for definition in STREAMS:
            cls = AccountBalancesStream if definition.name == "account_balances" else EAccountingStream
            streams.append(cls(self, definition, runtime))
        return streams


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
    return result


def selected_streams(catalog: dict[str, Any]) -> list[str]:
    """Stream ids a Singer catalog selects (``selected``, else ``selected-by-default``)."""
    names = []
    for entry in catalog.get("streams", []):
        for md in entry.get("metadata", []):
            if md.get("breadcrumb") == []:
                meta = md.get("metadata", {})
                if meta.get("selected", meta.get("selected-by-default", False)):
                    names.append(entry["tap_stream_id"])
    return names


def _auth_args(args: list[str]) -> list[str]:
    """Accept ``--config`` anywhere (``auth url --config c.json``), as the re-authorize message shows,
    and ``--catalog FILE`` for ``auth url``: the streams it selects become ``--stream`` arguments."""
    configs: list[str] = []
    rest: list[str] = []
    selected: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--config":
            configs += [arg, next(items, "")]
        elif arg.startswith("--config="):
            configs.append(arg)
        elif arg == "--catalog" or arg.startswith("--catalog="):
            path = arg.split("=", 1)[1] if "=" in arg else next(items, "")
            catalog = json.loads(Path(path).read_text("utf-8"))
            for name in selected_streams(catalog):
                selected += ["--stream", name]
        else:
            rest.append(arg)
    return configs + rest + selected  # --stream belongs to the `url` subcommand: after it


def cli(argv: Sequence[str] | None = None) -> Any:
    """Console entry point: ``tap-eaccounting auth url|exchange|status ...`` or the Singer tap CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "auth":
        raise SystemExit(auth_cli.main(_auth_args(args[1:]), stream_scopes=stream_scopes()))
    with auth_cli.exit_on_reauthorization():
        return TapEAccounting.cli(args=args)


if __name__ == "__main__":
    cli()
