"""The tap against a sandbox that cuts 20% of its response bodies short: every record is still emitted
and the run exits 0 (docs: "Survive the real API's unknowns"). Both ways a body gets cut: as many
bytes as announced but not decodable ("json"), and a reset halfway through the body ("connection")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from api_support import CLIENT_SECRET

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.tap import TapEAccounting

TAP = str(Path(sys.executable).parent / "tap-eaccounting")
COMPANY = "demo-no"
SCOPES = ["ea:api", "offline_access", "ea:sales_readonly", "ea:purchase_readonly", "ea:accounting_readonly"]
# stream -> (list endpoint in /_admin/counts, collection in /_admin/objects); all multi-page at 25 a page
STREAMS = {
    "customers": ("/customers", "customers"),
    "customer_invoices": ("/customerinvoices", "customerinvoices"),
    "supplier_invoices": ("/supplierinvoices", "supplierinvoices"),
    "vouchers": ("/vouchers", "vouchers"),
}


def write_config_and_catalog(server: SandboxServer, tmp_path: Path) -> list[str]:
    config = {
        "client_id": "sandbox-client",
        "client_secret": CLIENT_SECRET,
        "refresh_token": server.mint_tokens(COMPANY, SCOPES)["refresh_token"],
        "token_store_path": str(tmp_path / "tokens.json"),
        "api_url": server.api_url,
        "identity_url": server.identity_url,
        "page_size": 25,
        "max_concurrency": 4,
    }
    catalog: dict[str, Any] = TapEAccounting(config=config).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in STREAMS
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    return ["--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]


@pytest.mark.parametrize("mode", ["json", "connection"])
def test_tap_emits_every_record_with_20_percent_of_bodies_cut(
    fresh_sandbox: SandboxServer, tmp_path: Path, mode: str
) -> None:
    args = write_config_and_catalog(fresh_sandbox, tmp_path)
    fresh_sandbox.admin("POST", "faults", {"truncate_rate": 0.2, "truncate_mode": mode, "seed": 20})
    run = subprocess.run([TAP, *args], capture_output=True, text=True, timeout=300, check=False)
    injected = fresh_sandbox.admin("GET", "faults")["injected"]
    fresh_sandbox.admin("DELETE", "faults")
    assert run.returncode == 0, run.stderr[-3000:]
    assert injected.get("truncate", 0) >= 10, injected

    emitted: dict[str, set[str]] = defaultdict(set)
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            emitted[message["stream"]].add(message["record"]["Id"])
    counts = fresh_sandbox.admin("GET", "counts", params={"company": COMPANY})
    for stream, (endpoint, collection) in STREAMS.items():
        stored = fresh_sandbox.admin("GET", "objects", params={"company": COMPANY, "collection": collection})
        assert counts[endpoint] > 25, f"{stream} should span several pages"
        assert len(emitted[stream]) == counts[endpoint], stream
        assert {o["Id"] for o in stored} <= emitted[stream], stream
