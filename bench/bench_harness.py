"""What the benchmarks in bench/ share: a sandbox subprocess, tap and target configs, catalogs, the
connectors' CLIs as subprocesses, and timed rounds summarised as min / median.

Benchmarks print numbers and ratios; they assert nothing. Comparisons alternate their contestants
round by round in one script, so a busy machine's drift reaches all of them alike: the ratio of
medians is the number to read, the absolute times depend on the load (printed with every result).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from tap_eaccounting.tap import TapEAccounting

BIN = Path(sys.executable).parent  # the venv's console scripts (tap-eaccounting, target-eaccounting, ...)
SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]
INVOICES_PER_SCALE = 500  # the sandbox's customer invoices at --scale 1
RATE_LIMIT_PER_MINUTE = 600  # Visma's documented limit per endpoint, the sandbox's default
# The fan-out streams a whole-company benchmark syncs (``fan_out_streams`` turns them on): what the default
# selection held before the setting existed, so the numbers stay comparable. One request per customer;
# voucher_over_under_payments (one per voucher) was never part of the whole company.
WHOLE_COMPANY_FAN_OUT = ["customer_auto_invoice_recipients"]


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- sandbox subprocess -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sandbox:
    base: str
    pid: int | None = None

    def cpu_seconds(self) -> float:
        """The sandbox process's user + system CPU so far (Linux ``/proc``)."""
        if self.pid is None:
            raise RuntimeError("this sandbox was not started by bench_harness.sandbox")
        return process_cpu(self.pid)

    @property
    def api_url(self) -> str:
        return f"{self.base}/v2"

    def admin(self, method: str, path: str, payload: Any = None, **params: Any) -> Any:
        response = requests.request(
            method, f"{self.base}/_admin/{path}", json=payload, params=params or None, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def endpoint_counts(self, *, reset: bool = False) -> dict[str, dict[str, int]]:
        """Requests served per endpoint (``GET /v2/customerinvoices``) and status; ``reset`` clears them."""
        counts: dict[str, dict[str, int]] = self.admin("DELETE" if reset else "GET", "stats")["endpoints"]
        return counts

    def mint_refresh_token(self, company: str = "demo-no", scopes: Sequence[str] = SCOPES) -> str:
        minted = self.admin("POST", "tokens", {"company": company, "scopes": list(scopes)})
        return str(minted["refresh_token"])

    def config(self, tmp: Path, company: str = "demo-no", **extra: Any) -> dict[str, Any]:
        """Connection settings of a tap or target on a fresh grant with its own token store."""
        return {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": self.mint_refresh_token(company),
            "token_store_path": str(tmp / f"tokens-{time.monotonic_ns()}.json"),
            "api_url": self.api_url,
            "identity_url": self.base,
            **extra,
        }


@contextlib.contextmanager
def sandbox(*args: str) -> Iterator[Sandbox]:
    """``eaccounting-sandbox serve ARGS`` on a free port, in its own process (its CPU is not ours)."""
    port = free_port()
    cmd = [str(BIN / "eaccounting-sandbox"), "serve", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(6000):
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {proc.returncode}: {' '.join(cmd)}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/_admin/stats", timeout=5).ok:
                    break
            time.sleep(0.1)
        yield Sandbox(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def api_requests(counts: dict[str, dict[str, int]], prefix: str = "") -> int:
    """API requests (``/v2``) in ``counts`` whose endpoint starts with ``prefix`` (``GET /v2/x``)."""
    return sum(
        sum(by_status.values())
        for endpoint, by_status in counts.items()
        if " /v2/" in endpoint and endpoint.startswith(prefix)
    )


def statuses(counts: dict[str, dict[str, int]], status: str) -> int:
    return sum(by_status.get(status, 0) for by_status in counts.values())


# -- catalogs and CLIs ------------------------------------------------------------------------------
def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), "utf-8")
    return path


def catalog(config: dict[str, Any], names: set[str] | None = None) -> dict[str, Any]:
    """The tap's discovered catalog; with ``names``, exactly those streams selected."""
    cat: dict[str, Any] = TapEAccounting(config=config).catalog_dict
    return cat if names is None else select(cat, names)


def select(cat: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """A copy of ``cat`` selecting exactly the streams ``names``."""
    streams = []
    for entry in cat["streams"]:
        selected = entry["tap_stream_id"] in names
        metadata = [
            {**md, "metadata": {**md["metadata"], "selected": selected}} if md["breadcrumb"] == [] else md
            for md in entry["metadata"]
        ]
        streams.append({**entry, "metadata": metadata})
    return {**cat, "streams": streams}


def default_selection(cat: dict[str, Any]) -> list[str]:
    """The streams a catalog selects by default (what a user gets without choosing)."""
    names = []
    for entry in cat["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == [] and md["metadata"].get("selected-by-default"):
                names.append(entry["tap_stream_id"])
    return names


def incremental_streams(cat: dict[str, Any]) -> list[str]:
    return [entry["tap_stream_id"] for entry in cat["streams"] if entry.get("replication_key")]


def run_cli(
    args: Sequence[str], *, stdin: IO[bytes] | None = None, stdout: IO[bytes] | int = subprocess.DEVNULL
) -> float:
    """Run a console script of the venv to completion; its wall time in seconds. A failure raises with
    the end of its stderr."""
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode:
        tail = proc.stderr.decode("utf-8", "replace")[-3000:]
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}:\n{tail}")
    return seconds


# -- rounds -----------------------------------------------------------------------------------------
@dataclass
class Series:
    """One contestant's timings (seconds), one per round."""

    label: str
    seconds: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def line(self, units: float | None = None, unit: str = "records") -> str:
        text = f"  {self.label:<46} min {self.min:7.2f} s  median {self.median:7.2f} s"
        if units:
            text += f"   {units / self.median:9.0f} {unit}/s at the median"
        return text + f"   ({len(self.seconds)} rounds)"


def ratio_line(name: str, value: float, goal: str, *, percent: bool = True) -> str:
    shown = f"{value:.0%}" if percent else f"{value:.2f}x"
    return f"  {name}: {shown}   goal {goal}"


def rotated(items: Sequence[Any], round_index: int) -> list[Any]:
    """``items`` starting at a different one each round: no contestant always runs first."""
    k = round_index % len(items)
    return [*items[k:], *items[:k]]
