"""A fake list endpoint standing in for ``EAccountingClient.request``: the real envelope
(``{"Meta": {...}, "Data": [...]}``) over an in-memory list, with each plausible way the real API may
differ from the sandbox behind a switch (``Profile``). Refusals raise the real ``BadRequestError``.

Rows are ``{"Id": <guid>, "ModifiedUtc": <7-digit timestamp>, "Name": ...}`` in a fixed *natural*
order (creation order, so not ``Id`` order): what a server that ignores ``$orderby`` serves. The clock
starts at 2026-01-01T00:00:00Z and moves one second per request; rows are stamped in 2025, churn stamps
with the clock. Only the OData the tap sends is understood: ``eq ne gt ge lt le``, ``and``, ``or``,
parentheses, Guid, date-time, number, string and ``null`` literals.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eaccounting_api.errors import BadRequestError

HONOURED, IGNORED, REFUSED = "honoured", "ignored", "refused"
PLAIN_400 = (6000, "The query specified in the URI is not valid.")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Churn:
    """Before a request with ``$page >= 2`` (between the pages of a read), ``rounds`` times at most."""

    creates: int = 4
    updates: int = 4
    deletes: int = 6
    rounds: int = 3


@dataclass(frozen=True)
class Profile:
    filter: str = HONOURED  # honoured | ignored | refused
    filter_error: tuple[int, str] = PLAIN_400
    orderby: str = HONOURED  # honoured | ignored | refused
    orderby_error: tuple[int, str] = PLAIN_400
    max_page_size: int = 1000
    oversize: str = "clamp-report"  # clamp-report | clamp-echo | 400
    oversize_error: str = "pagesize must be <= {max}"  # the 400's wording ({max}: the maximum)
    empty_total_pages: int = 0  # Meta.TotalNumberOfPages of an empty list: 0 or 1
    total_pages: str = "right"  # right | zero (Meta.TotalNumberOfPages 0 whatever is served)
    past_last: str = "empty"  # empty | 400: a page past the last one
    phantoms: int = 0  # rows (the first by Id) TotalNumberOfResults counts but no page ever serves
    unstable: bool = False  # each request not ordered by an honoured $orderby sees another order
    churn: Churn | None = None


@dataclass
class FakeResponse:
    content: bytes
    status_code: int = 200


def stamp(moment: dt.datetime, fraction: int) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:07d}Z"


def ticks(text: str) -> int:
    base = dt.datetime.fromisoformat(text[:19]).replace(tzinfo=dt.UTC)
    match = re.match(r"\.(\d+)", text[19:])
    return (base - EPOCH) // dt.timedelta(seconds=1) * 10**7 + int(
        (match.group(1) if match else "").ljust(7, "0")
    )


@dataclass
class FakeListServer:
    rows_at_start: int
    profile: Profile = field(default_factory=Profile)
    seed: int = 1
    # Called before each request is answered (after the clock moved): a test's own scripted churn.
    script: Callable[[FakeListServer, dict[str, str]], None] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.now = START
        self.rows: list[dict[str, Any]] = [self._row(past=True) for _ in range(self.rows_at_start)]
        self.initial = {r["Id"]: r["ModifiedUtc"] for r in self.rows}
        self.ever: set[str] = set(self.initial)
        self.requests: list[dict[str, str]] = []
        self.max_rows = len(self.rows)
        self.churn_rounds = 0

    # -- what the tests compare with ------------------------------------------------------------------------
    def survivors(self, since: str | None = None) -> set[str]:
        """Ids that existed from start to end (with a replication key at or after ``since`` at the start)."""
        now = {r["Id"] for r in self.rows}
        return {
            i for i, rk in self.initial.items() if i in now and (since is None or ticks(rk) >= ticks(since))
        }

    def median_stamp(self) -> str:
        return sorted(self.initial.values(), key=ticks)[len(self.initial) // 2]

    # -- the endpoint ---------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        parse: Callable[[FakeResponse], Any] | None = None,
        **_: Any,
    ) -> Any:
        """``EAccountingClient.request``: the response, or what ``parse`` makes of it."""
        response = self._answer(method, path, params)
        return parse(response) if parse is not None else response

    def _answer(self, method: str, path: str, params: dict[str, str] | None) -> FakeResponse:
        assert method == "GET"
        params = dict(params or {})
        self.requests.append(params)
        self.now += dt.timedelta(seconds=1)
        page, size = int(params.get("$page", "1")), int(params.get("$pagesize", "50"))
        if self.script is not None:
            self.script(self, params)
            self.max_rows = max(self.max_rows, len(self.rows))
        self._churn(page)
        p = self.profile
        if "$filter" in params and p.filter == REFUSED:
            raise self._bad(path, *p.filter_error)
        if "$orderby" in params and p.orderby == REFUSED:
            raise self._bad(path, *p.orderby_error)
        served = size
        if size > p.max_page_size:
            if p.oversize == "400":
                raise self._bad(path, 6000, p.oversize_error.format(max=p.max_page_size))
            served = p.max_page_size
        rows = list(self.rows)
        if "$filter" in params and p.filter == HONOURED:
            predicate = _Parser(params["$filter"]).parse()
            rows = [r for r in rows if predicate(r)]
        if "$orderby" in params and p.orderby == HONOURED:
            keys = [k.strip() for k in params["$orderby"].split(",")]
            rows.sort(key=lambda r: tuple(_sortable(r.get(k)) for k in keys))
        elif p.unstable:
            self.rng.shuffle(rows)
        total = len(rows)
        if self.profile.phantoms:  # hidden whatever the query and its order, yet counted
            hidden = {r["Id"] for r in sorted(self.rows, key=lambda r: r["Id"])[: self.profile.phantoms]}
            rows = [r for r in rows if r["Id"] not in hidden]
        pages = math.ceil(total / served) if total else p.empty_total_pages
        if page > max(pages, 1) and p.past_last == "400":
            raise self._bad(path, 6000, f"Page {page} does not exist.")
        data = rows[(page - 1) * served : page * served]
        meta = {
            "CurrentPage": page,
            "PageSize": size if p.oversize == "clamp-echo" else served,
            "TotalNumberOfPages": 0 if p.total_pages == "zero" else pages,
            "TotalNumberOfResults": total,
            "ServerTimeUtc": stamp(self.now, 0),
        }
        if p.oversize == "clamp-echo" and p.total_pages == "right":
            meta["TotalNumberOfPages"] = math.ceil(total / size) if total else p.empty_total_pages
        return FakeResponse(json.dumps({"Meta": meta, "Data": data}).encode())

    def _bad(self, path: str, code: int, message: str) -> BadRequestError:
        return BadRequestError(
            status=400,
            error_code=code,
            developer_message=message,
            errors=[{"ErrorCode": code, "Message": message}],
            method="GET",
            path=path,
        )

    def touch(self, row: dict[str, Any]) -> None:
        """Modify ``row`` now (a new ``ModifiedUtc`` from the clock)."""
        row["ModifiedUtc"] = stamp(self.now, self.rng.randrange(10**7))

    def create(self, ident: str | None = None) -> dict[str, Any]:
        """A row created now (with ``ident`` as its Id, if given)."""
        row = self._row(past=False)
        if ident is not None:
            row["Id"] = ident
        self.rows.append(row)
        self.ever.add(row["Id"])
        return row

    def _row(self, past: bool) -> dict[str, Any]:
        ident = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if past:
            moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                seconds=self.rng.randrange(364 * 86400)
            )
        else:
            moment = self.now
        return {
            "Id": ident,
            "ModifiedUtc": stamp(moment, self.rng.randrange(10**7)),
            "Name": f"row {ident[:8]}",
        }

    def _churn(self, page: int) -> None:
        churn = self.profile.churn
        if churn is None or page < 2 or self.churn_rounds >= churn.rounds:
            return
        self.churn_rounds += 1
        for _ in range(churn.creates):
            row = self._row(past=False)
            self.rows.append(row)
            self.ever.add(row["Id"])
        self.max_rows = max(self.max_rows, len(self.rows))
        for row in self.rng.sample(self.rows, min(churn.updates, len(self.rows))):
            row["ModifiedUtc"] = stamp(self.now, self.rng.randrange(10**7))
        for row in self.rng.sample(self.rows, min(churn.deletes, len(self.rows))):
            self.rows.remove(row)


# -- the OData subset ---------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<instant>\d{4}-\d\d-\d\dT[0-9:.]+Z)|(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<paren>[()]))"
)
_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
        return (2, ticks(value))
    if isinstance(value, str):
        return (3, value.lower())
    return (1, value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            assert match, f"cannot read $filter at {text[position:]!r}"
            assert match.lastgroup
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self.at = 0

    def parse(self) -> Any:
        predicate = self._or()
        assert self.at == len(self.tokens), f"trailing tokens in $filter: {self.tokens[self.at :]}"
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _or(self) -> Any:
        parts = [self._and()]
        while self._peek() == ("word", "or"):
            self._take()
            parts.append(self._and())
        return lambda row: any(p(row) for p in parts)

    def _and(self) -> Any:
        parts = [self._atom()]
        while self._peek() == ("word", "and"):
            self._take()
            parts.append(self._atom())
        return lambda row: all(p(row) for p in parts)

    def _atom(self) -> Any:
        if self._peek() == ("paren", "("):
            self._take()
            inner = self._or()
            assert self._take() == ("paren", ")")
            return inner
        kind, name = self._take()
        assert kind == "word", name
        _, op = self._take()
        literal = _sortable(self._literal())
        compare = _OPS[op]

        def predicate(row: dict[str, Any]) -> bool:
            value = _sortable(row.get(name))
            if op not in ("eq", "ne") and (value[0] == 0 or literal[0] == 0):
                return False  # OData: an order comparison with null is false
            return bool(compare(value, literal))

        return predicate

    def _literal(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text == "null":
            return None
        return text  # guid, instant
