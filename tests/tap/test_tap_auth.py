"""Auth at the tap level: one authenticator for all streams, a missing scope named, and two tap
processes sharing one token store while access tokens expire constantly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eaccounting_api.connection import authenticator_from_config
from eaccounting_api.errors import PermissionDeniedError
from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, catalog_for, object_ids, run_tap, tap_config


def test_every_stream_shares_the_process_wide_authenticator(config: dict) -> None:
    tap = TapEAccounting(config=config)
    streams = [s for s in tap.streams.values() if isinstance(s, EAccountingStream)]
    assert len(streams) == 58
    assert len({id(s.authenticator) for s in streams}) == 1
    assert streams[0].authenticator is authenticator_from_config(config)  # the one of the token store


def test_missing_scope_is_named(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path)
    config["refresh_token"] = sandbox.mint_tokens(COMPANY, ["ea:api", "offline_access", "ea:sales_readonly"])[
        "refresh_token"
    ]
    with pytest.raises(PermissionDeniedError) as info:
        run_tap(config, ["suppliers"])
    assert "ea:purchase" in str(info.value)
    assert "/suppliers" in str(info.value)


def test_two_taps_rotate_one_token_store_without_burning_it(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Access tokens live 60 s, i.e. always inside the 5-minute refresh margin: every request of both
    # processes refreshes, and every refresh rotates the single-use refresh token in the shared store.
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": 60})
    config = tap_config(fresh_sandbox, tmp_path, page_size=20)
    streams = ["customers", "customer_invoices"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(config, streams)))
    cmd = [
        sys.executable, "-m", "tap_eaccounting.tap",
        "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json"),
    ]  # fmt: skip
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        ids = {
            json.loads(line)["record"]["Id"]
            for line in out.decode().splitlines()
            if '"customer_invoices"' in line and '"RECORD"' in line
        }
        assert ids == object_ids(fresh_sandbox, "customerinvoices")
    refreshes = fresh_sandbox.admin("GET", "stats")["endpoints"]["POST /connect/token"]
    assert refreshes.get("200", 0) >= 10, refreshes  # many rotations really happened, all accepted
    assert set(refreshes) == {"200"}, refreshes
