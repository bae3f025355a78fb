"""Churn: records created, modified and deleted "now", as other users of a company would between pages.

Used by ``/_admin/churn`` and the churn fault. Every touched record gets a fresh ``ModifiedUtc`` /
``ChangedUtc`` (strictly later than any earlier stamp), so an incremental sync must pick it up; created
records get a new ``Id`` and, where the resource has one, the next number. Records are replaced, never
mutated in place (stored lists may be shared with a page being served).

With a stamp lag (switch ``stamp_lag_seconds``, passed in as ``lag``: seconds per collection), each
touched record is stamped a seeded random share of that lag *before* now (after it, for a negative lag):
stamps then no longer follow the order records became visible in, as with a late commit or clock skew.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from eaccounting_sandbox.demo_time import stamp
from eaccounting_sandbox.store import Company, Record

DEFAULT_COLLECTIONS = (
    "customerinvoices",
    "customers",
    "articles",
    "suppliers",
    "supplierinvoices",
    "projects",
)
NUMBERED = {
    "customerinvoices": ("InvoiceNumber", "customerinvoice"),
    "customers": ("CustomerNumber", None),
    "suppliers": ("SupplierNumber", None),
    "articles": ("Number", None),
    "projects": ("Number", None),
}
EDITS = {
    "customers": "Note",
    "suppliers": "Note",
    "articles": "Note",
    "projects": "Notes",
    "customerinvoices": "YourReference",
}


def _fresh(company: Company, record: Record, *, created: bool, lag: float = 0.0) -> Record:
    """A copy stamped now, or ``lag`` seconds before now (after it, if negative)."""
    copy = dict(record)
    now = stamp(company.clock.now() - timedelta(seconds=lag)) if lag else company.clock.stamp()
    for name in ("ModifiedUtc", "ChangedUtc"):
        if name in copy:
            copy[name] = now
    if created and "CreatedUtc" in copy:
        copy["CreatedUtc"] = now
    return copy


def _next_number(company: Company, collection: str, field: str, counter: str | None) -> Any:
    if counter is not None:
        return company.next_number(counter)
    numbers = [
        int(r[field]) for r in company.collection(collection).items if str(r.get(field) or "").isdigit()
    ]
    return str(max(numbers, default=0) + 1)


def churn(
    company: Company,
    *,
    creates: int = 0,
    updates: int = 0,
    deletes: int = 0,
    collections: list[str] | None = None,
    rng: random.Random | None = None,
    lag: Callable[[str], int] | None = None,
) -> dict[str, Any]:
    """Create, modify and delete records now, with fresh ``ModifiedUtc``/``ChangedUtc``.

    ``rng`` defaults to the company's own seeded one; ``lag``: a collection's stamp lag in seconds (the
    switch ``stamp_lag_seconds`` as its endpoint sees it; none by default). Returns the touched ids per
    collection.
    """
    with company.lock:
        return _churn(
            company,
            rng or company.rng,
            creates=creates,
            updates=updates,
            deletes=deletes,
            collections=collections,
            lag=lag or (lambda name: 0),
        )


def _lag(rng: random.Random, seconds: int) -> float:
    # Draws from the rng only with a lag set: without one, churn stays what it was for every seed.
    return seconds * rng.random() if seconds else 0.0


def _churn(
    company: Company,
    rng: random.Random,
    *,
    creates: int,
    updates: int,
    deletes: int,
    collections: list[str] | None,
    lag: Callable[[str], int],
) -> dict[str, Any]:
    names = [n for n in (collections or DEFAULT_COLLECTIONS) if n in company.collections]
    if not names:
        raise ValueError(f"no churnable collections among {collections}")
    result: dict[str, dict[str, list[str]]] = {
        n: {"created": [], "updated": [], "deleted": []} for n in names
    }
    for _ in range(creates):
        name = rng.choice(names)
        coll = company.collection(name)
        if not coll.items:
            continue
        record = _fresh(company, rng.choice(coll.items), created=True, lag=_lag(rng, lag(name)))
        record["Id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if isinstance(record.get("Rows"), list):
            # A new document gets rows of its own (row Ids are unique like any other Id).
            record["Rows"] = [
                {**row, "Id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
                if "Id" in row
                else dict(row)
                for row in record["Rows"]
            ]
        if name in NUMBERED:
            field, counter = NUMBERED[name]
            record[field] = _next_number(company, name, field, counter)
        coll.add(record)
        result[name]["created"].append(record["Id"])
    for _ in range(updates):
        name = rng.choice(names)
        coll = company.collection(name)
        if not coll.items:
            continue
        old = rng.choice(coll.items)
        record = _fresh(company, old, created=False, lag=_lag(rng, lag(name)))
        if name in EDITS:
            record[EDITS[name]] = f"churned {record.get('ModifiedUtc') or record.get('ChangedUtc')}"
        coll.replace(old, record)
        result[name]["updated"].append(record["Id"])
    victims: dict[str, set[str]] = {}
    for _ in range(deletes):
        name = rng.choice(names)
        items = company.collection(name).items
        candidates = [
            r["Id"] for r in rng.sample(items, min(len(items), 8)) if r["Id"] not in victims.get(name, ())
        ]
        if candidates:
            victims.setdefault(name, set()).add(candidates[0])
            result[name]["deleted"].append(candidates[0])
    for name, ids in victims.items():
        company.collection(name).remove_ids(ids)  # one pass per collection: O(n) even at 1,000,000
    company.bump()
    return {n: r for n, r in result.items() if any(r.values())}
