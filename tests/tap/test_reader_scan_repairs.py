"""Reads that cannot take the keyed route (no usable ``$orderby`` or ``$filter``) still lose no row that
stays put: ranges of the replication key, each one response, when ``$filter`` works (``list_ranges``); a
backward re-read when it does not (``page_walk``), started also by churn that left the count as it was."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.list_ranges import cuts, instant
from tap_eaccounting.page_walk import SETTLE_MARGIN
from tap_eaccounting.reader import ListQuery, PageSize, Reader, request_bound

from .fake_list_server import IGNORED, REFUSED, START, Churn, FakeListServer, Profile, stamp, ticks

LOGGER = logging.getLogger("tap-eaccounting.test-scan-repairs")
SIZE = 50


def read(
    server: FakeListServer, *, rk: str | None = "ModifiedUtc", since: str | None = None, workers: int = 4
) -> tuple[set[str], Reader]:
    reader = Reader(
        server,  # type: ignore[arg-type]  # stands in for EAccountingClient.request
        ThreadPoolExecutor(workers),
        PageSize(SIZE),
        workers,
        LOGGER,
        book=CapabilityBook(),
        stream="customers",
    )
    q = ListQuery("customers", "/customers", {}, ("Id",), replication_key=rk, since=since)
    ids = {r["Id"] for r in reader.read(q)}
    assert len(server.requests) <= request_bound(server.max_rows, SIZE), len(server.requests)
    return ids, reader


def test_cuts_and_instants() -> None:
    assert cuts([5, 1, 2, 2, 3, 4, 6, 7], 2) == [3, 5, 7]  # never between the two 2s
    assert cuts([1, 1, 1, 1], 2) == []  # one value: nothing to cut at
    assert cuts([1, 2, 3, 4, 5, 6], 2, low=2, high=6) == [5]
    moment = "2026-01-31T10:00:00.1234567Z"
    assert instant(ticks(moment)) == moment


@pytest.mark.parametrize("orderby", [IGNORED, REFUSED])
@pytest.mark.parametrize("incremental", [False, True])
@pytest.mark.parametrize("churn", [None, Churn(rounds=6)], ids=["still", "churn"])
def test_without_an_order_ranges_of_the_replication_key_read_every_row(
    orderby: str, incremental: bool, churn: Churn | None
) -> None:
    """Each unordered request sees another order: a page-index scan sees about two thirds of 600 rows
    per pass. Ranges that each fit one response see them all, whatever churn does meanwhile."""
    server = FakeListServer(600, Profile(orderby=orderby, unstable=True, churn=churn))
    since = server.median_stamp() if incremental else None
    ids, reader = read(server, since=since)
    assert server.survivors(since) <= ids
    assert reader.book.get("/customers").filter == "ok"  # the ranges' $filter, checked row by row


def test_a_re_read_walks_backward_so_deletes_hide_nothing() -> None:
    """No $filter, no $orderby: rows only move by deletes (and rows added at the end). The forward
    walk loses rows to the left shifts; the backward re-read cannot."""
    churn = Churn(creates=2, updates=0, deletes=6, rounds=40)
    server = FakeListServer(600, Profile(filter=REFUSED, orderby=REFUSED, churn=churn), seed=3)
    ids, _ = read(server, rk=None, workers=1)
    assert [p["$page"] for p in server.requests[-3:]] == ["3", "2", "1"]  # the re-read, backward
    assert server.survivors() <= ids


def test_churn_that_keeps_the_count_still_costs_a_scan_its_re_read() -> None:
    """As many rows created as deleted between pages: the count never moves, but the new rows' stamps
    (after page 1's ServerTimeUtc) show the churn, so the scan is read again, backward."""
    churn = Churn(creates=3, updates=0, deletes=3, rounds=10)
    server = FakeListServer(600, Profile(filter=REFUSED, orderby=REFUSED, churn=churn), seed=5)
    ids, reader = read(server, workers=1)
    assert reader.stats.churn
    assert [p["$page"] for p in server.requests[-3:]] == ["3", "2", "1"]  # the re-read, backward
    assert server.survivors() <= ids


def test_a_range_that_cannot_be_split_is_walked_and_the_read_ends() -> None:
    """Every row shows one stamp: no boundary can cut the range (every row is older than the open
    range, so in the one below it), so it is read page by page (no worse than the scan), within the
    read's bound."""
    server = FakeListServer(300, Profile(orderby=IGNORED, past_last="400"))
    for row in server.rows:
        row["ModifiedUtc"] = "2025-06-01T00:00:00.0000000Z"
    ids, _ = read(server)
    assert server.survivors() <= ids  # a stable order: the scan alone sees every row
    floor = stamp(START + dt.timedelta(seconds=1) - SETTLE_MARGIN, 0)  # page 1's ServerTimeUtc less it
    ranged = [p for p in server.requests if p.get("$filter") == f"ModifiedUtc lt {floor}"]
    assert [p["$page"] for p in ranged] == [str(n) for n in range(1, 7)]


def test_a_row_stamped_before_it_became_visible_is_not_lost_between_ranges() -> None:
    """The scan misses ``hidden`` (a delete before page 2 shifts it onto page 1, read already; the count
    stays reconciled). It is among the newest rows, so in the open range, but is modified once every
    closed range was read, stamped 60 s before it becomes visible (a late commit, ``stamp_lag_seconds``
    in the sandbox): before 60 rows modified just before the run, so inside a closed range already read
    had the open range started at the last value the scan saw. It starts ``SETTLE_MARGIN`` before page
    1's ``ServerTimeUtc`` instead, so ``hidden`` comes in the same run."""
    server = FakeListServer(300, Profile(orderby=IGNORED))
    first, hidden = server.rows[0], server.rows[SIZE]
    for n, row in enumerate(server.rows[-60:]):
        row["ModifiedUtc"] = stamp(START - dt.timedelta(seconds=10), n)
    hidden["ModifiedUtc"] = stamp(START - dt.timedelta(seconds=1), 0)
    open_ranges: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        where = params.get("$filter", "")
        if params["$page"] == "2" and not where:
            server.rows.remove(first)  # before the scan's page 2: ``hidden`` slides onto page 1
        if "ModifiedUtc ge" in where and "ModifiedUtc lt" not in where:
            open_ranges.append(where)
            if len(open_ranges) == 1:  # every closed range answered
                hidden["ModifiedUtc"] = stamp(server.now - dt.timedelta(seconds=60), 0)

    server.script = script
    ids, _ = read(server, workers=1)
    assert hidden["Id"] in ids
    assert server.survivors() <= ids
    page_1 = START + dt.timedelta(seconds=1)  # the clock moves a second per request
    assert open_ranges[0] == f"ModifiedUtc ge {stamp(page_1 - SETTLE_MARGIN, 0)}"


def test_a_row_written_while_the_open_range_is_split_comes_in_a_recent_round() -> None:
    """80 rows stamped within ``SETTLE_MARGIN`` of the read: the open range does not come back whole,
    so it is split at the values its page shows. The scan misses ``hidden`` (a delete before page 6
    shifts it onto page 5), the newest row, so in the open range's last part; it is modified once the
    first part was read, stamped 200 s before it becomes visible: inside that first part. A recent round
    reads the rows stamped since the open range's first response less the margin again, and finds it."""
    server = FakeListServer(300, Profile(orderby=IGNORED))
    first, hidden = server.rows[0], server.rows[5 * SIZE]
    for n, row in enumerate(server.rows[5 * SIZE - 80 : 5 * SIZE]):
        row["ModifiedUtc"] = stamp(START - dt.timedelta(seconds=60), n)
    hidden["ModifiedUtc"] = stamp(START - dt.timedelta(seconds=1), 0)
    floor = f"ModifiedUtc ge {stamp(START + dt.timedelta(seconds=1) - SETTLE_MARGIN, 0)}"
    after_open: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        where = params.get("$filter", "")
        if params["$page"] == "6" and not where:
            server.rows.remove(first)  # before the scan's page 6: ``hidden`` slides onto page 5
        if after_open or where == floor:
            after_open.append(where)
        if len(after_open) == 3:  # the open range's page, then its first part, answered
            hidden["ModifiedUtc"] = stamp(server.now - dt.timedelta(seconds=200), 0)

    server.script = script
    ids, reader = read(server, workers=1)
    assert after_open[1].startswith(f"({floor}) and (ModifiedUtc lt ")  # the open range was split
    assert hidden["Id"] in ids
    assert server.survivors() <= ids
    assert reader.stats.settle_rounds >= 1
