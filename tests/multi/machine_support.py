"""Simulated machines for tests/multi (tests/ has no packages, so import this by name).

A ``Machine`` is a directory with its own HOME, XDG_STATE_HOME and working directory, and an
environment without the developer's TAP_/TARGET_/MELTANO_/EACCOUNTING_ variables: two machines share
no file, only the sandbox (HTTP) and the coordination database (the DSN in their configs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.tap import TapEAccounting

BIN = Path(sys.executable).parent
WORKER = Path(__file__).with_name("tenant_worker.py")
CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
_DROP = re.compile(r"^(MELTANO_|TAP_|TARGET_|EACCOUNTING_)")


class Machine:
    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.dir = root / name
        for sub in ("home", "state", "work"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.work = self.dir / "work"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
        env.update(HOME=str(self.dir / "home"), XDG_STATE_HOME=str(self.dir / "state"), **extra)
        return env

    def write(self, name: str, content: Any) -> str:
        path = self.work / name
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text, encoding="utf-8")
        return str(path)

    def spawn(self, args: list[str], *, stdin: Any = None, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            args,
            cwd=self.work,
            env=self.env(**env),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def connector(
        self,
        kind: str,
        config: Mapping[str, Any],
        *,
        catalog: Mapping[str, Any] | None = None,
        input_text: str | None = None,
        **env: str,
    ) -> subprocess.Popen[str]:
        """``tap-eaccounting`` or ``target-eaccounting`` with ``config``, ``--catalog``, and standard
        input from ``input_text``; ``env`` adds environment variables."""
        args = [str(BIN / f"{kind}-eaccounting"), "--config", self.write(f"{kind}-config.json", config)]
        if catalog is not None:
            args += ["--catalog", self.write("catalog.json", catalog)]
        if input_text is None:
            return self.spawn(args, **env)
        with open(self.write(f"{kind}-input.jsonl", input_text), encoding="utf-8") as stdin:
            return self.spawn(args, stdin=stdin, **env)

    def worker(self, jobs: list[dict[str, Any]]) -> subprocess.Popen[str]:
        """A tenant_worker.py process running ``jobs`` (configs and catalogs written here first)."""
        spec = []
        for index, job in enumerate(jobs):
            entry = {"tenant": job["tenant"], "kind": job["kind"]}
            entry["config"] = self.write(f"{index:03d}-{job['tenant']}-config.json", job["config"])
            if job.get("catalog") is not None:
                entry["catalog"] = self.write(f"{index:03d}-catalog.json", job["catalog"])
            if job.get("input") is not None:
                entry["input"] = self.write(f"{index:03d}-input.jsonl", job["input"])
            spec.append(entry)
        return self.spawn([sys.executable, str(WORKER), self.write("jobs.json", {"jobs": spec})])


def results(worker: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The worker's JSON result lines, as its jobs finish."""
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith("{"):
            yield json.loads(line)


def tenant_config(sandbox: SandboxServer, tenant: str, dsn: str | None, **extra: Any) -> dict[str, Any]:
    """A connector config for ``tenant`` of ``sandbox``, seeded with the company's bootstrap token."""
    config: dict[str, Any] = {
        **CLIENT,
        "refresh_token": f"{tenant}-bootstrap-refresh-token",
        "api_url": sandbox.api_url,
        "identity_url": sandbox.identity_url,
        "tenant_id": tenant,
        **extra,
    }
    if dsn:
        config["coordination_dsn"] = dsn
    return config


def catalog(streams: set[str]) -> dict[str, Any]:
    """The tap's catalog (discovery makes no API call) with only ``streams`` selected."""
    found: dict[str, Any] = TapEAccounting(config={**CLIENT}, validate_config=False).catalog_dict
    for entry in found["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return found


def statuses(sandbox: SandboxServer) -> dict[str, int]:
    """Responses per HTTP status over every endpoint (the identity server's included)."""
    counted: dict[str, int] = sandbox.admin("GET", "stats")["statuses"]
    return counted


def endpoint_statuses(sandbox: SandboxServer, endpoint: str) -> dict[str, int]:
    found: dict[str, int] = sandbox.admin("GET", "stats")["endpoints"].get(endpoint, {})
    return found
