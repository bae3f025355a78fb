"""The pass-through fast path emits exactly what the decoding path emits; output tolerates the live
API's deviations (date-only values, emitted as midnight UTC; 7-digit fractions; nulls) under the
generated schemas."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.client import load_schema
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, catalog_for, run_tap, tap_config


def test_pass_through_records_equal_decoded_records(sandbox: SandboxServer, tmp_path: Path) -> None:
    streams = ["customer_invoices", "supplier_invoices", "customers"]
    fast = run_tap(tap_config(sandbox, tmp_path), streams)
    for name in streams:
        assert fast.tap.streams[name].passthrough  # type: ignore[attr-defined]
    # Flattening off but set: forces the decoding path.
    slow = run_tap(tap_config(sandbox, tmp_path, stream_map_config={"unused": 1}), streams)
    for name in streams:
        assert not slow.tap.streams[name].passthrough  # type: ignore[attr-defined]
        by_id = {r["Id"]: r for r in slow.records[name]}
        assert len(fast.records[name]) == len(by_id) > 0
        for record in fast.records[name]:
            assert record == by_id[record["Id"]]


def _date_time_values(record: Any, schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if isinstance(record, dict):
        for key, value in record.items():
            sub = schema.get("properties", {}).get(key, {})
            if sub.get("format") == "date-time" and isinstance(value, str):
                found.append(value)
            found.extend(_date_time_values(value, sub))
    elif isinstance(record, list):
        for item in record:
            found.extend(_date_time_values(item, schema.get("items", {})))
    return found


def test_records_validate_and_deviating_date_times_parse(sandbox: SandboxServer, tmp_path: Path) -> None:
    streams = ["customer_invoices", "supplier_invoices", "vouchers"]
    run = run_tap(tap_config(sandbox, tmp_path), streams)
    seen_seven_digits = False
    midnights = 0
    for name in streams:
        schema = load_schema(name)
        validator = Draft202012Validator(schema)
        for record in run.records[name]:
            errors = list(validator.iter_errors(record))
            assert not errors, f"{name} {record.get('Id')}: {errors[0].message} at {list(errors[0].path)}"
            for value in _date_time_values(record, schema):
                # What an SDK target does with a date-time value (Python 3.11+ ISO parser).
                dt.datetime.fromisoformat(value)
                assert len(value) > 10, f"{name} {record.get('Id')}: a date-only value went out: {value}"
                midnights += value.endswith("T00:00:00Z")
                seen_seven_digits |= "." in value and len(value.split(".")[1].rstrip("Z")) == 7
    sent = sandbox.admin("GET", "objects", params={"company": COMPANY, "collection": "customerinvoices"})
    assert any(len(o["DueDate"] or "") == 10 for o in sent), "the sandbox sent no date-only value"
    assert midnights >= len(sent), "date-only DueDates did not go out as midnight UTC"
    assert seen_seven_digits, "the sandbox sent no 7-digit fraction: this test proves nothing"


def test_deselected_property_is_not_emitted(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path)
    catalog = catalog_for(config, ["customers"])
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "customers":
            for md in entry["metadata"]:
                if md["breadcrumb"] == ["properties", "Note"]:
                    md["metadata"]["selected"] = False
    tap = TapEAccounting(config=config, catalog=catalog)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    records = [m["record"] for m in map(json.loads, buffer.getvalue().splitlines()) if m["type"] == "RECORD"]
    assert len(records) == 80
    assert all("Note" not in r and "Id" in r for r in records)
    assert not tap.streams["customers"].passthrough  # type: ignore[attr-defined]
