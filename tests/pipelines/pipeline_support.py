"""Helpers for the pipeline tests: a Meltano project copied from the repo, runs and counts.

tests/ has no packages, so import this by name. Every test drives the real ``meltano`` CLI in a temporary
copy of the project (``meltano install`` once per test process) against a sandbox on a free port, so a
developer's sandbox on 8777 and their ``.meltano/`` are never touched. Postgres helpers (the server, a
database per test, queries) are in tests/postgres_support.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.streams import STREAMS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MELTANO = BIN / "meltano"
# What `pip install -e .` of the plugins needs, the project file and the demo's scripts.
PROJECT_FILES = ("pyproject.toml", "README.md", "meltano.yml")
PROJECT_DIRS = ("eaccounting_api", "eaccounting_sandbox", "tap_eaccounting", "target_eaccounting", "scripts")
# Variables of the developer's shell that would change what meltano does.
_DROP = re.compile(r"^(MELTANO_|TAP_|TARGET_|EACCOUNTING_)")
# Streams the sandbox environment of meltano.yml does not sync: `select` leaves out company_settings,
# and its `fan_out_streams` enables the one-request-per-customer fan-out stream but not the
# one-request-per-voucher one. Then streams read at several dates, whose sandbox count is not one number.
FAN_OUT_ENABLED = ["customer_auto_invoice_recipients"]
NOT_SELECTED = {"voucher_over_under_payments", "company_settings"}
NOT_COMPARABLE = {"account_balances"}
SCHEMA = "eaccounting"
ALL_SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@dataclass
class RunResult:
    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    def events(self) -> Iterator[dict[str, Any]]:
        """The run's log events (meltano runs with ``--log-format=json``)."""
        for line in self.output.splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def record_counts(self, plugin: str = "tap-eaccounting") -> dict[str, int]:
        """Records per stream, from the SDK's ``record_count`` metrics (one per stream and context,
        also emitted at intervals: summed)."""
        counts: dict[str, int] = {}
        for event in self.events():
            info = event.get("metric_info") or {}
            if event.get("string_id") == plugin and info.get("metric") == "record_count":
                stream = info["tags"]["stream"]
                counts[stream] = counts.get(stream, 0) + int(info["value"])
        return counts


@dataclass
class MeltanoProject:
    root: Path

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, check: bool = True, timeout: float = 300
    ) -> RunResult:
        full_env = clean_env(env or {})
        start = time.monotonic()
        proc = subprocess.run(
            [str(MELTANO), "--log-format=json", *args],
            cwd=self.root,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = RunResult(tuple(args), proc.returncode, proc.stdout, time.monotonic() - start)
        (self.root / "last-run.log").write_text(proc.stdout)
        if check and proc.returncode != 0:
            lines = [f"{e.get('name', 'meltano')}: {str(e.get('event'))[:300]}" for e in result.events()]
            tail = "\n".join(lines[-40:] or proc.stdout.splitlines()[-40:])
            raise AssertionError(f"meltano {' '.join(args)} exited {proc.returncode}:\n{tail}")
        print(f"meltano {' '.join(args)}: {result.seconds:.1f}s")
        return result


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The process environment without the developer's Meltano and connector settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
    env.update({"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"})
    env.update(extra)
    return env


def isolated_env(tmp: Path) -> dict[str, str]:
    """A system DB (state) of its own for one test."""
    tmp.mkdir(parents=True, exist_ok=True)
    return {"MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}"}


def tap_env(sandbox: SandboxServer, company: str, tokens_path: Path, **extra: str) -> dict[str, str]:
    """tap-eaccounting pointed at ``sandbox`` (these variables override meltano.yml's sandbox URLs)."""
    grant = sandbox.mint_tokens(company, ALL_SCOPES)
    return {
        "TAP_EACCOUNTING_API_URL": sandbox.api_url,
        "TAP_EACCOUNTING_IDENTITY_URL": sandbox.identity_url,
        "TAP_EACCOUNTING_CLIENT_ID": "sandbox-client",
        "TAP_EACCOUNTING_CLIENT_SECRET": "sandbox-secret",
        "TAP_EACCOUNTING_REFRESH_TOKEN": grant["refresh_token"],
        "TAP_EACCOUNTING_TOKEN_STORE_PATH": str(tokens_path),
        **extra,
    }


def expected_counts(sandbox: SandboxServer, company: str) -> dict[str, int]:
    """Stream name -> the sandbox's own number of records, for every selected, comparable stream."""
    by_path: dict[str, int] = sandbox.admin("GET", "counts", params={"company": company})
    return {
        s.name: by_path[s.path]
        for s in STREAMS
        if s.name not in NOT_SELECTED | NOT_COMPARABLE and s.path in by_path
    }


def count_mismatches(expected: Mapping[str, int], actual: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """{stream: (expected, actual)} for every stream whose counts differ (a missing table counts 0)."""
    return {
        name: (want, actual.get(name, 0)) for name, want in expected.items() if actual.get(name, 0) != want
    }


def stats(sandbox: SandboxServer) -> dict[str, Any]:
    result: dict[str, Any] = sandbox.admin("GET", "stats")
    return result


def requests_sent(stats_body: Mapping[str, Any], prefix: str = "GET /v2/") -> int:
    return sum(sum(v.values()) for k, v in stats_body["endpoints"].items() if k.startswith(prefix))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# Every pipeline test module: `pytestmark = PIPELINES` (one xdist worker, one `meltano install`, once
# `--dist loadgroup` works again: pytest-xdist 3.8 sets `item._nodeid`, which pytest 9 ignores).
PIPELINES = [pytest.mark.xdist_group("pipelines"), pytest.mark.slow]
