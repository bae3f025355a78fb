"""Run by test_coordination in subprocesses (separate processes, as on separate machines).

python coordination_worker.py prepare DSN START_AT
    create every component's tables at wall-clock time START_AT (all workers at once)
python coordination_worker.py sends DSN SCOPE PER_MINUTE WINDOW COUNT
    acquire COUNT slots of one key through a SharedRateBudget; print the send times (JSON list)
"""

from __future__ import annotations

import json
import sys
import time

from eaccounting_api.pg_coordination import Coordination
from eaccounting_api.pg_token_store import PostgresTokenStore
from eaccounting_api.shared_budget import SharedRateBudget
from target_eaccounting.pg_ledger import PostgresLedger


def prepare(dsn: str, start_at: float) -> None:
    coordination = Coordination(dsn)
    time.sleep(max(0.0, start_at - time.time()))
    PostgresTokenStore(coordination, "cid/t", "cid").read()
    SharedRateBudget(coordination, "cid", 5).reserve("/customers")
    PostgresLedger(coordination, "cid/t").close()


def sends(dsn: str, scope: str, per_minute: int, window: float, count: int) -> dict[str, list[float]]:
    """The booked slots (database clock) and the moments the sleeps ended (this machine's clock)."""
    budget = SharedRateBudget(Coordination(dsn), scope, per_minute, window_seconds=window)
    slots, sent = [], []
    for _ in range(count):
        slot, wait = budget.book("/customers")
        time.sleep(wait)
        slots.append(slot)
        sent.append(time.time())
    return {"slots": slots, "sent": sent}


def main() -> int:
    command, dsn, *rest = sys.argv[1:]
    if command == "prepare":
        prepare(dsn, float(rest[0]))
        print("ok")
    else:
        print(json.dumps(sends(dsn, rest[0], int(rest[1]), float(rest[2]), int(rest[3]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
