"""Target write throughput against the sandbox at an emulated latency, versus the rate-limit floor.

    .venv/bin/python bench/target_bench.py [--invoices 5000] [--latency-ms 250] [--concurrency 8]

Visma allows 600 requests per minute per endpoint, so creating invoices (all on POST
/customerinvoices) can never beat 10/s: that is the floor the target should reach. The sandbox
enforces the real limit and adds the latency to every request; the target runs in-process with its
defaults (shared rate limiter at 600/min). Prints writes/s and the ratio to 10/s (goal >= 0.9).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

from eaccounting_sandbox.server import SandboxServer
from target_eaccounting.target import TargetEAccounting

FLOOR_PER_SECOND = 600 / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with SandboxServer(seed=1) as sandbox, tempfile.TemporaryDirectory() as tmp:
        company = "bench-target"
        sandbox.admin("POST", "companies", {"company": company, "seed": 3, "country": "NO", "scale": 0.1})
        customers = sandbox.admin("GET", "objects", params={"company": company, "collection": "customers"})
        articles = sandbox.admin("GET", "objects", params={"company": company, "collection": "articles"})
        lines = [
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "customer_invoices",
                    "schema": {"properties": {}, "additionalProperties": True},
                }
            )
        ]
        for i in range(args.invoices):
            record = {
                "CustomerId": customers[i % len(customers)]["Id"],
                "InvoiceDate": "2025-11-01",
                "Rows": [
                    {"ArticleId": articles[i % len(articles)]["Id"], "Quantity": 1, "UnitPrice": 10.0 + i}
                ],
            }
            lines.append(json.dumps({"type": "RECORD", "stream": "customer_invoices", "record": record}))
        tokens = sandbox.mint_tokens(company)
        config = {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": tokens["refresh_token"],
            "token_store_path": str(Path(tmp) / "tokens.json"),
            "api_url": sandbox.api_url,
            "identity_url": sandbox.identity_url,
            "ledger_path": str(Path(tmp) / "ledger.sqlite"),
            "reject_path": str(Path(tmp) / "rejects.jsonl"),
            "max_concurrency": args.concurrency,
        }
        sandbox.admin("POST", "faults", {"latency_ms": args.latency_ms})
        target = TargetEAccounting(config=config)
        started = time.monotonic()
        target.listen(io.StringIO("\n".join(lines) + "\n"))
        elapsed = time.monotonic() - started
        counts = target.run.outcomes.counts
        stats = sandbox.admin("GET", "stats")
        per_second = counts["created"] / elapsed
        print(
            json.dumps(
                {
                    "invoices": args.invoices,
                    "latency_ms": args.latency_ms,
                    "concurrency": args.concurrency,
                    "created": counts["created"],
                    "rejected": counts["rejected"],
                    "seconds": round(elapsed, 1),
                    "writes_per_second": round(per_second, 2),
                    "floor_per_second": FLOOR_PER_SECOND,
                    "ratio_to_floor": round(per_second / FLOOR_PER_SECOND, 3),
                    "http_429": stats["statuses"].get("429", 0),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
