"""The one distribution installs the ways README.md, "Install", names: a local path and a git URL.

Each install goes into a fresh venv in a temporary directory outside the repo (no ``../shared`` beside
it) and its commands run from there, so nothing can come from the checkout by accident. The git form
is ``git+file://<repo>``: it installs the repo's HEAD commit (in CI, the submitted one). Every scenario
is one test, so however xdist spreads them no venv is built twice.

pip and uv build a local path in the source tree (``build/``, ``*.egg-info``): the path-form installs
take a lock, so two workers never build there at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from pipeline_support import (
    ALL_SCOPES,
    FAN_OUT_ENABLED,
    MELTANO,
    NOT_SELECTED,
    PIPELINES,
    ROOT,
    MeltanoProject,
    count_mismatches,
    expected_counts,
)

from eaccounting_sandbox.server import SandboxServer

pytestmark = PIPELINES

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
PACKAGES = ("eaccounting_api", "eaccounting_sandbox", "tap_eaccounting", "target_eaccounting")
FORMS = {"path": str(ROOT), "git": f"git+file://{ROOT}"}
WEB_STACK = {"starlette", "uvicorn"}
MISSING_EXTRA = (
    "eaccounting-sandbox: the sandbox needs the 'sandbox' extra: pip install 'eaccounting-singer[sandbox]'"
)
COMPANY = "demo-no"
_DROP = re.compile(r"^(MELTANO_|TAP_|TARGET_|EACCOUNTING_|PYTHONPATH$|PYTHONHOME$|VIRTUAL_ENV$)")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"})
    return env


def run(
    *args: str | Path, cwd: Path, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {proc.returncode}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@contextmanager
def building_in_tree(form: str) -> Iterator[None]:
    """Held around an install from the local path. It also removes ``build/`` first: setuptools packs
    whatever ``build/lib`` holds, so modules deleted since an earlier build would be installed too."""
    if form != "path":
        yield
        return
    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"eaccounting-singer-build-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        yield


def fresh_venv(where: Path) -> Path:
    run(sys.executable, "-m", "venv", "--upgrade-deps", where / "venv", cwd=where)  # a current pip
    return where / "venv" / "bin"


def pip_list(bin_dir: Path) -> dict[str, str]:
    listed = json.loads(run(bin_dir / "pip", "list", "--format=json", cwd=bin_dir).stdout)
    return {p["name"].lower(): p["version"] for p in listed}


def shipped_files(bin_dir: Path) -> set[str]:
    """The .py and .json files the installed distribution holds in its packages."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps([str(f) for f in m.files('eaccounting-singer')]))"
    )
    files = json.loads(run(bin_dir / "python", "-c", code, cwd=bin_dir).stdout)
    return {f for f in files if f.split("/")[0] in PACKAGES and f.endswith((".py", ".json"))}


def source_files(form: str) -> set[str]:
    """What the install should ship: the working tree's files (path) or HEAD's (git)."""
    if form == "git":
        listed = run("git", "ls-tree", "-r", "--name-only", "HEAD", "--", *PACKAGES, cwd=ROOT).stdout.split()
    else:
        listed = [
            str(p.relative_to(ROOT))
            for package in PACKAGES
            for p in (ROOT / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    return {f for f in listed if f.endswith((".py", ".json"))}


def version_line(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("Version:")]


def sync_counts(bin_dir: Path, sandbox: SandboxServer, work: Path) -> Counter[str]:
    """Records per stream from the installed tap: every stream ``meltano.yml`` selects."""
    config = {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": sandbox.mint_tokens(COMPANY, ALL_SCOPES)["refresh_token"],
        "token_store_path": str(work / f"tokens-{uuid.uuid4().hex}.json"),
        "api_url": sandbox.api_url,
        "identity_url": sandbox.identity_url,
        "fan_out_streams": FAN_OUT_ENABLED,
    }
    (work / "config.json").write_text(json.dumps(config))
    catalog = json.loads(
        run(bin_dir / "tap-eaccounting", "--config", "config.json", "--discover", cwd=work).stdout
    )
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] not in NOT_SELECTED
    (work / "catalog.json").write_text(json.dumps(catalog))
    out = run(
        bin_dir / "tap-eaccounting", "--config", "config.json", "--catalog", "catalog.json", cwd=work
    ).stdout
    messages = (json.loads(line) for line in out.splitlines() if line.strip())
    return Counter(m["stream"] for m in messages if m["type"] == "RECORD")


@contextmanager
def installed_sandbox(bin_dir: Path, work: Path, start_timeout: float = 120) -> Iterator[str]:
    """``eaccounting-sandbox serve`` of the venv on a free port; yields its base URL."""
    log = work / "sandbox.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "eaccounting-sandbox"), "serve", "--port", "0"],
            cwd=work,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not (match := re.search(r"eaccounting-sandbox listening on (\S+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the installed sandbox did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("form", FORMS)
def test_pip_install(form: str, sandbox: SandboxServer, tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path)
    with building_in_tree(form):
        run(bin_dir / "pip", "install", "--quiet", FORMS[form], cwd=tmp_path)

    installed = pip_list(bin_dir)
    assert installed.get("eaccounting-singer") == VERSION
    assert not WEB_STACK & set(installed), "the web stack comes only with the `sandbox` extra"
    assert "backoff" not in installed, "`backoff` overwrites the files of the SDK's `python-backoff`"
    run(bin_dir / "pip", "check", cwd=tmp_path)
    shipped, source = shipped_files(bin_dir), source_files(form)
    missing, extra = source - shipped, shipped - source
    assert not missing, f"not installed: {sorted(missing)}"
    assert not extra, f"installed but not in the source: {sorted(extra)}"

    for executable in ("tap-eaccounting", "target-eaccounting"):
        about = run(bin_dir / executable, "--about", cwd=tmp_path).stdout
        assert version_line(about) == [f"Version: {VERSION}"], about

    no_extra = run(bin_dir / "eaccounting-sandbox", "serve", cwd=tmp_path, check=False)
    assert (no_extra.returncode, no_extra.stdout, no_extra.stderr) == (2, "", MISSING_EXTRA + "\n")

    counts = sync_counts(bin_dir, sandbox, tmp_path)
    expected = expected_counts(sandbox, COMPANY)
    assert len(expected) > 40
    assert not count_mismatches(expected, counts), count_mismatches(expected, counts)

    # The `sandbox` extra, once (git form): the installed sandbox serves the same demo company.
    if form == "git":
        run(
            bin_dir / "pip",
            "install",
            "--quiet",
            f"eaccounting-singer[sandbox] @ {FORMS[form]}",
            cwd=tmp_path,
        )
        assert set(pip_list(bin_dir)) >= WEB_STACK
        run(bin_dir / "pip", "check", cwd=tmp_path)
        with installed_sandbox(bin_dir, tmp_path) as base:
            served = requests.get(f"{base}/_admin/counts", params={"company": COMPANY}, timeout=30).json()
        assert served == sandbox.admin("GET", "counts", params={"company": COMPANY})


def _meltano_yml(pip_url: str) -> str:
    plugin = "  - name: {name}\n    namespace: {namespace}\n    pip_url: {pip_url}\n    executable: {name}\n"
    return (
        f"project_id: {uuid.uuid4()}\n"
        "default_environment: dev\n"
        "environments:\n- name: dev\n"
        "plugins:\n"
        "  extractors:\n"
        + plugin.format(name="tap-eaccounting", namespace="tap_eaccounting", pip_url=pip_url)
        + "  loaders:\n"
        + plugin.format(name="target-eaccounting", namespace="target_eaccounting", pip_url=pip_url)
    )


@pytest.mark.parametrize("form", FORMS)
def test_meltano_install(form: str, tmp_path: Path) -> None:
    if not MELTANO.exists():
        pytest.skip(f"MELTANO IS NOT INSTALLED ({MELTANO}): the install test needs the `pipelines` extra")
    (tmp_path / "meltano.yml").write_text(_meltano_yml(FORMS[form]))
    project = MeltanoProject(tmp_path)
    # From the local path, one plugin at a time: both would build in the same source tree at once.
    with building_in_tree(form):
        project.run("install", "--parallelism", "1" if form == "path" else "2", timeout=600)

    for kind, name in (("extractors", "tap-eaccounting"), ("loaders", "target-eaccounting")):
        about = project.run("invoke", name, "--about").output
        assert version_line(about) == [f"Version: {VERSION}"], about
        python = tmp_path / ".meltano" / kind / name / "venv" / "bin" / "python"
        check = (
            "import importlib.util as u; print(sorted(m for m in ('starlette', 'uvicorn') if u.find_spec(m)))"
        )
        assert run(python, "-c", check, cwd=tmp_path).stdout.strip() == "[]"
