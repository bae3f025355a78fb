"""`make demo` (scripts/demo.sh), twice: the sandbox company lands in the embedded PostgreSQL through the
production job (`meltano run postgres-elt`), and the report's table says so.

The first run is a full sync: every stream's row count equals the sandbox's own count, checked against a
fresh seed-1 sandbox of the test's own (the demo's sandbox is a seed-1 one too). The second is an
incremental run after the sandbox's simulated day of activity: the report's new rows are exactly the
created records and no stream the activity left alone has a new or changed row. After the runs, the
Postgres kept the rows (counted directly with SQL, not from the report), and neither the sandbox nor the
Postgres is left running. (`account_balances`, read at several dates, has no sandbox count: that its
row count equals the tap's record count is test_postgres_elt's job, on the same job.)
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pipeline_support import (
    BIN,
    NOT_COMPARABLE,
    NOT_SELECTED,
    PIPELINES,
    MeltanoProject,
    clean_env,
    expected_counts,
    isolated_env,
)
from postgres_support import pg_counts

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.streams import STREAMS

pytestmark = PIPELINES

COLLECTION_TO_STREAM = {s.path.lstrip("/"): s.name for s in STREAMS}
# Streams whose rows follow from other records (an invoice's ledger item, balances from vouchers).
DERIVED = {"customer_ledger_items", "account_balances"}
ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+|-)\s+(\d+)\s+(\d+)$")
ACTIVITY = re.compile(r"(\w+) \+(\d+) ~(\d+) -(\d+)")


@dataclass
class Table:
    """The report's table: stream -> (rows, sandbox count or None, new, changed)."""

    rows: dict[str, tuple[int, int | None, int, int]]

    @classmethod
    def parse(cls, output: str) -> Table:
        rows = {}
        for line in output.splitlines():
            m = ROW.match(line.strip())
            if m and m.group(1) != "total":
                sandbox = None if m.group(3) == "-" else int(m.group(3))
                rows[m.group(1)] = (int(m.group(2)), sandbox, int(m.group(4)), int(m.group(5)))
        return cls(rows)


@dataclass
class Demo:
    first: str
    second: str
    counts_after: dict[str, int]
    left_running: dict[str, bool]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _demo(project: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=project,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"make demo exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _postgres(project: Path, action: str, pgdata: Path) -> str:
    script = project / "scripts" / "demo_postgres.py"
    return subprocess.check_output([BIN / "python", script, action, pgdata], cwd=project, text=True).strip()


@pytest.fixture(scope="module")
def demo(meltano_project: MeltanoProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    port = _free_port()
    # Not under pytest's basetemp (see the `postgres` fixture in tests/conftest.py).
    pgdata = Path(tempfile.mkdtemp(prefix="eaccounting-demo-")) / "postgres"
    env = {**isolated_env(tmp), "BIN": str(BIN), "DEMO_PORT": str(port), "DEMO_PGDATA": str(pgdata)}
    try:
        first = _demo(meltano_project.root, env)
        second = _demo(meltano_project.root, env)
        left_running = {
            "postgres": (pgdata / "postmaster.pid").exists(),
            "sandbox": _listening(port),
        }
        url = _postgres(meltano_project.root, "start", pgdata)
        try:
            counts_after = pg_counts(url, "eaccounting")
        finally:
            _postgres(meltano_project.root, "stop", pgdata)
        yield Demo(first, second, counts_after, left_running)
    finally:
        shutil.rmtree(pgdata.parent, ignore_errors=True)


def check_the_first_run_is_a_full_sync_of_every_stream(demo: Demo, sandbox: SandboxServer) -> None:
    """``sandbox``: an untouched seed-1 sandbox, as the demo's was before its first run."""
    assert "meltano run postgres-elt: " in demo.first
    assert "(full sync;" in demo.first
    table = Table.parse(demo.first).rows
    assert set(table) == {s.name for s in STREAMS} - NOT_SELECTED
    expected = expected_counts(sandbox, "demo-no")
    assert {name: table[name][0] for name in expected} == expected
    assert {name: table[name][1] for name in expected} == expected
    assert all(table[name][1] is None for name in NOT_COMPARABLE)
    assert table["account_balances"][0] > 0
    assert all(new == rows and changed == 0 for rows, _, new, changed in table.values())
    assert sum(expected.values()) > 1000
    assert "open receivables per customer (top 5)" in demo.first
    assert "incremental run:" not in demo.first


def check_the_second_run_is_incremental_and_reports_the_activity(demo: Demo) -> None:
    assert "(incremental sync;" in demo.second
    activity = next(line for line in demo.second.splitlines() if line.startswith("simulated activity"))
    churned = {
        COLLECTION_TO_STREAM[c]: (int(created), int(updated))
        for c, created, updated, _ in ACTIVITY.findall(activity)
    }
    assert sum(created + updated for created, updated in churned.values()) >= 8
    table = Table.parse(demo.second).rows
    assert set(table) == {s.name for s in STREAMS} - NOT_SELECTED
    for name, (rows, sandbox, new, changed) in table.items():
        if sandbox is not None:
            assert rows == sandbox, name
        created, updated = churned.get(name, (0, 0))
        if name not in DERIVED:
            assert new == created, name
            assert changed <= updated, name
    assert sum(changed for _, _, _, changed in table.values()) >= 1
    total_new = sum(new for _, _, new, _ in table.values())
    total_changed = sum(changed for _, _, _, changed in table.values())
    assert f"incremental run: {total_new} new and {total_changed} changed rows" in demo.second


def check_postgres_kept_every_row_and_nothing_is_left_running(demo: Demo) -> None:
    table = Table.parse(demo.second).rows
    assert demo.counts_after == {name: row[0] for name, row in table.items()}
    assert demo.left_running == {"postgres": False, "sandbox": False}


def test_make_demo_twice_lands_every_row_in_postgres(demo: Demo, module_sandbox: SandboxServer) -> None:
    # One scenario, one test (see tests/pipelines/conftest.py).
    check_the_first_run_is_a_full_sync_of_every_stream(demo, module_sandbox)
    check_the_second_run_is_incremental_and_reports_the_activity(demo)
    check_postgres_kept_every_row_and_nothing_is_left_running(demo)
