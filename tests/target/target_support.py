"""Helpers for the target's HTTP tests (tests/ has no packages, so import this by name)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eaccounting_sandbox.server import SandboxServer
from target_eaccounting.target import TargetEAccounting

OPEN_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}


class TargetHarness:
    """One tenant of a sandbox plus the files of one target configuration."""

    def __init__(self, sandbox: SandboxServer, tmp_path: Path, company: str) -> None:
        self.sandbox = sandbox
        self.company = company
        self.tmp_path = tmp_path
        tokens = sandbox.mint_tokens(company)
        self.config: dict[str, Any] = {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": tokens["refresh_token"],
            "token_store_path": str(tmp_path / "tokens.json"),
            "api_url": sandbox.api_url,
            "identity_url": sandbox.identity_url,
            "ledger_path": str(tmp_path / "ledger.sqlite"),
            "reject_path": str(tmp_path / "rejects.jsonl"),
            "plan_path": str(tmp_path / "plan.jsonl"),
            "max_concurrency": 4,
        }

    @property
    def reject_path(self) -> Path:
        return Path(self.config["reject_path"])

    def rejects(self) -> list[dict[str, Any]]:
        if not self.reject_path.exists():
            return []
        return [json.loads(line) for line in self.reject_path.read_text().splitlines() if line.strip()]

    def plan(self) -> list[dict[str, Any]]:
        path = Path(self.config["plan_path"])
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def objects(self, collection: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.sandbox.admin(
            "GET", "objects", params={"company": self.company, "collection": collection}
        )
        return result

    def run(self, messages: Iterable[str], **overrides: Any) -> TargetEAccounting:
        target = TargetEAccounting(config={**self.config, **overrides}, validate_config=True)
        target.listen(io.StringIO("".join(m + "\n" for m in messages)))
        return target


def schema_message(stream: str, schema: Mapping[str, Any] | None = None) -> str:
    return json.dumps(
        {"type": "SCHEMA", "stream": stream, "schema": schema or OPEN_SCHEMA, "key_properties": []}
    )


def record_message(stream: str, record: Mapping[str, Any]) -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record})


def state_message(value: Mapping[str, Any]) -> str:
    return json.dumps({"type": "STATE", "value": value})


def messages(
    stream: str, records: Iterable[Mapping[str, Any]], schema: Mapping[str, Any] | None = None
) -> list[str]:
    return [schema_message(stream, schema), *(record_message(stream, r) for r in records)]


def new_company(sandbox: SandboxServer, scale: float = 0.1) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    sandbox.admin("POST", "companies", {"company": name, "seed": 7, "country": "NO", "scale": scale})
    return name


def run_cli(
    config: Mapping[str, Any], lines: Iterable[str], tmp_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m target_eaccounting --config … --input …`` in a child process, as a user runs it."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(dict(config)))
    input_file = tmp_path / "in.singer"
    input_file.write_text("".join(line + "\n" for line in lines))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "target_eaccounting",
            "--config",
            str(config_file),
            "--input",
            str(input_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
