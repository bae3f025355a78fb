"""Settling a read (``reader``, "Settling"): a row the first walk missed and that is modified while the
re-read runs, before the re-read reaches it, moves to the end of the replication-key order, already
read; a settle round reads every row stamped since the re-read began, so the row comes in the same run.
Rounds end on one response (one snapshot), or on a round that served nothing new to a reconciled read,
or after ``MAX_SETTLE_ROUNDS`` with a warning and counts; a read never loops, however the list keeps
changing (rows visible later than their stamp: ``test_profile_matrix``, ``stamp_lag_seconds``). Also:
churn that keeps the count (a row created while the keyed walk ran and emitted by one of its later
pages) still sends the keyed route to its gap check."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.reader import (
    MAX_SETTLE_ROUNDS,
    IncompleteReadError,
    ListQuery,
    PageSize,
    Reader,
    request_bound,
)

from .fake_list_server import REFUSED, START, FakeListServer, Profile, stamp

LOGGER = logging.getLogger("tap-eaccounting.test-settling")
SIZE = 50
PATH = "/customers"


def read(
    server: FakeListServer,
    *,
    filter_refused: bool,
    strict: bool = False,
    emitted: list[tuple[str, str]] | None = None,
) -> tuple[set[str], Reader]:
    book = CapabilityBook()
    if filter_refused:
        book.learn(PATH, filter=REFUSED)  # known from an earlier run: the read is a scan
    reader = Reader(
        server,  # type: ignore[arg-type]  # stands in for EAccountingClient.request
        ThreadPoolExecutor(1),
        PageSize(SIZE),
        1,
        LOGGER,
        book=book,
        stream="customers",
        strict=strict,
    )
    q = ListQuery("customers", PATH, {}, ("Id",), replication_key="ModifiedUtc")
    records = list(reader.read(q))
    if emitted is not None:
        emitted += [(r["Id"], r["ModifiedUtc"]) for r in records]
    ids = {r["Id"] for r in records}
    assert len(server.requests) == reader.stats.read_requests
    assert len(server.requests) <= request_bound(server.max_rows, SIZE), len(server.requests)
    return ids, reader


def by_id(server: FakeListServer) -> list[dict[str, Any]]:
    return sorted(server.rows, key=lambda r: r["Id"])


def rk_ordered(params: dict[str, str]) -> bool:
    return params.get("$orderby", "").startswith("ModifiedUtc")


def test_a_row_hidden_twice_comes_in_the_same_run() -> None:
    """The known gap: the forward walk misses ``hidden`` (a delete on page 1 shifts it there after page
    1 was read); the backward re-read in ModifiedUtc order would reach it late (it is on page 2 of that
    order), but it is modified after the re-read read the last page. The settle round finds it."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    first, hidden = by_id(server)[0], by_id(server)[SIZE]
    hidden["ModifiedUtc"] = sorted(r["ModifiedUtc"] for r in server.rows)[75]
    seen: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        seen.append(params["$page"] + ("rk" if rk_ordered(params) else ""))
        if seen == ["1", "2"]:
            server.rows.remove(first)  # before the walk's page 2: ``hidden`` slides onto page 1
        if seen.count("1rk") == 1 and len([s for s in seen if s.endswith("rk")]) == 3:
            server.touch(hidden)  # the re-read read page 1 (the count) and the last page, not page 1 yet

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert hidden["Id"] in ids
    assert server.survivors() <= ids
    walk, reread, settle = seen[:6], seen[6:13], seen[13:]
    assert walk == ["1", "2", "3", "4", "5", "6"]
    assert reread == ["1rk", "6rk", "5rk", "4rk", "3rk", "2rk", "1rk"]
    assert settle == ["6rk"]  # one response (one snapshot): settled
    assert reader.stats.settle_rounds == 1
    assert not reader.stats.unsettled


def test_a_row_visible_later_than_its_stamp_comes_in_the_same_run() -> None:
    """The forward walk misses ``hidden`` (as above); it sits on page 2 of the ModifiedUtc order, and is
    modified after the re-read read pages 6 and 5, with a stamp 30 s before it becomes visible (a late
    commit, ``stamp_lag_seconds`` in the sandbox): before the re-read began, and before 60 rows modified
    just before the run, so it lands on page 5 (read already), not at the end. A round down to rows
    stamped after the re-read began would stop at the last page; the round reads from ``SETTLE_MARGIN``
    earlier, so it reads page 5 too. The next round serves nothing new: settled."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    rows = by_id(server)
    first, hidden = rows[0], rows[SIZE]
    hidden["ModifiedUtc"] = sorted(r["ModifiedUtc"] for r in rows)[75]
    for n, row in enumerate(rows[-60:]):
        row["ModifiedUtc"] = stamp(START - dt.timedelta(seconds=10), n)
    ordered: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        if params["$page"] == "2" and not rk_ordered(params):
            server.rows.remove(first)  # before the walk's page 2: ``hidden`` slides onto page 1
        if rk_ordered(params):
            ordered.append(params["$page"])
            if ordered == ["1", "6", "5", "4"]:  # the re-read read pages 6 and 5, not page 1 yet
                hidden["ModifiedUtc"] = stamp(server.now - dt.timedelta(seconds=30), 0)

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert hidden["Id"] in ids
    assert server.survivors() <= ids
    assert ordered[7:] == ["6", "5", "6", "5"]  # two rounds: the first found ``hidden``, the second nothing
    assert reader.stats.settle_rounds == 2
    assert not reader.stats.unsettled


def test_a_quiet_scan_costs_one_settle_check() -> None:
    """No churn: the forward walk, then one request (the last page in ModifiedUtc order) shows nothing
    stamped after the walk began. Done: no re-read."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    ids, reader = read(server, filter_refused=True)
    assert ids == server.survivors()
    assert len(server.requests) == 6 + 1
    assert server.requests[-1] == {"$page": "6", "$pagesize": str(SIZE), "$orderby": "ModifiedUtc,Id"}
    assert (reader.stats.passes, reader.stats.settle_rounds) == (2, 1)


def test_churn_the_walk_cannot_see_is_caught_by_the_settle_check() -> None:
    """A row on a page already read is modified while the forward walk runs: the count stays and the
    walk never sees the new stamp (a concurrent walk could have lost a row to such churn: inserts and
    deletes that keep the count). The settle check sees it, and the read is read again, then settled."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    touched = by_id(server)[0]
    calls: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        calls.append(params["$page"] + ("rk" if rk_ordered(params) else ""))
        if calls == ["1", "2"]:
            server.touch(touched)

    server.script = script
    versions: list[tuple[str, str]] = []
    ids, reader = read(server, filter_refused=True, emitted=versions)
    assert ids == server.survivors()
    assert (touched["Id"], touched["ModifiedUtc"]) in versions  # the new version went out too
    assert calls == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "6rk",
        "1rk",
        "6rk",
        "5rk",
        "4rk",
        "3rk",
        "2rk",
        "1rk",
        "6rk",
    ]
    assert (reader.stats.passes, reader.stats.settle_rounds) == (4, 2)


def test_a_list_that_never_settles_ends_with_a_warning_and_the_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """More than a page of rows modified before every request: no settle round is ever one response.
    After MAX_SETTLE_ROUNDS the read ends (within its bound) and says so, with the counts."""
    server = FakeListServer(300, Profile(filter=REFUSED))

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        if rk_ordered(params):
            for row in server.rng.sample(server.rows, SIZE + 10):
                server.touch(row)

    server.script = script
    caplog.set_level(logging.WARNING, LOGGER.name)
    ids, reader = read(server, filter_refused=True)
    assert server.survivors() <= ids
    assert reader.stats.unsettled
    assert reader.stats.settle_rounds == MAX_SETTLE_ROUNDS
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"customers: {PATH} kept changing while it was read: {MAX_SETTLE_ROUNDS} settle round(s) did not "
        "settle it (300 distinct record(s), TotalNumberOfResults 300)" in w
        for w in warnings
    ), warnings


def test_strict_still_fails_on_a_shortfall_after_settling() -> None:
    server = FakeListServer(300, Profile(filter=REFUSED, phantoms=3))
    with pytest.raises(IncompleteReadError) as raised:
        read(server, filter_refused=True, strict=True)
    assert (raised.value.expected, raised.value.got) == (300, 297)


def test_a_row_created_during_the_keyed_walk_and_emitted_by_it_still_counts_as_churn() -> None:
    """``$filter`` works. After page 1, a row is created at the end of the Id order and one on page 1 is
    deleted: the count stays, the first row of page 2 slides onto page 1 (read), and the new row goes out
    with the last page. The tail serves the new row again (not emitted twice): it is still churn, so the
    gap check runs and finds the row that slid."""
    server = FakeListServer(150, Profile())
    rows = by_id(server)
    slid = rows[SIZE]
    calls: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        calls.append(params["$page"])
        if calls == ["1", "2"]:
            server.create(ident="ffffffff-ffff-4fff-bfff-ffffffffffff")
            server.rows.remove(rows[0])

    server.script = script
    ids, reader = read(server, filter_refused=False)
    assert slid["Id"] in ids
    assert server.survivors() <= ids
    assert reader.stats.churn
    assert reader.stats.gap_records >= 1


def test_a_round_follows_rows_added_at_the_end_once() -> None:
    """Rows created just before the settle check: its count puts the last page higher than the read's
    latest count did, so the round starts again from there (once), and reads down to the old rows."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    calls: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        calls.append(params["$page"] + ("rk" if rk_ordered(params) else ""))
        if calls[-1] == "6rk" and calls.count("6rk") == 1:
            for _ in range(60):
                server.create()

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert server.survivors() <= ids
    assert calls[6:10] == ["6rk", "8rk", "7rk", "6rk"]  # the check: up once, then down to the old rows
    assert calls[10:18] == [
        "1rk",
        "8rk",
        "7rk",
        "6rk",
        "5rk",
        "4rk",
        "3rk",
        "2rk",
    ]  # rows were written: re-read
    assert reader.stats.settle_rounds == 2
    assert not reader.stats.unsettled


def test_a_quiet_round_settles_only_a_reconciled_read() -> None:
    """More than a page of rows stamped within ``SETTLE_MARGIN`` of the read: no round is one response.
    A round that serves nothing new settles a read that holds as many rows as counted (the read above
    with rows added at the end); here the server counts 3 rows it never serves, so quiet rounds go on
    to ``MAX_SETTLE_ROUNDS`` and the read ends unsettled, as a round cannot tell those from hidden rows."""
    server = FakeListServer(300, Profile(filter=REFUSED, phantoms=3))

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        if params["$page"] == "1" and not rk_ordered(params):  # before the first walk's page 1
            for row in by_id(server)[-SIZE - 10 :]:
                server.touch(row)

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert len(server.survivors() - ids) == 3
    assert reader.stats.settle_rounds == MAX_SETTLE_ROUNDS
    assert reader.stats.unsettled


def test_a_round_that_read_nothing_settles_nothing() -> None:
    """The settle round after the re-read is refused down to page 1: it serves no new row version, yet
    read nothing, so it is not quiet; without a ``ServerTimeUtc`` no round can follow it: the read ends
    unsettled."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    touched = by_id(server)[0]
    ordered: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        if params["$page"] == "2" and not rk_ordered(params):
            server.touch(touched)  # after the walk's page 1: the settle check sees it, a re-read follows
        if rk_ordered(params):
            ordered.append(params["$page"])
            if len(ordered) > 1 + 7:  # past the settle check (one page) and the re-read (seven)
                raise server._bad(PATH, 6000, "The page does not exist.")

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert ids == server.survivors()
    assert ordered[8:] == ["6", "5", "4", "3", "2", "1"]  # the round, refused down to page 1
    assert reader.stats.settle_rounds == 2  # the settle check, and the refused round
    assert reader.stats.unsettled


def test_a_settle_check_that_read_nothing_is_followed_by_a_re_read() -> None:
    """The settle check is refused down to page 1: it saw no stamp, but read nothing either, so it does
    not conclude that the walk was a snapshot; the read is read again (and then settled)."""
    server = FakeListServer(300, Profile(filter=REFUSED))
    ordered: list[str] = []

    def script(server: FakeListServer, params: dict[str, str]) -> None:
        if rk_ordered(params):
            ordered.append(params["$page"])
            if len(ordered) <= 6:  # the settle check: pages 6 down to 1
                raise server._bad(PATH, 6000, "The page does not exist.")

    server.script = script
    ids, reader = read(server, filter_refused=True)
    assert ids == server.survivors()
    assert ordered[:6] == ["6", "5", "4", "3", "2", "1"]
    assert ordered[6:13] == ["1", "6", "5", "4", "3", "2", "1"]  # the re-read
    assert reader.stats.settle_rounds == 2
    assert not reader.stats.unsettled
