"""Whole-company sync at 250 ms per request: streams one after another vs side by side. Prints; asserts
nothing.

The sandbox runs as a subprocess (``--latency-ms 250 --rate-limit 600``, scale 1); each sync is the tap
in-process with the default catalog selection plus ``customer_auto_invoice_recipients`` (a fan-out
stream, turned on by ``fan_out_streams``: the whole company as measured before that setting existed;
``voucher_over_under_payments`` stays out), stdout to /dev/null. Printed per setting: the wall time,
requests, 429s and the longest streams; then the per-stream bound (the longest stream of the sequential
run synced alone, start-up included) and the ratios. Goal (issue "Speed that holds up side by side"):
side by side within 1.3x the bound.

    .venv/bin/python bench/tap_parallel_bench.py [--parallel 4 8] [--rounds 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from bench_harness import WHOLE_COMPANY_FAN_OUT

from tap_eaccounting.run_summary import RunSummary
from tap_eaccounting.tap import TapEAccounting

ROOT = Path(__file__).resolve().parent.parent
SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sandbox() -> Iterator[str]:
    port = free_port()
    cmd = [str(ROOT / ".venv/bin/eaccounting-sandbox"), "serve", "--port", str(port)]
    cmd += ["--latency-ms", "250", "--rate-limit", "600"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/_admin/stats", timeout=5).ok:
                    break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def config(base: str, tmp: Path, **extra: Any) -> dict[str, Any]:
    tokens = requests.post(
        f"{base}/_admin/tokens", json={"company": "demo-no", "scopes": SCOPES}, timeout=30
    ).json()
    return {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": tokens["refresh_token"],
        "token_store_path": str(tmp / f"tokens-{time.monotonic_ns()}.json"),
        "api_url": f"{base}/v2",
        "identity_url": base,
        "fan_out_streams": WHOLE_COMPANY_FAN_OUT,
        **extra,
    }


def catalog_of(settings: dict[str, Any], only: str | None) -> dict[str, Any]:
    """``only`` selected, or (``None``) the default selection and ``WHOLE_COMPANY_FAN_OUT``."""
    cat: dict[str, Any] = TapEAccounting(config=settings).catalog_dict
    for entry in cat["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                name = entry["tap_stream_id"]
                whole = md["metadata"].get("selected-by-default") or name in WHOLE_COMPANY_FAN_OUT
                md["metadata"]["selected"] = whole if only is None else name == only
    return cat


def sync(base: str, tmp: Path, only: str | None = None, **extra: Any) -> tuple[float, RunSummary]:
    settings = config(base, tmp, **extra)
    tap = TapEAccounting(config=settings, catalog=catalog_of(settings, only))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        started = time.perf_counter()
        summary = tap.sync_selected()
        seconds = time.perf_counter() - started
    assert summary.exit_code == 0, summary.table()
    return seconds, summary


def describe(label: str, seconds: float, summary: RunSummary) -> None:
    outcomes = list(summary.outcomes.values())
    longest = sorted(outcomes, key=lambda o: -o.seconds)[:3]
    print(
        f"  {label}: {seconds:.2f} s, {len(outcomes)} streams, {sum(o.records for o in outcomes)} records, "
        f"{sum(o.requests for o in outcomes)} requests, {sum(o.rate_limited for o in outcomes)} 429s; "
        "longest: " + ", ".join(f"{o.name} {o.seconds:.1f} s ({o.requests} req)" for o in longest)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir, sandbox() as base:
        tmp = Path(tmp_dir)
        sync(base, tmp, max_parallel_streams=4)  # warm-up (sandbox caches, imports)
        print(
            "[250 ms latency, 600/min] whole-company sync, default selection + "
            f"{', '.join(WHOLE_COMPANY_FAN_OUT)}, max_concurrency=4"
        )
        for round_ in range(args.rounds):
            sequential, summary = sync(base, tmp, max_parallel_streams=1)
            describe(f"round {round_ + 1}, sequential (max_parallel_streams=1)", sequential, summary)
            pole = max(summary.outcomes.values(), key=lambda o: o.seconds).name
            bound, alone = sync(base, tmp, only=pole)
            describe(f"round {round_ + 1}, bound: {pole} alone", bound, alone)
            for parallel in args.parallel:
                seconds, summary = sync(base, tmp, max_parallel_streams=parallel)
                describe(f"round {round_ + 1}, max_parallel_streams={parallel}", seconds, summary)
                print(
                    f"    -> {sequential / seconds:.2f}x faster than sequential; "
                    f"{seconds / bound:.2f}x the per-stream bound ({bound:.2f} s)"
                )


if __name__ == "__main__":
    main()
