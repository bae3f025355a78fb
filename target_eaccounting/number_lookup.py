"""Objects by number, many numbers at once, in as few list reads as the collection allows.

Looking a batch's customer (article, supplier) numbers up one ``GET /customers?$filter=CustomerNumber
eq '…'`` at a time costs one request per number, on the same per-endpoint budget as the POSTs that
create customers. Here the numbers of a whole batch are looked up together, whichever way takes fewer
requests:

- OR-ed ``$filter`` chunks (``CustomerNumber eq 'a' or CustomerNumber eq 'b' …``), each at most
  ``paging.MAX_FILTER_CHARS`` long: one request per chunk;
- a full read of the collection: one request per page of ``paging.DEFAULT_PAGE_SIZE``.

One chunk is read at once. With more, page 1 of the full read comes first: it tells how many pages
are left, and the cheaper way reads the rest.

Every match is checked here (exact, case-sensitive): the server's collation may match ``'abc'`` to
``'ABC'``, and an endpoint may ignore ``$filter``. A chunk answered with more objects than it named
numbers was not filtered as asked: the rest is read in full then, never chunk after chunk of
unfiltered pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eaccounting_api import paging
from target_eaccounting.api import MAX_PAGES, Api, ListPage, quote

_OR = " or "


def clause(number_field: str, number: str) -> str:
    return f"{number_field} eq {quote(number)}"


def filter_chunks(
    number_field: str, numbers: Sequence[str], max_chars: int = paging.MAX_FILTER_CHARS
) -> list[list[str]]:
    """``numbers`` in order, cut into runs whose OR-ed ``$filter`` stays within ``max_chars`` (a number
    whose one clause is longer gets a chunk of its own)."""
    chunks: list[list[str]] = []
    length = 0
    for number in numbers:
        size = len(clause(number_field, number))
        if chunks and length + len(_OR) + size <= max_chars:
            chunks[-1].append(number)
            length += len(_OR) + size
        else:
            chunks.append([number])
            length = size
    return chunks


def or_filter(number_field: str, numbers: Iterable[str]) -> str:
    return _OR.join(clause(number_field, n) for n in numbers)


@dataclass
class Found:
    """The Id of each number found (absent numbers are not in ``ids``) and the requests it took."""

    ids: dict[str, str] = field(default_factory=dict)
    requests: int = 0


class NumberLookup:
    """One lookup of ``numbers`` in the collection at ``path`` by its ``number_field``."""

    def __init__(self, api: Api, path: str, number_field: str, numbers: Iterable[str]) -> None:
        self.api = api
        self.path = path
        self.number_field = number_field
        self.wanted = sorted(set(numbers))
        self.wanted_set = frozenset(self.wanted)
        self.found = Found()

    def run(self) -> Found:
        if not self.wanted:
            return self.found
        chunks = filter_chunks(self.number_field, self.wanted)
        if len(chunks) == 1:
            if not self._read_chunk(chunks[0]):
                self._read_full(paging.FIRST_PAGE)
            return self.found
        first = self._page(number=paging.FIRST_PAGE)
        if first.is_last:
            return self.found
        chunks = filter_chunks(self.number_field, [n for n in self.wanted if n not in self.found.ids])
        if len(chunks) > first.total_pages - first.number:
            self._read_full(first.number + 1)
            return self.found
        for chunk in chunks:
            if not self._read_chunk(chunk):
                self._read_full(first.number + 1)
                break
        return self.found

    def _page(self, *, number: int, filter_: str | None = None) -> ListPage:
        page = self.api.page(self.path, number=number, filter_=filter_)
        self.found.requests += 1
        for item in page.items:
            value = item.get(self.number_field)
            if isinstance(value, str) and value in self.wanted_set and item.get("Id"):
                self.found.ids.setdefault(value, str(item["Id"]))  # pages are in Id order: first wins
        return page

    def _read_chunk(self, chunk: Sequence[str]) -> bool:
        """Read one chunk's matches; False if the answer shows the filter was not applied as asked."""
        page = self._page(number=paging.FIRST_PAGE, filter_=or_filter(self.number_field, chunk))
        return page.is_last and max(page.total_results, len(page.items)) <= len(chunk)

    def _read_full(self, first: int) -> None:
        for number in range(first, first + MAX_PAGES):
            if self._page(number=number).is_last:
                return


def find_ids(api: Api, path: str, number_field: str, numbers: Iterable[str]) -> Found:
    """The Ids of the objects at ``path`` whose ``number_field`` is exactly one of ``numbers``."""
    return NumberLookup(api, path, number_field, numbers).run()
