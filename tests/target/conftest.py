"""Fixtures for the target's HTTP tests: a private company in the sandbox per test and a config that
points the target at it (see target_support.TargetHarness)."""

from __future__ import annotations

from pathlib import Path

import pytest
from target_support import TargetHarness, new_company

from eaccounting_sandbox.server import SandboxServer


@pytest.fixture
def harness(sandbox: SandboxServer, tmp_path: Path) -> TargetHarness:
    """A fresh company in the session sandbox (no shared switches are touched)."""
    return TargetHarness(sandbox, tmp_path, new_company(sandbox))


@pytest.fixture
def fresh_harness(fresh_sandbox: SandboxServer, tmp_path: Path) -> TargetHarness:
    """A company in a private sandbox, for tests that set faults or switches."""
    return TargetHarness(fresh_sandbox, tmp_path, new_company(fresh_sandbox))
