"""List-endpoint conventions of the v2 API, in one place, and the decoded page.

Every name and default here is UNVERIFIED (docs/API_FACTS.md#pagination: the spec declares no paging,
filter or sort parameter; integrators report ``$page``/``$pagesize``, default 50, maximum 1000, and
OData ``$filter``/``$orderby``). Change them here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec

from eaccounting_api import timeparse

# -- query parameter names and defaults (UNVERIFIED) -------------------------------------------------
PAGE_PARAM = "$page"
PAGE_SIZE_PARAM = "$pagesize"
FILTER_PARAM = "$filter"
ORDERBY_PARAM = "$orderby"
FIRST_PAGE = 1  # pages are 1-based
DEFAULT_PAGE_SIZE = 1000  # the documented maximum
MIN_PAGE_SIZE = 10  # the smallest page size the tap asks for: every plausible server serves it
# Page sizes tried, largest first, when a page size is refused without the maximum named (the plausible
# maxima: 1000, 500, 100, 50).
PAGE_SIZE_STEPS = (1000, 500, 200, 100, 50, 20, MIN_PAGE_SIZE)
# Endpoints with a declared "modified since" parameter, used instead of ``$filter`` for the bookmark.
MODIFIED_SINCE_PARAMS = {"/customerinvoices": "modifiedSinceUtc"}
# OData v4 writes Guid and DateTimeOffset literals unquoted (``Id gt 0f8c...``, ``ModifiedUtc ge
# 2026-01-01T00:00:00Z``), as Visma's changelog examples do.
QUOTE_GUIDS = False
# Gap checks (see ``reader``) put at most this many key ranges into one ``$filter``,
GAPS_PER_REQUEST = 8
MAX_FILTER_CHARS = 1500  # and at most this much $filter text (IIS refuses query strings over 2 kB by default)
# The tail catch-up starts this long before page 1's ServerTimeUtc, and the bookmark is capped there:
# a row stamped just before page 1 was served but committed after it is still read.
TAIL_OVERLAP = dt.timedelta(minutes=5)

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INSTANT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")


class Meta(msgspec.Struct):
    CurrentPage: int = 0
    PageSize: int = 0
    TotalNumberOfPages: int = 0
    TotalNumberOfResults: int = 0
    ServerTimeUtc: str | None = None


class Envelope(msgspec.Struct):
    Meta: Meta
    Data: list[dict[str, Any]] | None = None


class RawEnvelope(msgspec.Struct):
    Meta: Meta
    Data: list[msgspec.Raw] | None = None


class RawRecord(dict[str, Any]):
    """A record kept as the API's own JSON bytes (``raw``), with only the fields the tap reads (keys,
    replication key) decoded into the dict. The writer emits ``raw`` verbatim: no decode, no encode.
    Only used when nothing may change a record on its way out (see ``EAccountingStream.passthrough``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: msgspec.Raw, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.raw = raw


_decoder = msgspec.json.Decoder(Envelope)
_raw_decoder = msgspec.json.Decoder(RawEnvelope)


@cache
def _fields_decoder(fields: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    keys = msgspec.defstruct("Keys", [(name, Any, None) for name in fields])
    return msgspec.json.Decoder(keys)


@dataclass
class Page:
    number: int
    size: int
    total_pages: int
    total_results: int
    server_time: str | None
    data: list[dict[str, Any]]


def decode_page(content: bytes, where: str, raw_fields: tuple[str, ...] | None = None) -> Page:
    """Decode a ``PaginatedResponseOf<X>`` body; a body that is not one raises naming ``where``.

    With ``raw_fields``, items become ``RawRecord``s holding only those fields decoded."""
    data: list[dict[str, Any]]
    try:
        if raw_fields is None:
            env = _decoder.decode(content)
            meta, data = env.Meta, env.Data or []
        else:
            page, items = raw_page(content, where)
            page.data = [raw_record(item, raw_fields, where) for item in items]
            return page
    except msgspec.DecodeError as exc:
        raise ValueError(f"{where}: response is not a paginated envelope ({exc})") from exc
    return _page(meta, data)


def raw_page(content: bytes, where: str) -> tuple[Page, list[msgspec.Raw]]:
    """The envelope of a ``PaginatedResponseOf<X>`` body (``data`` empty) and its items, undecoded."""
    try:
        raw = _raw_decoder.decode(content)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{where}: response is not a paginated envelope ({exc})") from exc
    return _page(raw.Meta, []), raw.Data or []


def raw_record(item: msgspec.Raw, raw_fields: tuple[str, ...], where: str) -> RawRecord:
    """An item of a page as a ``RawRecord`` with ``raw_fields`` decoded; one that is no JSON object
    raises naming ``where``."""
    try:
        picked = _fields_decoder(raw_fields).decode(item)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{where}: a list item is not a JSON object ({exc})") from exc
    return RawRecord(item, {name: getattr(picked, name) for name in raw_fields})


def _page(meta: Meta, data: list[dict[str, Any]]) -> Page:
    return Page(
        number=meta.CurrentPage,
        size=meta.PageSize,
        total_pages=meta.TotalNumberOfPages,
        total_results=meta.TotalNumberOfResults,
        server_time=meta.ServerTimeUtc,
        data=data,
    )


# -- timestamps ----------------------------------------------------------------------------------------
def parse_instant(value: str) -> dt.datetime:
    """An API or config timestamp as an aware UTC datetime (see ``eaccounting_api.timeparse``)."""
    return timeparse.parse_utc(value)


def format_instant(value: dt.datetime) -> str:
    text = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.rstrip("0").rstrip(".") + "Z"


def odata_instant(value: str) -> str:
    """A timestamp as an OData DateTimeOffset literal. A value already in the server's own form
    (``...Z`` with up to 7 fraction digits) is passed unchanged, so ``eq`` matches it exactly."""
    if _INSTANT_RE.match(value):
        return value
    return format_instant(parse_instant(value))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)
_TICKS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?")


def instant_ticks(value: str) -> int:
    """An API timestamp as 100 ns ticks since 1970 (the server's 7 fraction digits kept, which
    ``parse_instant`` truncates to microseconds), to compare timestamps exactly."""
    match = _TICKS_RE.match(value)
    if match is None:
        return (parse_instant(value) - _EPOCH) // dt.timedelta(microseconds=1) * 10
    rest = value[match.end() :]
    if rest in ("", "Z"):
        base = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=dt.UTC)
    else:
        base = parse_instant(match.group(1) + rest)
    return (base - _EPOCH) // _SECOND * 10_000_000 + int((match.group(2) or "").ljust(7, "0"))


# -- the order the server sorts in (client-side checks of what $orderby and $filter promised) ---------------
# Which order ``$orderby=Id`` means on the real API is UNVERIFIED: ordinal (the sandbox, .NET's
# Guid.CompareTo) or SQL Server's ``uniqueidentifier`` order (last 6 bytes first), case-insensitive text.
# A page counts as in order, and a row as past a bound, when it is so under either collation.
_SQL_GUID_ORDER = (10, 11, 12, 13, 14, 15, 8, 9, 6, 7, 4, 5, 0, 1, 2, 3)
_INSTANT_PREFIX_RE = re.compile(r"^\d{4}-\d\d-\d\dT")


def _ordinal(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)  # OData and SQL sort nulls first
    if isinstance(value, bool | int | float):
        return (1, value)
    text = str(value)
    if _INSTANT_PREFIX_RE.match(text):
        try:
            return (2, instant_ticks(text))
        except ValueError:
            return (4, text)
    if _GUID_RE.match(text):
        return (3, text.lower())
    return (4, text)


def _sql_server(value: Any) -> tuple[int, Any]:
    kind, key = _ordinal(value)
    if kind == 3:
        raw = uuid.UUID(key).bytes_le
        return (3, bytes(raw[i] for i in _SQL_GUID_ORDER))
    if kind == 4:
        return (4, key.casefold())
    return (kind, key)


COLLATIONS = (_ordinal, _sql_server)


def in_order(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether key tuples are non-decreasing under one of the collations."""
    if len(rows) < 2:
        return True
    if _guids_in_order(rows):
        return True
    for collate in COLLATIONS:
        keys = [tuple(collate(v) for v in row) for row in rows]
        if all(a <= b for a, b in itertools.pairwise(keys)):
            return True
    return False


def _guids_in_order(rows: Sequence[Sequence[Any]]) -> bool:
    """The common case of ``in_order`` in bulk: one key column of Guids (as text), in the ordinal
    collation (``_ordinal`` sorts a Guid as its lower-case text). ``False`` says "not shown here", and
    the caller checks every collation as usual."""
    if set(map(len, rows)) != {1}:
        return False
    values = [row[0] for row in rows]
    if set(map(type, values)) != {str} or not all(map(_GUID_RE.match, values)):
        return False
    lowered = list(map(str.lower, values))
    return all(map(operator.le, lowered, lowered[1:]))


def between(values: Sequence[Any], low: Sequence[Any] | None, high: Sequence[Any] | None) -> bool:
    """Whether ``values`` lies strictly after ``low`` and before ``high`` (``None``: unbounded) under
    one of the collations: the client-side reading of ``after``/``before`` below."""
    for collate in COLLATIONS:
        key = tuple(collate(v) for v in values)
        if low is not None and not key > tuple(collate(v) for v in low):
            continue
        if high is not None and not key < tuple(collate(v) for v in high):
            continue
        return True
    return False


# -- OData expressions -----------------------------------------------------------------------------------
def string_literal(text: str) -> str:
    """An OData string literal: single quotes, an inner quote doubled. Always a string, even when the
    text looks like a Guid or a date-time (a reference field may hold either)."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _GUID_RE.match(text) and not QUOTE_GUIDS:
        return text
    if _INSTANT_RE.match(text):
        return text
    return string_literal(text)


def _compare(keys: Sequence[str], values: Sequence[Any], op: str) -> str:
    """``keys`` strictly after (``gt``) or before (``lt``) ``values`` in the lexicographic order."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [f"{k} eq {literal(v)}" for k, v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(" and ".join([*equal, f"{key} {op} {literal(values[i])}"]))
    if len(clauses) == 1:
        return clauses[0]
    return " or ".join(f"({c})" for c in clauses)


def after(keys: Sequence[str], values: Sequence[Any]) -> str:
    return _compare(keys, values, "gt")


def before(keys: Sequence[str], values: Sequence[Any]) -> str:
    return _compare(keys, values, "lt")


def conjunction(*parts: str | None) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({p})" for p in present)


# -- what a 400 blames (UNVERIFIED wordings: the sandbox's, IIS/ASP.NET OData's, and guesses) -------------
# OData caps a page as ``$top``: "The limit of '500' for Top query has been exceeded."
_PAGE_SIZE_WORDS = ("pagesize", "page size", "page_size", "top query", "$top", "maxtop", "max page")
_FILTER_WORDS = ("$filter", "filter")
_ORDERBY_WORDS = ("$orderby", "orderby", "order by", "sort")
_NUMBER_RE = re.compile(r"\d+")


def is_page_size_error(message: str) -> bool:
    """Whether a 400's text blames the page size (rather than ``$filter`` or ``$orderby``)."""
    lowered = message.lower()
    return any(word in lowered for word in _PAGE_SIZE_WORDS)


def blames_filter(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _FILTER_WORDS)


def blames_orderby(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _ORDERBY_WORDS)


def named_page_size(message: str, refused: int) -> int | None:
    """The largest number below ``refused`` that a page-size 400 names ("must be <= 500", "The limit of
    '500' for Top query"), i.e. the maximum the server states; ``None`` if it names none."""
    if not is_page_size_error(message):
        return None
    numbers = [int(n) for n in _NUMBER_RE.findall(message) if len(n) < 7]
    below = [n for n in numbers if MIN_PAGE_SIZE <= n < refused]
    return max(below) if below else None


def smaller_page_sizes(refused: int) -> list[int]:
    """The page sizes to try, largest first, when ``refused`` is refused and no maximum is named."""
    return [size for size in PAGE_SIZE_STEPS if size < refused]
