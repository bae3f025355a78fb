"""The shared budget honours ``rate_limit_methods``: with ``split`` a GET and a POST of one endpoint book
slots in budgets of their own in the coordination database; with ``shared`` (the default) in one.
``book`` only computes the slot (nothing sleeps)."""

from __future__ import annotations

from eaccounting_api.connection import limiter_from_config
from eaccounting_api.shared_budget import SharedRateBudget


def test_split_books_reads_and_writes_apart_shared_together(coordination_db: str) -> None:
    config = {
        "client_id": "cid",
        "client_secret": "s",
        "coordination_dsn": coordination_db,
        "tenant_id": "acme",
        "rate_limit_per_minute": 2,
    }
    waits: dict[str, list[float]] = {}
    for methods in ("split", "shared"):
        budget = limiter_from_config({**config, "rate_limit_methods": methods})
        assert isinstance(budget, SharedRateBudget)
        try:
            waits[methods] = [
                budget.book(budget.key(m, f"/{methods}/customers"))[1] for m in ("GET", "GET", "POST", "POST")
            ]
        finally:
            budget.close()
    assert waits["split"] == [0.0] * 4
    assert waits["shared"][:2] == [0.0, 0.0]
    assert all(w > 59.0 for w in waits["shared"][2:])  # the POSTs wait a window behind the GETs
