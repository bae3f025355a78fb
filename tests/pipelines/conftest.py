"""Fixtures of the pipeline tests: one installed Meltano project per test process, and sandboxes.

``meltano install`` (~10 s) runs once per test process. Each scenario (a sandbox, a Postgres database,
several ``meltano`` runs) is one module fixture used by one test, so however xdist distributes the
tests, no scenario runs twice. Postgres is tests/conftest.py's ``postgres`` (one embedded server per test
process, a database per scenario). (Every module also sets ``pytestmark = PIPELINES``, the xdist group
``pipelines``, which pytest-xdist 3.8 ignores under pytest 9: see CONTRIBUTING.md.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pipeline_support import MELTANO, MeltanoProject, copy_project

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


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the module's own (the module's tests mutate it in order)."""
    with SandboxServer(seed=1) as server:
        yield server
