"""Single-object endpoints as streams: ``company_settings`` reads ``GET /companysettings`` once."""

from __future__ import annotations

from typing import Any

import httpx

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.record_shape import RecordShape
from tap_eaccounting.tap import TapEAccounting, stream_scopes

from .conftest import COMPANY, SCOPES, run_tap


def _settings(sandbox: SandboxServer) -> dict[str, Any]:
    token = sandbox.mint_tokens(COMPANY, SCOPES)["access_token"]
    response = httpx.get(
        f"{sandbox.api_url.rstrip('/')}/companysettings", headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    settings: dict[str, Any] = response.json()
    return settings


def test_company_settings_is_in_the_catalog_with_its_scope_area(config: dict[str, Any]) -> None:
    catalog = TapEAccounting(config=config).catalog_dict
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "company_settings")
    assert entry["key_properties"] == []
    assert {"Name", "CorporateIdentityNumber", "AccountingLockedTo"} <= set(entry["schema"]["properties"])
    assert entry["schema"]["properties"]["AccountingLockedTo"]["format"] == "date-time"
    assert stream_scopes()["company_settings"] == ("ea:sales", "ea:sales_readonly")


def test_a_sync_emits_the_one_settings_object(sandbox: SandboxServer, config: dict[str, Any]) -> None:
    run = run_tap(config, streams={"company_settings"})
    mine = [m for m in run.messages if m.get("stream") == "company_settings"]
    assert mine[0]["type"] == "SCHEMA"
    assert mine[0]["key_properties"] == []
    [record] = run.records["company_settings"]
    declared = set(mine[0]["schema"]["properties"])
    # The same object, date-times as RFC 3339 (the shaping every stream's records get).
    expected = RecordShape(run.tap.streams["company_settings"].schema).check(_settings(sandbox))
    api = expected.record if expected is not None else _settings(sandbox)
    assert {k: record[k] for k in declared if k in record} == {k: api[k] for k in declared if k in api}
    assert record["Name"]
    assert record["CountryCode"]
    assert run.state.get("bookmarks", {}).get("company_settings", {}).get("progress_markers") is None
