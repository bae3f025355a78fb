"""target-eaccounting's sustained writes per second at 250 ms latency, against the rate limit.
Prints numbers and ratios; asserts nothing.

Visma allows 600 requests per minute per endpoint, so invoices (all on POST /customerinvoices) can be
written at 10/s in the long run, whatever the concurrency. The limit is a sliding 60 s window: a
fresh process may send 600 at once, so a short run measures that burst, not the rate users get. Here
the target (CLI subprocess, its defaults) writes invoices into the sandbox (subprocess, 250 ms on
every request, the real limit) for ``--minutes`` minutes; the sandbox's count of created invoices is
sampled four times a second. The first minute (the burst) is reported apart; the rate is measured
over each following 60 s window (the rounds: min and median) and over all of them together. The
input holds more invoices than the run can write; the target is stopped when the time is up.
Goal: the steady rate >= 95% of 10/s.

    .venv/bin/python bench/target_bench.py [--minutes 4] [--latency-ms 250] [--concurrency N]
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench_harness import BIN, RATE_LIMIT_PER_MINUTE, Sandbox, machine, sandbox, statuses, write_json
from target_input import invoice_lines, seed_company, target_config, write_lines

WRITE_ENDPOINT = "POST /v2/customerinvoices"
LIMIT_PER_SECOND = RATE_LIMIT_PER_MINUTE / 60
WINDOW = 60.0
FIRST_WINDOW = 60.5  # the target's limiter keeps a 0.5 s margin on the 60 s window
SAMPLE_EVERY = 0.25


def created(sb: Sandbox) -> int:
    by_status = sb.endpoint_counts().get(WRITE_ENDPOINT, {})
    return sum(n for status, n in by_status.items() if status.startswith("2"))


def count_at(samples: list[tuple[float, int]], at: float) -> tuple[float, int]:
    """The sample taken closest to time ``at``."""
    times = [t for t, _ in samples]
    i = bisect.bisect_left(times, at)
    near = [j for j in (i - 1, i) if 0 <= j < len(samples)]
    return samples[min(near, key=lambda j: abs(times[j] - at))]


def rate(samples: list[tuple[float, int]], start: float, end: float) -> tuple[float, int]:
    (t0, c0), (t1, c1) = count_at(samples, start), count_at(samples, end)
    return (c1 - c0) / (t1 - t0), c1 - c0


@dataclass
class Run:
    samples: list[tuple[float, int]]  # (monotonic time, invoices created so far)
    first: float | None  # when the first invoice was seen created
    served: dict[str, dict[str, int]]
    exited: int | None  # the target's exit code if it ended on its own
    log_tail: str


def run_target(minutes: int, latency_ms: float, concurrency: int | None) -> Run:
    flags = ["--seed", "1", "--latency-ms", f"{latency_ms:g}", "--rate-limit", str(RATE_LIMIT_PER_MINUTE)]
    with tempfile.TemporaryDirectory() as tmp_name, sandbox(*flags) as sb:
        tmp = Path(tmp_name)
        customers, articles = seed_company(sb)
        extra = {"max_concurrency": concurrency} if concurrency else {}
        config = write_json(tmp / "config.json", target_config(sb, tmp, **extra))
        lines = invoice_lines(customers, articles, RATE_LIMIT_PER_MINUTE * (minutes + 1))  # more than fit
        sb.endpoint_counts(reset=True)
        with (tmp / "stderr.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(BIN / "target-eaccounting"), "--config", str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            assert proc.stdin is not None
            feeder = threading.Thread(target=write_lines, args=(lines, proc.stdin))
            feeder.start()
            samples: list[tuple[float, int]] = []
            first: float | None = None
            while proc.poll() is None:
                now, count = time.monotonic(), created(sb)
                samples.append((now, count))
                if first is None and count:
                    first = samples[-2][0] if len(samples) > 1 else now
                if first is not None and now - first >= FIRST_WINDOW + WINDOW * (minutes - 1) + 1:
                    break
                time.sleep(SAMPLE_EVERY)
            exited = proc.poll()
            proc.terminate()
            proc.wait(timeout=60)
            feeder.join(timeout=60)
        return Run(samples, first, sb.endpoint_counts(), exited, (tmp / "stderr.log").read_text()[-3000:])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=int, default=4, help="run length: the burst minute + steady ones")
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--concurrency", type=int, help="max_concurrency (the target's default if unset)")
    args = parser.parse_args()
    minutes = max(2, args.minutes)
    run = run_target(minutes, args.latency_ms, args.concurrency)
    samples, first = run.samples, run.first
    if first is None:
        print(f"no invoice was created; the target's stderr ends with:\n{run.log_tail}")
        return 1
    burst_rate, burst = rate(samples, first, first + WINDOW)
    windows = [first + FIRST_WINDOW + WINDOW * k for k in range(minutes - 1)]
    rounds = [rate(samples, start, start + WINDOW) for start in windows]
    steady_rate, steady = rate(samples, windows[0], windows[-1] + WINDOW)
    per_window = [r for r, _ in rounds]
    setting = f", max_concurrency={args.concurrency}" if args.concurrency else ""
    print(
        f"[target sustained writes at {args.latency_ms:g} ms, {RATE_LIMIT_PER_MINUTE}/min per endpoint] "
        f"customer invoices, target defaults{setting}; {machine()}"
    )
    print(f"  first minute (the burst a fresh process may send): {burst} created = {burst_rate:.2f}/s")
    print(
        "  steady 60 s windows after it: "
        + ", ".join(f"{r:.2f}/s ({n})" for r, n in rounds)
        + f"   min {min(per_window):.2f}/s  median {statistics.median(per_window):.2f}/s"
    )
    print(f"  steady, all {len(rounds)} windows together: {steady} created = {steady_rate:.2f}/s")
    print(
        f"  steady / rate limit ({LIMIT_PER_SECOND:g}/s), median window: "
        f"{statistics.median(per_window) / LIMIT_PER_SECOND:.1%}; all windows: "
        f"{steady_rate / LIMIT_PER_SECOND:.1%}   goal >= 95%"
    )
    requests = {e: sum(s.values()) for e, s in run.served.items() if " /v2/" in e}
    print(f"  requests served: {requests}; 429s: {statuses(run.served, '429')}")
    if run.exited is not None:
        print(f"  (the target exited early with {run.exited}: the input ran out or it failed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
