"""The demo's report: per-stream row counts in DuckDB beside the sandbox's own, what changed, and a query.

``snapshot DB OUT``: remember a fingerprint of every row (by key) before a run.
``report DB BEFORE SANDBOX_URL``: print the table and one analyst query (open receivables per customer).
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path

import duckdb

from tap_eaccounting.streams import STREAMS

SCHEMA = "eaccounting"
# Streams whose sandbox count is not one number per endpoint (read at several dates).
NOT_COMPARABLE = {"account_balances"}


def fingerprints(db: Path) -> dict[str, dict[str, str]]:
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
        ).fetchall()
    ]
    result: dict[str, dict[str, str]] = {}
    for table in tables:
        cursor = con.execute(f'select * from {SCHEMA}."{table}"')
        columns = [d[0] for d in cursor.description]
        keep = [i for i, c in enumerate(columns) if not c.startswith("_sdc_")]
        key_cols = [i for i, c in enumerate(columns) if c == "id"] or keep
        rows: dict[str, str] = {}
        for row in cursor.fetchall():
            key = "|".join(str(row[i]) for i in key_cols)
            rows[key] = hashlib.sha1(repr([row[i] for i in keep]).encode(), usedforsecurity=False).hexdigest()
        result[table] = rows
    con.close()
    return result


def sandbox_counts(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_admin/counts?company=demo-no", timeout=10) as resp:  # noqa: S310 (loopback)
        counts: dict[str, int] = json.load(resp)
    return counts


def report(db: Path, before_path: Path, base_url: str) -> int:
    before = json.loads(before_path.read_text()) if before_path.exists() else {}
    after = fingerprints(db)
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
    con = duckdb.connect(str(db), read_only=True)
    print("\nopen receivables per customer (top 5), from customer_invoices:")
    query = f"""
        select customername, count(*) as open_invoices, round(sum(remainingamount), 2) as open_amount
        from {SCHEMA}.customer_invoices where remainingamount > 0
        group by customername order by open_amount desc limit 5"""
    for name, n, amount in con.execute(query).fetchall():
        print(f"  {name:40} {n:>4} invoices {amount:>14,.2f}")
    if mismatched:
        print(f"row counts differ from the sandbox for: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[1] == "snapshot":
        Path(argv[3]).write_text(json.dumps(fingerprints(Path(argv[2]))))
        return 0
    return report(Path(argv[2]), Path(argv[3]), argv[4])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
