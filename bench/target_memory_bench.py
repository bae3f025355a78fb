"""target-eaccounting's peak memory in a dry run of a million records. Prints; asserts nothing.

A generated Singer stream of N customer invoices (default 1,000,000) is piped into the target CLI
(``dry_run: true``: every record validated, resolved and planned, no write request) against a
sandbox subprocess. The peak resident set size is the target process's own, from ``wait4`` (the
kernel's ``ru_maxrss``). A small run first gives the fixed footprint, so the growth per record shows.
Goal: <= 200 MB at 1M records. ``--rounds`` repeats the big run (min and median are printed).

``--baseline-src DIR`` compares against other code: DIR holds a source tree (e.g.
``git archive <commit> | tar -x -C DIR``) that the target runs from (``PYTHONPATH=DIR``), alternated
round by round with this tree's code, and the ratio of the medians is printed.

    .venv/bin/python bench/target_memory_bench.py [--records 1000000] [--small 1000] [--rounds 1]
        [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
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


def dry_run(records: int, source: str | None = None) -> DryRun:
    with tempfile.TemporaryDirectory() as tmp_name, sandbox("--seed", "1", "--rate-limit", "0") as sb:
        tmp = Path(tmp_name)
        customers, articles = seed_company(sb)
        config = write_json(tmp / "config.json", target_config(sb, tmp, dry_run=True))
        with (tmp / "stderr.log").open("wb") as log:
            started = time.perf_counter()
            env = {**os.environ, "PYTHONPATH": source} if source else None
            proc = subprocess.Popen(
                [str(BIN / "target-eaccounting"), "--config", str(config)],
                env=env,
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


def show(label: str, run: DryRun) -> None:
    print(
        f"  {label:>9} {run.records:>9} records: peak RSS {run.peak_mb:7.1f} MB, {run.seconds:6.1f} s "
        f"({run.records / run.seconds:7.0f} records/s); {run.summary}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1000, help="records of the fixed-footprint run")
    parser.add_argument("--rounds", type=int, default=1, help="big runs (of each variant)")
    parser.add_argument("--baseline-src", help="a source tree to compare with, alternated round by round")
    args = parser.parse_args()
    print(f"[target dry run, peak RSS of the target process] customer invoices; {machine()}", flush=True)
    variants = {"this": None, **({"baseline": args.baseline_src} if args.baseline_src else {})}
    small = dry_run(args.small)
    show("this", small)
    peaks: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, source in variants.items():
            run = dry_run(args.records, source)
            show(name, run)
            peaks[name].append(run.peak_mb)
    for name, values in peaks.items():
        median = statistics.median(values)
        growth = (median - small.peak_mb) * 1024 * 1024 / max(1, args.records - small.records)
        print(
            f"  {name}: peak RSS at {args.records} records over {len(values)} round(s): "
            f"min {min(values):.1f} MB, median {median:.1f} MB; "
            f"growth {growth:.0f} bytes per record beyond the fixed footprint; "
            f"median / goal = {median:.0f} / {GOAL_MB} = {median / GOAL_MB:.2f}   goal <= 1.00"
        )
    if args.baseline_src:
        ratio = statistics.median(peaks["this"]) / statistics.median(peaks["baseline"])
        print(f"  median peak RSS this / baseline: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
