"""The reader against a fake list endpoint that differs from the sandbox in each plausible way: it ends
within ``request_bound``, emits every record that existed from start to end, and learns what the
endpoint supports (see ``tap_eaccounting.reader``, "Adapting to the endpoint")."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pytest

from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.reader import IncompleteReadError, ListQuery, PageSize, Reader, request_bound

from .fake_list_server import HONOURED, IGNORED, REFUSED, Churn, FakeListServer, Profile

ASK = 100  # the page size the tap asks for
CAP = 50  # the maximum of the profiles that cap the page size
PATH = "/customers"
LOGGER = logging.getLogger("tap-eaccounting.test-reader")


@dataclass(frozen=True)
class Kind:
    rows: int
    replication_key: str | None
    incremental: bool  # since = the median stamp (about half the rows match)


KINDS = {
    "incremental": Kind(600, "ModifiedUtc", incremental=True),
    "first-run": Kind(600, "ModifiedUtc", incremental=False),  # multi-page, with a tail
    "full-table": Kind(600, None, incremental=False),  # multi-page, gap-checked
    "single-page": Kind(30, None, incremental=False),
}

TOP_400 = (
    "The limit of '{max}' for Top query has been exceeded. The value from the incoming request is '100'."
)
PROFILES = {
    "honoured": Profile(),
    # every switch alone
    "filter-ignored": Profile(filter=IGNORED),
    "filter-refused-6000": Profile(filter=REFUSED),
    "filter-refused-6001": Profile(filter=REFUSED, filter_error=(6001, "Invalid $filter: unknown function.")),
    "orderby-ignored": Profile(orderby=IGNORED),
    "orderby-refused": Profile(orderby=REFUSED),
    "orderby-refused-named": Profile(orderby=REFUSED, orderby_error=(6000, "$orderby is not supported.")),
    "cap-clamp-report": Profile(max_page_size=CAP),
    "cap-clamp-echo": Profile(max_page_size=CAP, oversize="clamp-echo"),
    "cap-400-pagesize": Profile(max_page_size=CAP, oversize="400"),
    "cap-400-top": Profile(max_page_size=CAP, oversize="400", oversize_error=TOP_400),
    "cap-400-plain": Profile(max_page_size=CAP, oversize="400", oversize_error="The request is invalid."),
    "pages-meta-zero": Profile(total_pages="zero"),
    "past-last-400": Profile(past_last="400"),
    "churn": Profile(churn=Churn()),
    # combined
    "legacy": Profile(filter=REFUSED, orderby=IGNORED, max_page_size=CAP, oversize="clamp-echo",
                      total_pages="zero"),
    "odata-strict": Profile(orderby=REFUSED, max_page_size=CAP, oversize="400", oversize_error=TOP_400,
                            past_last="400"),
    "lazy": Profile(filter=IGNORED, orderby=IGNORED, max_page_size=CAP, oversize="clamp-echo",
                    past_last="400"),
    "nothing-works": Profile(filter=REFUSED, orderby=REFUSED, max_page_size=CAP, oversize="400",
                             oversize_error="The request is invalid.", empty_total_pages=1),
    "churn-filter-ignored": Profile(filter=IGNORED, max_page_size=CAP, churn=Churn()),
    "churn-orderby-ignored": Profile(orderby=IGNORED, total_pages="zero", churn=Churn()),
    "churn-clamp-echo": Profile(max_page_size=CAP, oversize="clamp-echo", churn=Churn(creates=8, deletes=3)),
}  # fmt: skip


def make_reader(server: FakeListServer, book: CapabilityBook | None = None, strict: bool = False) -> Reader:
    pool = ThreadPoolExecutor(4, thread_name_prefix="fake-page")
    return Reader(
        server,  # type: ignore[arg-type]  # stands in for EAccountingClient.request
        pool,
        PageSize(ASK),
        4,
        LOGGER,
        book=book if book is not None else CapabilityBook(),
        stream="customers",
        strict=strict,
    )


def query(kind: Kind, server: FakeListServer) -> ListQuery:
    return ListQuery(
        label="customers",
        path=PATH,
        params={},
        order_keys=("Id",),
        replication_key=kind.replication_key,
        since=server.median_stamp() if kind.incremental else None,
    )


def expected_capabilities(profile: Profile, kind: Kind) -> dict[str, Any]:
    """What the read can learn: ``$orderby`` from any page of 2+ rows; ``$filter`` where one is sent (the
    bound of an incremental read; the tail and gap checks of a multi-page read, which need the order, or
    without the order the replication-key ranges of ``list_ranges``); the page size where a 400 or Meta
    tells it, or a short page that is not the last shows it."""
    found: dict[str, Any] = {}
    if profile.orderby != HONOURED:
        found["orderby"] = profile.orderby
    repaired = profile.orderby == HONOURED or kind.replication_key is not None
    sends_filter = kind.incremental or (kind.rows > ASK and repaired)
    if sends_filter and profile.filter != HONOURED:
        found["filter"] = profile.filter
    if profile.max_page_size < ASK:
        matching = kind.rows // 2 if kind.incremental else kind.rows
        if profile.oversize != "clamp-echo" or matching > profile.max_page_size:
            found["page_size"] = profile.max_page_size
    return found


def learned(book: CapabilityBook) -> dict[str, Any]:
    caps = book.get(PATH)
    return {
        name: value
        for name, value in (("filter", caps.filter), ("orderby", caps.orderby), ("page_size", caps.page_size))
        if value not in (None, "ok")
    }


def read_all(reader: Reader, q: ListQuery) -> list[dict[str, Any]]:
    return list(reader.read(q))


@pytest.mark.parametrize("kind_name", list(KINDS))
@pytest.mark.parametrize("profile_name", list(PROFILES))
def test_reader_adapts(profile_name: str, kind_name: str) -> None:
    profile, kind = PROFILES[profile_name], KINDS[kind_name]
    server = FakeListServer(kind.rows, profile)
    book = CapabilityBook()
    reader = make_reader(server, book)
    q = query(kind, server)
    records = read_all(reader, q)

    # Termination: within the bound, counted by the server.
    served_size = min(ASK, profile.max_page_size)
    assert len(server.requests) == reader.stats.read_requests
    assert len(server.requests) <= request_bound(server.max_rows, served_size), server.requests
    # Completeness: every record that existed from start to end (and matched the bound at the start).
    ids = {r["Id"] for r in records}
    missing = server.survivors(q.since) - ids
    assert not missing, f"{len(missing)} record(s) never emitted"
    assert ids <= server.ever
    if q.since:  # the bound is applied, whatever the server did with $filter
        assert all(r["ModifiedUtc"] >= q.since[:19] for r in records)
    versions = [(r["Id"], r["ModifiedUtc"]) for r in records]
    assert len(versions) == len(set(versions)), "a version emitted twice"
    # What was learned.
    assert learned(book) == expected_capabilities(profile, kind)
    if profile == Profile():
        fast = {"incremental": 3 + 1, "first-run": 6 + 1, "full-table": 6 + 1, "single-page": 1}
        assert len(server.requests) == fast[kind_name]  # pages, plus a tail or one gap check
    if not profile.churn:
        assert reader.stats.distinct == reader.stats.expected


def test_what_was_learned_is_kept_and_the_next_run_pays_nothing(caplog: pytest.LogCaptureFixture) -> None:
    profile = PROFILES["nothing-works"]
    kind = KINDS["incremental"]
    caplog.set_level(logging.DEBUG, LOGGER.name)
    first_server = FakeListServer(kind.rows, profile)
    book = CapabilityBook()
    read_all(make_reader(first_server, book), query(kind, first_server))
    state = book.export("customers")
    assert state == {
        PATH: {"filter": "refused", "orderby": "refused", "page_size": CAP, "learned": state[PATH]["learned"]}
    }
    lines = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and PATH + " " in r.getMessage()
    ]
    assert len([m for m in lines if "kept in state" in m]) == 1, lines
    assert any(r.levelno == logging.DEBUG and "diagnosing" in r.getMessage() for r in caplog.records)

    caplog.clear()
    second_server = FakeListServer(kind.rows, profile)
    seeded = CapabilityBook()
    seeded.seed("customers", state)
    records = read_all(make_reader(second_server, seeded), query(kind, second_server))
    assert second_server.survivors(query(kind, second_server).since) <= {r["Id"] for r in records}
    assert len(second_server.requests) == 600 // CAP  # a full scan at the learned size, no 400
    assert all("$filter" not in p and "$orderby" not in p for p in second_server.requests)
    lines = [r.getMessage() for r in caplog.records if "kept in state" in r.getMessage()]
    found = f"rejected $filter (400), rejected $orderby (400), serves at most {CAP} rows a page"
    how = "reading full scans filtered client-side, de-duplicated by key, checked by count"
    assert lines == [f"customers: {PATH} {found}; {how} (learned {state[PATH]['learned']}, kept in state)"]


def test_state_older_than_the_relearn_period_is_dropped() -> None:
    book = CapabilityBook()
    book.seed("customers", {PATH: {"filter": "ignored", "learned": "2000-01-01"}, "/x": "junk"})
    assert book.get(PATH).filter is None
    assert book.export("customers") == {}


@pytest.mark.parametrize("empty_total_pages", [0, 1])
@pytest.mark.parametrize("past_last", ["empty", "400"])
def test_an_empty_list_is_one_request(empty_total_pages: int, past_last: str) -> None:
    server = FakeListServer(0, Profile(empty_total_pages=empty_total_pages, past_last=past_last))
    reader = make_reader(server)
    assert read_all(reader, query(KINDS["full-table"], server)) == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("strict", [False, True])
def test_a_shortfall_is_re_read_then_warned_or_raised(strict: bool, caplog: pytest.LogCaptureFixture) -> None:
    # The server counts 7 rows it never serves: no route can find them.
    server = FakeListServer(300, Profile(phantoms=7))
    reader = make_reader(server, strict=strict)
    caplog.set_level(logging.WARNING, LOGGER.name)
    if strict:
        with pytest.raises(IncompleteReadError) as raised:
            read_all(reader, query(KINDS["full-table"], server))
        assert (raised.value.stream, raised.value.path, raised.value.expected, raised.value.got) == (
            "customers", PATH, 300, 293,
        )  # fmt: skip
        assert (
            "customers: /customers served 293 distinct record(s) where TotalNumberOfResults said 300"
            in str(raised.value)
        )
    else:
        records = read_all(reader, query(KINDS["full-table"], server))
        assert len(records) == 293
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [
            "customers: /customers served 293 distinct record(s) where TotalNumberOfResults said 300, "
            "after 2 pass(es)"
        ]
    assert reader.stats.passes == 2  # the read, then one re-read
    assert len(server.requests) <= request_bound(300, ASK)


def test_a_filter_that_is_ignored_never_loops() -> None:
    # The original failure: a keyset over an ignored $filter serves the same page forever. The tail's
    # first page shows rows below its bound, and the read ends within the bound.
    server = FakeListServer(2000, Profile(filter=IGNORED))
    reader = make_reader(server)
    records = read_all(reader, query(KINDS["first-run"], server))
    assert {r["Id"] for r in records} == server.survivors()
    # The walk, one tail request found out, and one settle check (the last page in ModifiedUtc order:
    # nothing stamped after the walk began, so the walk was a snapshot).
    assert len(server.requests) == 20 + 1 + 1
    assert server.requests[-1]["$orderby"] == "ModifiedUtc,Id"
    assert server.requests[-1]["$page"] == "20"


def test_the_probe_does_not_trust_an_ignored_filter() -> None:
    server = FakeListServer(40, Profile(filter=IGNORED))
    book = CapabilityBook()
    reader = make_reader(server, book)
    q = replace(query(KINDS["incremental"], server), order_keys=())
    assert reader.probe(q) is None
    assert book.get(PATH).filter == "ignored"
    assert reader.probe(q) is None  # known now: no request
    assert len(server.requests) == 1
