"""target-eaccounting's peak memory in a dry run of a million records. Prints; asserts nothing.

A generated Singer stream of N customer invoices (default 1,000,000) is piped into the target CLI
(``dry_run: true``: every record validated, resolved and planned, no write request) against a
sandbox subprocess. The peak resident set size is the target process's own, from ``wait4`` (the
kernel's ``ru_maxrss``). A small run first gives the fixed footprint, so the growth per record shows.
Goal: <= 200 MB at 1M records.

    .venv/bin/python bench/target_memory_bench.py [--records 1000000] [--small 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench_harness import BIN, machine, sandbox, write_json
from target_input import invoice_lines, seed_company, target_config, write_lines

GOAL_MB = 200
_SUMMARY = re.compile(r"dry run plan: [^\n]*")


@dataclass
class DryRun:
    records: int
    seconds: float
    peak_mb: float
    summary: str


def dry_run(records: int) -> DryRun:
    with tempfile.TemporaryDirectory() as tmp_name, sandbox("--seed", "1", "--rate-limit", "0") as sb:
        tmp = Path(tmp_name)
        customers, articles = seed_company(sb)
        config = write_json(tmp / "config.json", target_config(sb, tmp, dry_run=True))
        with (tmp / "stderr.log").open("wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [str(BIN / "target-eaccounting"), "--config", str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            assert proc.stdin is not None
            lines = invoice_lines(customers, articles, records)
            feeder = threading.Thread(target=write_lines, args=(lines, proc.stdin))
            feeder.start()
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            feeder.join()
        text = (tmp / "stderr.log").read_text("utf-8", "replace")
        if proc.returncode:
            raise RuntimeError(f"target-eaccounting exited with {proc.returncode}:\n{text[-3000:]}")
        found = _SUMMARY.findall(text)
        return DryRun(records, seconds, usage.ru_maxrss / 1024, found[-1] if found else "no summary line")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1000, help="records of the fixed-footprint run")
    args = parser.parse_args()
    print(f"[target dry run, peak RSS of the target process] customer invoices; {machine()}")
    runs = [dry_run(args.small), dry_run(args.records)]
    for run in runs:
        print(
            f"  {run.records:>9} records: peak RSS {run.peak_mb:7.1f} MB, {run.seconds:6.1f} s "
            f"({run.records / run.seconds:7.0f} records/s); {run.summary}"
        )
    small, big = runs
    growth = (big.peak_mb - small.peak_mb) * 1024 * 1024 / max(1, big.records - small.records)
    print(f"  growth: {growth:.0f} bytes per record beyond the fixed footprint")
    print(
        f"  peak RSS / goal at {big.records} records: {big.peak_mb:.0f} MB / {GOAL_MB} MB = "
        f"{big.peak_mb / GOAL_MB:.2f}   goal <= 1.00"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
