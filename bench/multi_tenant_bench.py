"""Many tenants of one client_id on K workers sharing one rate budget in Postgres. Prints a table; asserts
nothing.

Each run: a sandbox subprocess (N companies, 250 ms per request, 600 requests/min per client and
endpoint, the API's documented figures); a fresh Postgres database as ``coordination_dsn``; K worker
processes, each a "machine" with its own HOME and XDG_STATE_HOME, running its share of the tenants one
after another (``tap-eaccounting``, stream customer_invoices: 500 invoices in pages of 5, 100 pages read
4 at a time, then the keyset tail, whose size depends on how close the demo data's ModifiedUtc lies to
the wall clock: 100 to 200 requests per tenant, all on one endpoint, so the one budget that matters is
that endpoint's 10 requests/s).

Reported per run (the sandbox's own counters, polled every second):
- long-run rate: answered (200) requests/s on the endpoint over whole windows (61 s) that start at
  least one window after the first request, so the first minute's burst is excluded, and end when the
  first worker runs out of tenants (after that fewer than K syncs compete); and that rate as a share of
  the 10/s the budget allows. Over a whole window the shared budget cannot exceed 600/61 s (98% of it);
  a run too short for one such window has no steady phase;
- the whole run's rate (answered requests / seconds from the first request to the last);
- 429s (all endpoints) and burned tokens (token requests refused: invalid_grant);
- seconds per tenant (one tap run, mean) and each tenant's own request rate while it ran.

    .venv/bin/python bench/multi_tenant_bench.py [--runs 1x1,4x4,10x4,20x4] [--pg-url URL]

A run written ``20x4:local`` drops ``coordination_dsn`` (a token file and a rate limiter per process) to
show what the shared budget prevents. Postgres: ``--pg-url``, ``EACCOUNTING_TEST_PG_URL``, else
an embedded server for the run (tests/postgres_support.py, the `pipelines` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tap_eaccounting.tap import TapEAccounting

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOT = "GET /v2/customerinvoices"
PER_MINUTE = 600
WINDOW = 61.0  # shared_budget.SHARED_WINDOW_SECONDS
_DROP = re.compile(r"^(MELTANO_|TAP_|TARGET_|EACCOUNTING_)")


# -- one machine: `multi_tenant_bench.py worker JOBS` -------------------------------------------------
def worker(jobs_path: str) -> int:
    for job in json.loads(Path(jobs_path).read_text("utf-8")):
        started = time.time()
        with open(job["out"], "wb") as out, open(job["err"], "wb") as err:
            code = subprocess.run(
                [str(BIN / "tap-eaccounting"), "--config", job["config"], "--catalog", job["catalog"]],
                stdout=out,
                stderr=err,
                check=False,
            ).returncode
        print(
            json.dumps({"tenant": job["tenant"], "exit": code, "start": started, "end": time.time()}),
            flush=True,
        )
    return 0


# -- the harness --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sandbox(tenants: list[str], latency_ms: int) -> Iterator[str]:
    port = free_port()
    cmd = [
        str(BIN / "eaccounting-sandbox"),
        "serve",
        "--port",
        str(port),
        "--companies",
        ",".join(tenants),
        "--latency-ms",
        str(latency_ms),
        "--rate-limit",
        str(PER_MINUTE),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/_admin/stats", timeout=5).ok:
                    break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def pg_server_url(explicit: str | None) -> Iterator[str]:
    """The server to make the bench's databases on: the one named, else an embedded one for the run."""
    if explicit or os.environ.get("EACCOUNTING_TEST_PG_URL"):
        yield str(explicit or os.environ["EACCOUNTING_TEST_PG_URL"])
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from postgres_support import embedded_server  # the tests' server: the `pipelines` extra

    with (
        tempfile.TemporaryDirectory(prefix="eaccounting-bench-pg-") as tmp,
        embedded_server(Path(tmp) / "pgdata") as server,
    ):
        yield server.url


@contextlib.contextmanager
def database(server_url: str) -> Iterator[str]:
    name = f"eaccounting_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo("", **{**conninfo_to_dict(server_url), "dbname": name})
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def catalog() -> dict[str, Any]:
    found: dict[str, Any] = TapEAccounting(
        config={"client_id": "x", "client_secret": "x"}, validate_config=False
    ).catalog_dict
    for entry in found["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] == "customer_invoices"
    return found


@dataclass
class Run:
    tenants: int
    workers: int
    coordinated: bool
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, hot 200s so far)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    worker_done: list[float] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def _count_at(self, moment: float) -> int:
        return max((n for t, n in self.samples if t <= moment), default=0)

    def long_run_rate(self) -> tuple[float | None, float]:
        """Answered requests/s on the hot endpoint over the whole windows between one window after the
        first request and the moment the first worker ran out of tenants; and their length."""
        first = next((t for t, n in self.samples if n > 0), None)
        if first is None or not self.worker_done:
            return None, 0.0
        end = min(self.worker_done)
        windows = int((end - first - WINDOW) // WINDOW)
        if windows < 1:
            return None, 0.0
        start = end - windows * WINDOW
        return (self._count_at(end) - self._count_at(start)) / (end - start), end - start

    def whole_run_rate(self) -> float:
        first = next((t for t, n in self.samples if n > 0), None)
        last = next((t for t, n in self.samples if n == self.samples[-1][1]), None)
        if first is None or last is None or last <= first:
            return 0.0
        return self.samples[-1][1] / (last - first)


def run_once(tenants: int, workers: int, coordinated: bool, pg_url: str, latency_ms: int) -> Run:
    run = Run(tenants, workers, coordinated)
    names = [f"bench-{i:02d}-no" for i in range(tenants)]
    selected = catalog()
    with sandbox(names, latency_ms) as base, database(pg_url) as dsn, tempfile.TemporaryDirectory() as tmp:
        procs = []
        for k in range(workers):
            machine = Path(tmp) / f"machine-{k}"
            for sub in ("home", "state"):
                (machine / sub).mkdir(parents=True)
            (machine / "catalog.json").write_text(json.dumps(selected))
            jobs = []
            for tenant in names[k::workers]:
                config = {
                    "client_id": "sandbox-client",
                    "client_secret": "sandbox-secret",
                    "refresh_token": f"{tenant}-bootstrap-refresh-token",
                    "api_url": f"{base}/v2",
                    "identity_url": base,
                    "tenant_id": tenant,
                    "page_size": 5,
                    "max_concurrency": 4,
                    **({"coordination_dsn": dsn} if coordinated else {}),
                }
                (machine / f"{tenant}.json").write_text(json.dumps(config))
                jobs.append(
                    {
                        "tenant": tenant,
                        "config": str(machine / f"{tenant}.json"),
                        "catalog": str(machine / "catalog.json"),
                        "out": str(machine / f"{tenant}.out"),
                        "err": str(machine / f"{tenant}.err"),
                    }
                )
            (machine / "jobs.json").write_text(json.dumps(jobs))
            env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
            env.update(HOME=str(machine / "home"), XDG_STATE_HOME=str(machine / "state"))
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "worker", str(machine / "jobs.json")],
                    cwd=machine,
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )

        def follow(proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                run.jobs.append(json.loads(line))
            run.worker_done.append(time.time())

        readers = [threading.Thread(target=follow, args=(p,), daemon=True) for p in procs]
        for reader in readers:
            reader.start()
        while any(r.is_alive() for r in readers):
            stats = requests.get(f"{base}/_admin/stats", timeout=10).json()
            run.samples.append((time.time(), stats["endpoints"].get(HOT, {}).get("200", 0)))
            time.sleep(1.0)
        for proc in procs:
            proc.wait(timeout=60)
        run.stats = requests.get(f"{base}/_admin/stats", timeout=10).json()
    return run


def report(runs: list[Run]) -> None:
    allowed = PER_MINUTE / 60
    print(
        "| tenants x workers | coordination | long-run req/s (share of the 10/s allowed) | measured over "
        "| whole run req/s | 429s | burned tokens | failed jobs | requests per tenant | s per tenant "
        "| req/s per tenant while it ran |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        rate, span = run.long_run_rate()
        hot = run.stats["endpoints"].get(HOT, {})
        token = run.stats["endpoints"].get("POST /connect/token", {})
        burned = sum(n for status, n in token.items() if status != "200")
        seconds = [j["end"] - j["start"] for j in run.jobs]
        per_tenant = hot.get("200", 0) / max(1, run.tenants)
        mean = sum(seconds) / max(1, len(seconds))
        rate_text = f"{rate:.2f} ({rate / allowed:.0%})" if rate is not None else "- (no steady phase)"
        print(
            f"| {run.tenants} x {run.workers} | {'Postgres' if run.coordinated else 'none (local)'} | "
            f"{rate_text} | {span:.0f} s | {run.whole_run_rate():.2f} | "
            f"{run.stats['statuses'].get('429', 0)} | {burned} | "
            f"{sum(1 for j in run.jobs if j['exit'])} | {per_tenant:.0f} | {mean:.1f} | "
            f"{per_tenant / mean:.2f} |"
        )


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "worker":
        return worker(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1x1,4x4,10x4,20x4", help="TENANTSxWORKERS[:local],...")
    parser.add_argument("--latency-ms", type=int, default=250)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    runs = []
    with pg_server_url(args.pg_url) as pg_url:
        for spec in args.runs.split(","):
            shape, _, mode = spec.partition(":")
            tenants, workers = (int(x) for x in shape.split("x"))
            started = time.time()
            runs.append(run_once(tenants, workers, mode != "local", pg_url, args.latency_ms))
            print(f"# {spec}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    report(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
