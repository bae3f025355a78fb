"""Where a zero-latency tap sync spends its CPU: cProfile in *every* thread, merged, by thread CPU time.

``python -m cProfile`` profiles the main thread only, and at wall time: the tap decodes pages in the page
pool's threads, and under the GIL a thread's wall time includes waiting for the others. Here each thread
(the main one, and every thread started during the sync: page pool, stream workers) gets its own
``cProfile.Profile`` timed by ``time.thread_time`` (that thread's CPU), and the profiles are merged, so
``tottime`` is CPU spent in the function itself, whichever thread ran it. Also printed: the process's
CPU and wall time for the sync, and the sandbox process's CPU (the other side of every request).

    .venv/bin/python bench/tap_profile.py [--records 100000] [--concurrency 4] [--top 30]
                                          [--sort tottime|cumulative] [--output FILE.pstats]
                                          [--floor]  (profile the transport floor instead)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_harness import INVOICES_PER_SCALE, catalog, machine, sandbox
from tap_baselines import fetch_pages
from tap_bench import PATH, STREAM

from tap_eaccounting.tap import TapEAccounting


@contextlib.contextmanager
def every_thread_profiled() -> Iterator[list[cProfile.Profile]]:
    """Profiles of the calling thread and of every thread started inside the block (by thread CPU)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main.enable()
    try:
        yield profiles
    finally:
        main.disable()
        threading.Thread.run = original_run  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--output", help="also write the merged stats here (pstats format)")
    parser.add_argument("--floor", action="store_true", help="profile the transport floor instead")
    parser.add_argument("--rounds", type=int, default=1, help="timed syncs (profiled together)")
    parser.add_argument(
        "--plain", action="store_true", help="no cProfile: only the timings (for an outside sampler, py-spy)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        sb = stack.enter_context(
            sandbox("--scale", str(args.records / INVOICES_PER_SCALE), "--rate-limit", "0")
        )
        config = sb.config(Path(tmp_name), rate_limit_per_minute=10**9, max_concurrency=args.concurrency)
        cat = catalog(config, {STREAM})

        def tap_sync() -> None:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                TapEAccounting(config=config, catalog=cat).sync_all()

        run: Callable[[], Any] = tap_sync
        if args.floor:
            run = lambda: fetch_pages(config, PATH, concurrency=args.concurrency)  # noqa: E731
        run()  # warm-up: imports, the sandbox's caches
        cpu0, sb0, wall0 = time.process_time(), sb.cpu_seconds(), time.perf_counter()
        with contextlib.nullcontext([]) if args.plain else every_thread_profiled() as profiles:
            for _ in range(args.rounds):
                run()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        sb_cpu = sb.cpu_seconds() - sb0
    print(f"[{'floor' if args.floor else 'tap'}] {args.records} records x {args.rounds}; {machine()}")
    print(f"  wall {wall:.2f} s, this process's CPU {cpu:.2f} s, sandbox CPU {sb_cpu:.2f} s")
    if args.plain:
        return 0
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    if args.output:
        stats.dump_stats(args.output)
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
