"""Replication keys shown with less precision than the server compares (a date alone, whole seconds,
another offset; sandbox switch ``date_shapes``): the reader neither drops a row nor takes a filtered page
for an ignored ``$filter``, and its tail is keyed on ``Id``, so no cursor holds a timestamp."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import pytest

from eaccounting_api import paging
from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.list_query import ListQuery, ReadStats
from tap_eaccounting.list_read import ReadContext, latest_ticks

from .conftest import COMPANY, object_ids, run_tap, tap_config

DAY = 86_400 * 10_000_000
SECOND = 10_000_000


@pytest.mark.parametrize(
    ("shown", "slack"),
    [
        ("2026-01-31", DAY - 1),
        ("2026-01-31T10:00Z", 60 * SECOND - 1),
        ("2026-01-31T10:00:00Z", SECOND - 1),
        ("2026-01-31T10:00:00", SECOND - 1),
        ("2026-01-31T11:00:00+01:00", SECOND - 1),
        ("2026-01-31T10:00:00.123Z", 10_000 - 1),
        ("2026-01-31T10:00:00.1234567Z", 0),
    ],
)
def test_the_latest_instant_a_shown_timestamp_may_stand_for(shown: str, slack: int) -> None:
    assert latest_ticks(shown) - paging.instant_ticks(shown) == slack
    assert paging.instant_ticks(shown) == paging.instant_ticks(paging.odata_instant(shown))


@pytest.mark.parametrize(
    ("shown", "kept"),
    [
        ("2026-01-31", True),  # may be any time that day
        ("2026-01-30", False),
        ("2026-01-31T09:59:59Z", False),
        ("2026-01-31T10:00:00Z", True),
        ("2026-01-31T10:59:59+01:00", False),
        ("2026-01-31T11:00:00+01:00", True),
        ("2026-01-31T10:00", True),  # may be 10:00:30
    ],
)
def test_the_since_bound_keeps_every_row_that_may_be_after_it(shown: str, kept: bool) -> None:
    q = ListQuery("s", "/x", {}, ("Id",), replication_key="ModifiedUtc", since="2026-01-31T10:00:00.5Z")
    unused = cast(Any, None)
    ctx = ReadContext(q, unused, unused, unused, 1, logging.getLogger("test"), ReadStats())
    assert ctx.keep({"Id": 1, "ModifiedUtc": shown}) is kept


@pytest.mark.parametrize("shape", ["date_only", "mixed"])
def test_dates_shown_without_their_time_lose_no_modified_row(
    fresh_sandbox: SandboxServer, tmp_path: Path, shape: str
) -> None:
    """Rows modified today are shown as today's date, before a bookmark set earlier today: the
    client-side bound keeps them, and neither the filtered reads nor the sibling probe are taken for
    a server that ignores ``$filter``."""
    fresh_sandbox.admin("POST", "config", {"date_shapes": shape})
    config = tap_config(fresh_sandbox, tmp_path, page_size=20)
    streams = ["customers", "vouchers"]
    first = run_tap(config, streams)
    assert len(first.records["customers"]) == 80
    changed = fresh_sandbox.admin(
        "POST", "churn", {"company": COMPANY, "updates": 50, "collections": ["customers", "vouchers"]}
    )
    second = run_tap(config, streams, state=first.state)
    for stream, collection in (("customers", "customers"), ("vouchers", "vouchers")):
        modified = set(changed[collection]["updated"]) & object_ids(fresh_sandbox, collection)
        assert modified, "the churn touched nothing: the test would prove nothing"
        assert modified <= second.ids(stream), f"{stream}: modified rows never emitted"
    for run in (first, second):
        learned = {s: v.get("api_capabilities") for s, v in run.state["bookmarks"].items()}
        assert not any(learned.values()), learned


def test_the_first_runs_tail_reads_only_recent_rows_where_since_is_a_parameter(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """``/customerinvoices`` takes ``modifiedSinceUtc`` instead of a ``$filter`` on ``ModifiedUtc``: the
    tail passes its own lower bound there, so a first run (no bookmark) does not read every row twice."""
    run = run_tap(tap_config(sandbox, tmp_path, page_size=100), ["customer_invoices"])
    assert len(run.records["customer_invoices"]) == 500
    assert run.requests("customer_invoices") == 5 + 1  # the pages, then one tail request
