"""How long and how much memory the sandbox needs to generate a company with N customer invoices.

    .venv/bin/python bench/sandbox_generate_bench.py [--invoices 1000000] [--country NO]

Prints wall time and peak RSS of ``generate_company`` at the scale that yields N customer invoices,
then the cost of the reads a sync does on that company: a 1000-record page of the stored list, a
``modifiedSinceUtc`` window and an OData ``$filter`` over every invoice. Numbers only, no pass/fail
(the issue's target: 1,000,000 invoices in under a minute, in memory on a 24 GiB machine).
"""

from __future__ import annotations

import argparse
import resource
import time

from eaccounting_sandbox import reads
from eaccounting_sandbox.demo import generate_company
from eaccounting_sandbox.demo_context import BASE_CUSTOMER_INVOICES
from eaccounting_sandbox.odata import compile_filter


def rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--country", default="NO")
    args = parser.parse_args()
    scale = args.invoices / BASE_CUSTOMER_INVOICES

    before = rss_mib()
    started = time.perf_counter()
    company = generate_company("bench", 1, scale=scale, country=args.country)
    elapsed = time.perf_counter() - started
    invoices = company.collection("customerinvoices").items
    print(f"generate_company(scale={scale:g}, country={args.country}): {len(invoices):,} customer invoices")
    print(f"  time            {elapsed:8.2f} s")
    print(f"  peak RSS        {rss_mib():8.0f} MiB (before: {before:.0f} MiB)")
    print(f"  invoices/s      {len(invoices) / elapsed:11,.0f}")
    print(
        "  other big collections: "
        + ", ".join(
            f"{name}={len(company.collection(name).items):,}" for name in ("supplierinvoices", "vouchers")
        )
    )

    started = time.perf_counter()
    page = reads.list_records(company, "/customerinvoices", {}, {})[500_000:501_000]
    ms = (time.perf_counter() - started) * 1000
    print(f"  list + slice of a 1000-record page: {ms:8.3f} ms ({len(page)})")

    cutoff = sorted(i["ModifiedUtc"] for i in invoices[-2000:])[0]
    started = time.perf_counter()
    window = reads.list_records(company, "/customerinvoices", {}, {"modifiedSinceUtc": cutoff})
    ms = (time.perf_counter() - started) * 1000
    print(f"  modifiedSinceUtc over all:          {ms:8.1f} ms ({len(window):,})")

    predicate = compile_filter(
        "ModifiedUtc ge 2025-01-01T00:00:00Z and IsCreditInvoice eq false", "CustomerInvoiceApi"
    )
    started = time.perf_counter()
    matched = sum(1 for i in invoices if predicate(i))
    ms = (time.perf_counter() - started) * 1000
    print(f"  $filter over all:                   {ms:8.1f} ms ({matched:,})")


if __name__ == "__main__":
    main()
