"""Benchmark: the sandbox alone serving 1000-record pages over HTTP.

Starts ``eaccounting-sandbox serve`` in its own process (one event loop = one server core), with the
rate limit off and response validation off, then pages through ``/customerinvoices`` with
``$pagesize=1000`` from client threads that only read the bytes. Prints records/s (wall clock, and per
second of server CPU: client and server share this machine's cores) and p50/p99 request latency for:
unordered paging, ``$orderby`` paging (cached sorted view) and a ``$filter``.

    .venv/bin/python bench/sandbox_bench.py [--scale 20] [--pages 200] [--clients 1,4]

Target (issue 2): >= 50,000 records/s on one core, so the sandbox never limits the tap's benchmark.
Not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def start_server(scale: float) -> tuple[subprocess.Popen[str], str]:
    exe = Path(sys.executable).with_name("eaccounting-sandbox")
    cmd = [str(exe), "serve", "--port", "0", "--rate-limit", "0", "--scale", str(scale)]
    cmd += ["--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "listening on" in line:
            return proc, line.rsplit(" ", 1)[-1].strip()
    raise RuntimeError("the sandbox did not start")


def token(base: str) -> str:
    response = requests.post(
        f"{base}/_admin/tokens", json={"company": "demo-no", "access_token_ttl": 86400}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(base: str, auth: str, query: str, pages: int, clients: int) -> tuple[float, list[float], int]:
    """(records per second, per-request latencies in ms, records fetched)."""
    local = threading.local()
    url = f"{base}/v2/customerinvoices"
    first = requests.get(f"{url}?$pagesize=1000{query}", headers={"Authorization": auth}, timeout=60).json()
    page_count = max(1, first["Meta"]["TotalNumberOfPages"])

    def fetch(i: int) -> tuple[float, int]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = auth
        page = i % page_count + 1
        started = time.perf_counter()
        response = session.get(f"{url}?$pagesize=1000&$page={page}{query}", timeout=60)
        body = response.content
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, body[:300]
        # Count records cheaply: items are objects at depth 1 of Data; every invoice has one "InvoiceNumber".
        return elapsed, body.count(b'"InvoiceNumber":')

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(fetch, range(pages)))
    wall = time.perf_counter() - started
    records = sum(n for _, n in results)
    return records / wall, [ms for ms, _ in results], records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--clients", default="1,4")
    args = parser.parse_args()
    started = time.perf_counter()
    proc, base = start_server(args.scale)
    took = time.perf_counter() - started
    print(f"sandbox (scale={args.scale}) up at {base} in {took:.1f}s, pid {proc.pid}")
    try:
        auth = "Bearer " + token(base)
        total = requests.get(f"{base}/_admin/counts", timeout=60).json()["/customerinvoices"]
        print(f"/customerinvoices: {total} records; {os.cpu_count()} CPUs; server = 1 process, 1 event loop")
        print(f"server RSS after start: {rss_mib(proc.pid):,.0f} MiB")
        scenarios = [
            ("unordered", ""),
            ("$orderby=InvoiceNumber desc", "&$orderby=InvoiceNumber%20desc"),
            ("$filter=TotalAmount gt 1000", "&$filter=TotalAmount%20gt%201000"),
        ]
        header = f"{'scenario':34} {'clients':>7} {'records/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'pages':>6}"
        print(header + f" {'records/server-CPU-s':>21}")
        for name, query in scenarios:
            run(base, auth, query, 3, 1)  # warm the view cache and the connection
            for clients in (int(c) for c in args.clients.split(",")):
                cpu_before = cpu_seconds(proc.pid)
                rate, latencies, records = run(base, auth, query, args.pages, clients)
                per_cpu = records / max(cpu_seconds(proc.pid) - cpu_before, 1e-9)
                p50 = statistics.median(latencies)
                p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
                row = f"{name:34} {clients:>7} {rate:>11,.0f} {p50:>8.1f} {p99:>8.1f} {len(latencies):>6}"
                print(row + f" {per_cpu:>21,.0f}")
        print(f"server RSS at the end (view cache warm): {rss_mib(proc.pid):,.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
