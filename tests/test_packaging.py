"""The one distribution's metadata: declared dependencies match the imports, the version is single-sourced,
and the ``eaccounting-sandbox`` script explains a missing ``sandbox`` extra in one line.

Fast and in-process; tests/pipelines/test_install.py installs the distribution for real.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_import_rules import MODULES, PACKAGES, ROOT, project_imports

from eaccounting_sandbox import entry
from tap_eaccounting.tap import TapEAccounting
from target_eaccounting.target import TargetEAccounting

PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CONNECTORS = ("eaccounting_api", "tap_eaccounting", "target_eaccounting")
WEB_STACK = {"starlette", "uvicorn"}
# The `postgres` extra (coordination_dsn) and the only modules that may import it.
POSTGRES_MODULES = {
    "eaccounting_api/pg_coordination.py",
    "eaccounting_api/pg_token_store.py",
    "eaccounting_api/shared_budget.py",
    "target_eaccounting/pg_ledger.py",
}
MISSING_EXTRA = (
    "eaccounting-sandbox: the sandbox needs the 'sandbox' extra: pip install 'eaccounting-singer[sandbox]'"
)


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _third_party(packages: tuple[str, ...]) -> dict[str, list[str]]:
    """Top-level third-party module -> where the packages import it (every import, lazy ones too)."""
    found: dict[str, list[str]] = {}
    for imp in project_imports({n: p for n, p in MODULES.items() if n.split(".")[0] in packages}):
        top = imp.target.split(".")[0]
        if top and top not in sys.stdlib_module_names and top not in PACKAGES:
            found.setdefault(top, []).append(imp.where(MODULES))
    return found


def _undeclared(packages: tuple[str, ...], declared: set[str]) -> list[str]:
    providers = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(_third_party(packages).items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not dists & declared:
            missing.append(f"{module} (from {sorted(dists)}), imported at {where[0]}")
    return missing


def test_connectors_declare_every_distribution_they_import() -> None:
    declared = _names(PROJECT["dependencies"]) | _names(PROJECT["optional-dependencies"]["postgres"])
    missing = _undeclared(CONNECTORS, declared)
    assert not missing, "add to [project] dependencies:\n  " + "\n  ".join(missing)


def test_only_the_coordination_modules_import_the_postgres_extra() -> None:
    assert _names(PROJECT["optional-dependencies"]["postgres"]) == {"psycopg"}
    assert "psycopg" not in _names(PROJECT["dependencies"])
    where = {w.split(":")[0] for w in _third_party(CONNECTORS)["psycopg"]}
    assert where == POSTGRES_MODULES


def test_sandbox_imports_are_declared_in_the_base_or_the_sandbox_extra() -> None:
    declared = _names(PROJECT["dependencies"]) | _names(PROJECT["optional-dependencies"]["sandbox"])
    missing = _undeclared(("eaccounting_sandbox",), declared)
    assert not missing, "add to the `sandbox` extra:\n  " + "\n  ".join(missing)


def test_base_install_is_lean() -> None:
    base = _names(PROJECT["dependencies"])
    assert not base & WEB_STACK, "the web stack belongs in the `sandbox` extra"
    # `backoff` would overwrite the files of the SDK's `python-backoff` (same module, older code).
    assert "backoff" not in base
    assert _names(PROJECT["optional-dependencies"]["sandbox"]) == WEB_STACK
    for extra in ("test", "pipelines"):
        assert "eaccounting-singer[sandbox]" in PROJECT["optional-dependencies"][extra]


def test_connector_imports_never_reach_the_web_stack() -> None:
    assert not WEB_STACK & set(_third_party(CONNECTORS))


@pytest.mark.parametrize("plugin", [TapEAccounting, TargetEAccounting], ids=lambda p: p.name)
def test_about_shows_the_distributions_version(plugin: type[TapEAccounting | TargetEAccounting]) -> None:
    assert plugin.package_name == PROJECT["name"]
    assert plugin.plugin_version == PROJECT["version"] == importlib.metadata.version(PROJECT["name"])


def test_sandbox_script_points_at_the_extra_check() -> None:
    assert PROJECT["scripts"]["eaccounting-sandbox"] == "eaccounting_sandbox.entry:main"
    assert Path(entry.__file__).parent == ROOT / "eaccounting_sandbox"


def test_sandbox_script_without_the_extra_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "uvicorn" else real(name))
    assert entry.missing_web_stack() == ["uvicorn"]
    assert entry.main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == MISSING_EXTRA + "\n"


def test_sandbox_script_with_the_extra_runs_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert entry.missing_web_stack() == []
    with pytest.raises(SystemExit) as exit_info:
        entry.main(["serve", "--help"])
    assert exit_info.value.code == 0
    assert "--companies" in capsys.readouterr().out
