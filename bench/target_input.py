"""Input for the target benches: a sandbox company to write into and a Singer stream of customer
invoices for it, generated line by line (a million records never sit in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bench_harness import Sandbox

COMPANY = "bench-target"
STREAM = "customer_invoices"


def seed_company(sb: Sandbox) -> tuple[list[str], list[str]]:
    """A small Norwegian company; its customer and article ids."""
    sb.admin("POST", "companies", {"company": COMPANY, "seed": 3, "country": "NO", "scale": 0.1})
    customers = sb.admin("GET", "objects", company=COMPANY, collection="customers")
    articles = sb.admin("GET", "objects", company=COMPANY, collection="articles")
    return [str(c["Id"]) for c in customers], [str(a["Id"]) for a in articles]


def invoice_lines(customers: list[str], articles: list[str], count: int) -> Iterator[bytes]:
    """A SCHEMA, then ``count`` distinct invoices (each its own external key: a hash of the record)."""
    schema = {"type": "SCHEMA", "stream": STREAM, "schema": {"properties": {}, "additionalProperties": True}}
    yield json.dumps(schema).encode() + b"\n"
    for i in range(count):
        record: dict[str, Any] = {
            "CustomerId": customers[i % len(customers)],
            "InvoiceDate": "2025-11-01",
            "Rows": [{"ArticleId": articles[i % len(articles)], "Quantity": 1, "UnitPrice": 10.0 + i}],
        }
        yield json.dumps({"type": "RECORD", "stream": STREAM, "record": record}).encode() + b"\n"


def write_lines(lines: Iterator[bytes], out: IO[bytes]) -> None:
    """Write, then close ``out`` (the target's stdin: end of input). A target that stopped reading
    early (killed at the end of a timed bench) is not an error here."""
    try:
        for line in lines:
            out.write(line)
    except BrokenPipeError:
        return
    try:
        out.close()
    except BrokenPipeError:
        return


def target_config(sb: Sandbox, tmp: Path, **extra: Any) -> dict[str, Any]:
    return sb.config(
        tmp,
        company=COMPANY,
        ledger_path=str(tmp / "ledger.sqlite"),
        reject_path=str(tmp / "rejects.jsonl"),
        plan_path=str(tmp / "plan.jsonl"),
        **extra,
    )
