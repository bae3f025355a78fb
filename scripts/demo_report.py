"""The demo's report: per-stream row counts in Postgres beside the sandbox's own, what changed, and a query.

``snapshot URL OUT``: remember a fingerprint of every row (by the stream's key) before a run.
``report URL BEFORE SANDBOX_URL``: print the table and one analyst query (open receivables per customer);
exit 1 when a stream's row count differs from the sandbox's.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from tap_eaccounting.streams import BY_NAME, STREAMS

SCHEMA = "eaccounting"
# Streams whose sandbox count is not one number per endpoint (read at several dates).
NOT_COMPARABLE = {"account_balances"}


def fingerprints(url: str) -> dict[str, dict[str, str]]:
    """Table -> {key: hash of the row's data columns} (target-postgres' _sdc_* columns left out)."""
    result: dict[str, dict[str, str]] = {}
    with psycopg.connect(url) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = %s", [SCHEMA]
            ).fetchall()
        ]
        for table in tables:
            cursor = con.execute(f'select * from {SCHEMA}."{table}"')
            columns = [d.name for d in cursor.description or []]
            keep = [i for i, c in enumerate(columns) if not c.startswith("_sdc_")]
            keys = BY_NAME[table].keys if table in BY_NAME else ()
            key_cols = [columns.index(k) for k in keys if k in columns] or keep
            rows: dict[str, str] = {}
            for row in cursor.fetchall():
                key = "|".join(str(row[i]) for i in key_cols)
                data = repr([row[i] for i in keep]).encode()
                rows[key] = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            result[table] = rows
    return result


def sandbox_counts(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_admin/counts?company=demo-no", timeout=10) as resp:  # noqa: S310 (loopback)
        counts: dict[str, int] = json.load(resp)
    return counts


def open_receivables(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return con.execute(
            f"""select "CustomerName", count(*), round(sum("RemainingAmount"), 2) as open_amount
            from {SCHEMA}.customer_invoices where "RemainingAmount" > 0
            group by "CustomerName" order by open_amount desc limit 5"""
        ).fetchall()


def report(url: str, before_path: Path, base_url: str) -> int:
    before = json.loads(before_path.read_text()) if before_path.exists() else {}
    after = fingerprints(url)
    counts = sandbox_counts(base_url)
    print(f"{'stream':34} {'rows':>7} {'sandbox':>8} {'new':>5} {'changed':>8}")
    total = new_total = changed_total = 0
    mismatched = []
    for stream in sorted(STREAMS, key=lambda s: s.name):
        rows = after.get(stream.name)
        if rows is None:
            continue
        old = before.get(stream.name, {})
        new = sum(1 for k in rows if k not in old)
        changed = sum(1 for k, h in rows.items() if k in old and old[k] != h)
        expected = None if stream.name in NOT_COMPARABLE else counts.get(stream.path)
        if expected is not None and expected != len(rows):
            mismatched.append(stream.name)
        total, new_total, changed_total = total + len(rows), new_total + new, changed_total + changed
        shown = "-" if expected is None else str(expected)
        print(f"{stream.name:34} {len(rows):>7} {shown:>8} {new:>5} {changed:>8}")
    print(f"{'total':34} {total:>7} {'':>8} {new_total:>5} {changed_total:>8}")
    if before:
        print(f"incremental run: {new_total} new and {changed_total} changed rows")
    print("\nopen receivables per customer (top 5), from customer_invoices:")
    for name, n, amount in open_receivables(url):
        print(f"  {name:40} {n:>4} invoices {amount:>14,.2f}")
    if mismatched:
        print(f"row counts differ from the sandbox for: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "snapshot":
        Path(argv[3]).write_text(json.dumps(fingerprints(argv[2])))
        return 0
    return report(argv[2], Path(argv[3]), argv[4])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
