"""Two source trees of the tap on one sandbox, alternating: the zero-latency sync of ``tap_bench`` (wall
and this process's CPU, every thread) per tree, and the transport floor, round by round. Prints numbers
and ratios; asserts nothing. For a change's before/after on a busy machine: the rounds alternate, so the
load reaches every contestant alike, and CPU seconds per sync (the tap is bound by one core: the GIL)
drift far less with the load than wall seconds.

    git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python bench/tap_before_after.py /tmp/before [AFTER_TREE (default: this checkout)]
                                               [--records 100000] [--rounds 3] [--concurrency 4]

Each sync runs in a subprocess whose ``PYTHONPATH`` starts with the tree (``--one``, below), after a
warm-up sync of its own (imports, connections).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_harness import INVOICES_PER_SCALE, catalog, machine, rotated, sandbox, write_json
from tap_baselines import fetch_pages
from tap_bench import PATH, timed_sync

from tap_eaccounting.tap import TapEAccounting  # in ``--one``: the tree under test's

HERE = Path(__file__).resolve().parent


def one(config_path: str, catalog_path: str, floor: bool) -> None:
    """In the subprocess: a warm-up sync, then a timed one; prints ``{"wall": s, "cpu": s}``."""
    config = json.loads(Path(config_path).read_text())
    cat = json.loads(Path(catalog_path).read_text())

    def run() -> None:
        if floor:
            fetch_pages(config, PATH, concurrency=int(config["max_concurrency"]))
        else:
            timed_sync(TapEAccounting(config=config, catalog=cat))

    run()
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=HERE.parent)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--one", nargs=3, metavar=("CONFIG", "CATALOG", "FLOOR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], args.one[1], args.one[2] == "floor")
        return 0
    trees = {"before": args.before.resolve(), "after": args.after.resolve(), "floor": args.after.resolve()}
    results: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in trees}
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        scale = str(args.records / INVOICES_PER_SCALE)
        sb = stack.enter_context(sandbox("--scale", scale, "--rate-limit", "0"))
        base = sb.config(tmp, rate_limit_per_minute=10**9, max_concurrency=args.concurrency)
        cat_path = write_json(tmp / "catalog.json", catalog(base, {"customer_invoices"}))
        for index in range(args.rounds):
            for name in rotated(list(trees), index):
                config = sb.config(tmp, rate_limit_per_minute=10**9, max_concurrency=args.concurrency)
                config_path = write_json(tmp / f"config-{name}.json", config)
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(trees[name]), str(HERE)])}
                cmd = [sys.executable, str(HERE / "tap_before_after.py"), str(args.before), "--one"]
                cmd += [str(config_path), str(cat_path), "floor" if name == "floor" else "tap"]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                measured: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
                for key in ("wall", "cpu"):
                    results[name][key].append(measured[key])
    print(f"[before / after] {args.records} customer invoices, {args.rounds} rounds; {machine()}")
    for name, series in results.items():
        wall, cpu = series["wall"], series["cpu"]
        print(
            f"  {name:<7} wall min {min(wall):6.2f} s  median {statistics.median(wall):6.2f} s   "
            f"CPU min {min(cpu):6.2f} s  median {statistics.median(cpu):6.2f} s"
        )
    floor = statistics.median(results["floor"]["wall"])
    for name in ("before", "after"):
        wall = results[name]["wall"]
        print(
            f"  {name} / transport floor (throughput): median {floor / statistics.median(wall):.0%}, "
            f"best {min(results['floor']['wall']) / min(wall):.0%}"
        )
    before_cpu, after_cpu = (statistics.median(results[n]["cpu"]) for n in ("before", "after"))
    print(f"  CPU per sync, after / before (medians): {after_cpu / before_cpu:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
