"""Helpers for the tap tests: a config for a sandbox, an in-process run capturing Singer messages."""

from __future__ import annotations

import io
import json
import uuid
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.tap import TapEAccounting

SCOPES = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]
COMPANY = "demo-no"


def tap_config(server: SandboxServer, tmp_path: Path, company: str = COMPANY, **extra: Any) -> dict[str, Any]:
    tokens = server.mint_tokens(company, SCOPES)
    return {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": tokens["refresh_token"],
        "token_store_path": str(tmp_path / f"tokens-{uuid.uuid4().hex}.json"),
        "api_url": server.api_url,
        "identity_url": server.identity_url,
        **extra,
    }


def catalog_for(config: dict[str, Any], names: list[str] | set[str]) -> dict[str, Any]:
    """The discovered catalog with only ``names`` selected."""
    catalog: dict[str, Any] = TapEAccounting(config=config).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in names
    return catalog


@dataclass
class Run:
    messages: list[dict[str, Any]]
    tap: TapEAccounting
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def requests(self, stream: str) -> int:
        """API requests the stream's own reader made (parent-id and fan-out readers excluded)."""
        stream_obj = self.tap.streams[stream]
        assert isinstance(stream_obj, EAccountingStream)
        return stream_obj.reader.stats.requests

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def ids(self, stream: str, key: str = "Id") -> set[Any]:
        return {r[key] for r in self.records[stream]}


def run_tap(
    config: dict[str, Any],
    streams: list[str] | set[str] | None = None,
    state: dict[str, Any] | None = None,
) -> Run:
    catalog = catalog_for(config, streams) if streams is not None else None
    tap = TapEAccounting(config=config, state=state, catalog=catalog)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    messages = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    run = Run(messages, tap)
    for message in messages:
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
    return run


def object_ids(server: SandboxServer, collection: str, company: str = COMPANY) -> set[str]:
    return {
        o["Id"] for o in server.admin("GET", "objects", params={"company": company, "collection": collection})
    }


@pytest.fixture
def config(sandbox: SandboxServer, tmp_path: Path) -> dict[str, Any]:
    return tap_config(sandbox, tmp_path)
