"""Fixtures of the pipeline tests: one installed Meltano project per test process, Postgres, sandboxes.

``meltano install`` (~10 s) runs once per test process. Each scenario (a sandbox, a Postgres database,
several ``meltano`` runs) is one module fixture used by one test, so however xdist distributes the
tests, no scenario runs twice. (Every module also sets ``pytestmark = PIPELINES``, the xdist group
``pipelines``, which pytest-xdist 3.8 ignores under pytest 9: see CONTRIBUTING.md.)
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator

import pytest
from pipeline_support import MELTANO, ROOT, MeltanoProject, Postgres, copy_project

from eaccounting_sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def meltano_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    if not MELTANO.exists():
        pytest.skip(
            f"MELTANO IS NOT INSTALLED ({MELTANO}): the pipeline tests need the `pipelines` extra "
            "(`make install`, or pip install -e '.[pipelines,sandbox]')"
        )
    project = MeltanoProject(copy_project(tmp_path_factory.mktemp("meltano-project")))
    project.run("install", timeout=600)
    return project


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """The throw-away server of scripts/ci_postgres.sh (installs the Debian package when missing)."""
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("PSYCOPG IS NOT INSTALLED: the pipeline tests need the `pipelines` extra")
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ci_postgres.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(
            "POSTGRESQL COULD NOT BE INSTALLED OR STARTED by scripts/ci_postgres.sh, so the Postgres ELT, "
            f"reverse-ETL and tenant pipelines are NOT TESTED:\n{proc.stderr[-2000:]}"
        )
    return Postgres(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the module's own (the module's tests mutate it in order)."""
    with SandboxServer(seed=1) as server:
        yield server
