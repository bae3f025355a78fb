"""tap-eaccounting at zero latency against its two baselines, and the no-change incremental run.
Prints numbers and ratios; asserts nothing.

1. Zero latency (sandbox subprocess, rate limit off): a first full sync of N customer invoices by the
   tap (``TapEAccounting.sync_all``, in this process, stdout to /dev/null) against
   (a) the SDK ceiling: a trivial SDK tap emitting the same raw records with the same writer, no HTTP;
   (b) the transport floor: the same ``EAccountingClient`` fetching the same pages with the same
       concurrency and dropping them (``tap_baselines``);
   (c) the bare SDK tap over HTTP: the ceiling's tap fetching those pages itself with the same client
       and concurrency, one decode per page, no checks: the fastest any SDK tap can do this work here,
       so (c) / (b) is the highest tap / floor ratio this machine allows.
   Rounds alternate the four (order rotated each round); min and median of each, ratios of medians.
   Goal: tap throughput >= 80% of the transport floor's.
2. An incremental run after no change (tap CLI subprocesses, scale 1): API requests served by the
   sandbox with every stream selected, then with only the incremental streams. Goal: 1 per stream.

    .venv/bin/python bench/tap_bench.py [--records 100000] [--rounds 3] [--concurrency 4]
                                        [--skip-zero-latency] [--skip-incremental]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_harness import (
    INVOICES_PER_SCALE,
    Sandbox,
    Series,
    api_requests,
    catalog,
    incremental_streams,
    machine,
    ratio_line,
    rotated,
    run_cli,
    sandbox,
    select,
    statuses,
    write_json,
)
from tap_baselines import BareHttpTap, CeilingTap, fetch_pages, raw_records

from tap_eaccounting.tap import TapEAccounting

STREAM, PATH, ENDPOINT = "customer_invoices", "/customerinvoices", "GET /v2/customerinvoices"


def timed_sync(tap: Any) -> float:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        started = time.perf_counter()
        tap.sync_all()
        return time.perf_counter() - started


def timed_floor(config: dict[str, Any], concurrency: int) -> float:
    started = time.perf_counter()
    fetch_pages(config, PATH, concurrency=concurrency)
    return time.perf_counter() - started


# -- 1. zero latency ---------------------------------------------------------------------------------
def bench_zero_latency(records: int, rounds: int, concurrency: int, tmp: Path) -> None:
    with sandbox("--scale", str(records / INVOICES_PER_SCALE), "--rate-limit", "0") as sb:
        config = sb.config(tmp, rate_limit_per_minute=10**9, max_concurrency=concurrency)
        cat = catalog(config, {STREAM})
        entry = next(e for e in cat["streams"] if e["tap_stream_id"] == STREAM)
        keys = (*entry["key_properties"], entry["replication_key"])
        CeilingTap.entry = entry
        BareHttpTap.client_config, BareHttpTap.path, BareHttpTap.concurrency = config, PATH, concurrency
        bodies = fetch_pages(config, PATH, concurrency=concurrency, keep=True)
        # The one decode any SDK tap passing these records needs: each page split into its records, with
        # the keys and replication key the SDK reads (CPU, median of 3; part of the bound below).
        # Page by page, each page's records dropped after it, as a tap holds them.
        decode_cpu = []
        for _ in range(3):
            started = time.process_time()
            for body in bodies:
                raw_records([body], keys)
            decode_cpu.append(time.process_time() - started)
        CeilingTap.records = raw_records(bodies, keys)
        del bodies
        n = len(CeilingTap.records)
        # The ceiling's input is not its work: keep the cyclic GC from rescanning it in every contestant.
        gc.collect()
        gc.freeze()
        contestants: dict[str, tuple[Series, Callable[[], float]]] = {
            "ceiling": (
                Series("(a) SDK ceiling: same raw records and writer, no HTTP"),
                lambda: timed_sync(CeilingTap(config={})),
            ),
            "floor": (
                Series(f"(b) transport floor: same pages, {concurrency} threads"),
                lambda: timed_floor(config, concurrency),
            ),
            "bare": (
                Series("(c) bare SDK tap over HTTP: (a) + (b), no checks"),
                lambda: timed_sync(BareHttpTap(config={})),
            ),
            "tap": (
                Series(f"tap-eaccounting, max_concurrency={concurrency}"),
                lambda: timed_sync(TapEAccounting(config=config, catalog=cat)),
            ),
        }
        for _, run in contestants.values():  # warm-up: connections, the sandbox's caches, imports
            run()
        requests_by: dict[str, list[int]] = {"tap": [], "floor": [], "bare": []}
        own_cpu: dict[str, list[float]] = {name: [] for name in contestants}
        sandbox_cpu: dict[str, list[float]] = {name: [] for name in contestants}
        for index in range(rounds):
            for name in rotated(list(contestants), index):
                series, run = contestants[name]
                sb.endpoint_counts(reset=True)
                cpu, served = time.process_time(), sb.cpu_seconds()
                series.seconds.append(run())
                own_cpu[name].append(time.process_time() - cpu)
                sandbox_cpu[name].append(sb.cpu_seconds() - served)
                if name in requests_by:
                    requests_by[name].append(api_requests(sb.endpoint_counts(), ENDPOINT))
        ceiling, floor, bare, tap = (contestants[k][0] for k in ("ceiling", "floor", "bare", "tap"))
        print(f"[zero latency] {n} customer invoices, page size 1000, rate limit off; {machine()}")
        for series in (ceiling, floor, bare, tap):
            print(series.line(n))
        print(
            f"  requests per sync to {ENDPOINT}: tap {sorted(set(requests_by['tap']))}, "
            f"floor {sorted(set(requests_by['floor']))}, bare {sorted(set(requests_by['bare']))} "
            "(the tap's extra ones: churn repairs, reader.py)"
        )
        print(ratio_line("tap / transport floor (throughput, medians)", floor.median / tap.median, ">= 80%"))
        print(ratio_line("tap / SDK ceiling (throughput, medians)", ceiling.median / tap.median, "-"))
        print(ratio_line("bare SDK tap / floor (the most reachable)", floor.median / bare.median, "-"))
        print(ratio_line("tap / bare SDK tap (throughput, medians)", bare.median / tap.median, "-"))
        best = (
            f"tap / floor {floor.min / tap.min:.0%}, tap / ceiling {ceiling.min / tap.min:.0%}, "
            f"bare / floor {floor.min / bare.min:.0%}, tap / bare {bare.min / tap.min:.0%}"
        )
        print(f"  (best rounds: {best})")
        cpu = {name: statistics.median(own_cpu[name]) for name in contestants}
        served = {name: statistics.median(sandbox_cpu[name]) for name in contestants}
        print(
            "  CPU per sync, medians (this process, every thread / the sandbox): "
            + ", ".join(f"{name} {cpu[name]:.2f} / {served[name]:.2f} s" for name in contestants)
        )
        # Any tap built on the SDK does at least the floor's work (its client and the sandbox serving it),
        # the ceiling's (the SDK's per-record path and writer) and one decode per page: on this machine's
        # cores, its wall time is at least that CPU spread perfectly over every core, whatever its
        # architecture (threads, processes, a free-threaded interpreter).
        decode = statistics.median(decode_cpu)
        least = (cpu["floor"] + served["floor"] + cpu["ceiling"] + decode) / (os.cpu_count() or 1)
        print(
            f"  any SDK tap, {os.cpu_count()} cores: at least (floor client + sandbox + ceiling + one decode"
            f" per page ({decode:.2f} s) CPU) / cores = {least:.2f} s per sync, so at most"
            f" {floor.median / max(least, floor.median):.0%} of the floor's throughput"
        )
        gc.unfreeze()
        CeilingTap.records = []


# -- 2. incremental after no change ----------------------------------------------------------------
def last_state(output: Path) -> dict[str, Any]:
    state: dict[str, Any] = {}
    with output.open("rb") as lines:
        for line in lines:
            if b'"STATE"' in line:
                message = json.loads(line)
                if message.get("type") == "STATE":
                    state = message["value"]
    return state


def sync_cli(sb: Sandbox, tmp: Path, config: Path, cat: dict[str, Any], state: Path | None) -> int:
    """One ``tap-eaccounting`` run; the API requests the sandbox served for it."""
    args = ["tap-eaccounting", "--config", str(config), "--catalog", str(write_json(tmp / "cat.json", cat))]
    args += ["--state", str(state)] if state else []
    sb.endpoint_counts(reset=True)
    with (tmp / "out.jsonl").open("wb") as out:
        run_cli(args, stdout=out)
    return api_requests(sb.endpoint_counts())


def bench_incremental(tmp: Path) -> None:
    with sandbox("--scale", "1", "--rate-limit", "0") as sb:
        config = sb.config(tmp, rate_limit_per_minute=10**9)
        config_path = write_json(tmp / "config.json", config)
        every = catalog(config)
        names = {e["tap_stream_id"] for e in every["streams"]}
        incremental = incremental_streams(every)
        everything = select(every, names)
        first = sync_cli(sb, tmp, config_path, everything, None)
        state = write_json(tmp / "state.json", last_state(tmp / "out.jsonl"))
        whole = sync_cli(sb, tmp, config_path, everything, state)
        only = sync_cli(sb, tmp, config_path, select(every, set(incremental)), state)
        served = sb.endpoint_counts()
        busy = {e: sum(s.values()) for e, s in served.items() if " /v2/" in e and sum(s.values()) > 1}
        print(f"[incremental after no change] scale 1, all {len(names)} streams selected; {machine()}")
        print(f"  first (full) sync: {first} API requests; second, every stream selected: {whole}")
        print(
            f"  second, only the {len(incremental)} incremental streams selected: {only} API requests = "
            f"{only / len(incremental):.2f} per incremental stream   goal 1"
            f"   (429s: {statuses(served, '429')}; token requests excluded)"
        )
        if busy:
            print(f"  endpoints asked more than once (a flat list is also its children's probe): {busy}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="customer invoices (default 100,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="max_concurrency (the tap's default: 4)")
    parser.add_argument("--skip-zero-latency", action="store_true")
    parser.add_argument("--skip-incremental", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_zero_latency:
            bench_zero_latency(args.records, args.rounds, args.concurrency, tmp)
        if not args.skip_incremental:
            bench_incremental(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
