"""Discovery lists one stream per list endpoint; a full sync emits every record the sandbox holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.streams import FAN_OUT_STREAMS, SINGLE_OBJECT_STREAMS, STREAMS
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, run_tap, tap_config


def test_discovery_lists_a_stream_per_list_endpoint(config: dict[str, Any]) -> None:
    catalog = TapEAccounting(config=config).catalog_dict
    names = {entry["tap_stream_id"] for entry in catalog["streams"]}
    assert names == {s.name for s in STREAMS} | {s.name for s in SINGLE_OBJECT_STREAMS}
    assert len(names - {s.name for s in SINGLE_OBJECT_STREAMS}) == 58
    # Every list endpoint of the spec has a stream (none of the 58 is non-JSON).
    assert sorted(s.path for s in STREAMS) == sorted(e.path for e in spec.list_endpoints())
    for entry in catalog["streams"]:
        assert entry["schema"]["properties"], entry["tap_stream_id"]
        if entry["tap_stream_id"] in {s.name for s in STREAMS}:  # single objects have no key
            assert entry["key_properties"], entry["tap_stream_id"]


def test_full_sync_emits_every_record_of_every_stream(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    # voucher_over_under_payments asks once per voucher (1001 here): lift the sandbox's 600/min so the
    # test does not wait out the window; the limiter itself is tested in tests/api.
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    config = tap_config(
        fresh_sandbox,
        tmp_path,
        account_balance_dates=["today"],  # the sandbox counts balances at today
        rate_limit_per_minute=1_000_000,
        max_concurrency=8,
        fan_out_streams=list(FAN_OUT_STREAMS),  # one request per customer, per voucher: on
    )
    run = run_tap(config, streams={s.name for s in STREAMS})
    counts: dict[str, int] = fresh_sandbox.admin("GET", "counts", params={"company": COMPANY})
    mismatches = {}
    for stream in STREAMS:
        records = run.records[stream.name]
        keys = {tuple(r.get(k) for k in stream.keys) for r in records}
        if not (len(records) == len(keys) == counts[stream.path]):
            mismatches[stream.name] = (len(records), len(keys), counts[stream.path])
    assert not mismatches, f"stream: (records, distinct keys, sandbox count): {mismatches}"
    assert sum(len(v) for v in run.records.values()) == sum(counts[s.path] for s in STREAMS)
    # Child records carry their parent key.
    for stream in STREAMS:
        if stream.parent_key:
            assert all(r.get(stream.parent_key) for r in run.records[stream.name]), stream.name
