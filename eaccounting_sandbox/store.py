"""One tenant's data: collections with id indexes, its clock, counters and fiscal years.

The bottom of the sandbox: it imports none of the reads or writes above it. Records are stored as
spec-shaped dicts (exactly the schema's properties). ``reads.list_records`` returns a stored list itself
for unparametrized endpoints, so paging over 1,000,000 records never copies them; callers must not mutate
what they get. Relations the schemas do not carry (which bank account a transaction belongs to, which
customer an AutoInvoice recipient belongs to) live in ``children``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_time import Clock, parse_day
from eaccounting_sandbox.error_responses import FISCAL_YEAR_DOES_NOT_EXIST, ApiError, not_found

Record = dict[str, Any]

# Item collections that belong to a parent the item schema does not name: name -> path parameter.
CHILD_COLLECTIONS = {
    "banktransactions": "bankAccountId",
    "autoinvoicerecipients": "customerId",
    "voucherwithoverunderpayment": "voucherId",
}


@dataclass
class Collection:
    """A list of records in default (insertion) order, with an index on ``Id`` when the schema has one."""

    name: str
    schema: str
    items: list[Record] = field(default_factory=list)
    by_id: dict[str, Record] = field(default_factory=dict)
    version: int = 0

    @property
    def keyed(self) -> bool:
        return "Id" in spec.schemas()[self.schema].get("properties", {})

    def add(self, record: Record) -> Record:
        self.items.append(record)
        if "Id" in record:
            self.by_id[record["Id"]] = record
        self.version += 1
        return record

    def extend(self, records: Iterable[Record]) -> None:
        start = len(self.items)
        self.items.extend(records)
        for record in self.items[start:]:
            if "Id" in record:
                self.by_id[record["Id"]] = record
        self.version += 1

    def get(self, record_id: str) -> Record | None:
        return self.by_id.get(record_id)

    def replace(self, old: Record, new: Record) -> Record:
        """Swap ``old`` for ``new`` in place (same position), so shared sub-objects are never mutated."""
        for index in range(len(self.items) - 1, -1, -1):
            if self.items[index] is old:
                self.items[index] = new
                break
        else:
            raise KeyError(f"{self.name}: record not stored")
        if "Id" in new:
            self.by_id[new["Id"]] = new
        self.version += 1
        return new

    def touch(self) -> None:
        self.version += 1

    def remove_ids(self, ids: set[str]) -> int:
        before = len(self.items)
        self.items[:] = [r for r in self.items if r.get("Id") not in ids]
        for record_id in ids:
            self.by_id.pop(record_id, None)
        self.version += 1
        return before - len(self.items)


class Company:
    """A tenant. Built by :func:`eaccounting_sandbox.demo.generate_company`; read by ``reads``, mutated
    by ``writes`` and ``churn`` (which hold ``lock`` while they do)."""

    def __init__(self, company_id: str, seed: int, country: str, today: date) -> None:
        self.id = company_id
        self.seed = seed
        self.country = country
        self.today = today
        self.clock = Clock()
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        # name -> parent id -> records (see CHILD_COLLECTIONS)
        self.children: dict[str, dict[str, list[Record]]] = {name: {} for name in CHILD_COLLECTIONS}
        # invoice id -> InvoicePaymentApi records posted against it (customer and supplier invoices)
        self.payments: dict[str, list[Record]] = {}
        self.counters: dict[str, int] = {}
        self.base_currency = "NOK"
        self.rng = random.Random(seed * 7919 + 17)  # noqa: S311 - seeded churn, not cryptography
        self._version = 0

    # -- bookkeeping ------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Changes on every mutation of any collection (the HTTP layer caches sorted views by it)."""
        return self._version + sum(c.version for c in self.collections.values())

    def bump(self) -> None:
        self._version += 1

    def collection(self, name: str, schema: str | None = None) -> Collection:
        if name not in self.collections:
            if schema is None:
                raise KeyError(f"no collection {name!r}")
            self.collections[name] = Collection(name, schema)
        return self.collections[name]

    def next_number(self, counter: str, start: int = 1) -> int:
        value = self.counters.get(counter, start - 1) + 1
        self.counters[counter] = value
        return value

    def add_child(self, name: str, parent_id: str, record: Record) -> None:
        self.children[name].setdefault(parent_id, []).append(record)
        self.bump()

    # -- fiscal years -----------------------------------------------------------------------------
    def fiscal_years(self) -> list[Record]:
        return self.collection("fiscalyears").items

    def fiscal_year_for(self, day: date) -> Record | None:
        for year in self.fiscal_years():
            start, end = parse_day(year["StartDate"]), parse_day(year["EndDate"])
            if start and end and start <= day <= end:
                return year
        return None

    def fiscal_year(self, fiscal_year_id: str) -> Record:
        year = self.collection("fiscalyears").get(fiscal_year_id)
        if year is None:
            raise ApiError(
                404, FISCAL_YEAR_DOES_NOT_EXIST, f"Fiscal year {fiscal_year_id} does not exist.", []
            )
        return year

    # -- admin ----------------------------------------------------------------------------------
    def objects(self, collection: str) -> list[Record]:
        """Every stored object of a collection (admin API); child collections flattened."""
        if collection in self.children:
            return [r for records in self.children[collection].values() for r in records]
        if collection == "payments":
            return [r for records in self.payments.values() for r in records]
        if collection not in self.collections:
            raise not_found(f"No collection {collection!r}.")
        return self.collections[collection].items
