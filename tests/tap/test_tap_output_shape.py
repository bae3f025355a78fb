"""What the tap emits is what a strict loader takes: every ``format: date-time`` value is RFC 3339 in UTC
(a date alone becomes midnight UTC), and a property the API sends that the SCHEMA does not declare is
declared in a SCHEMA message before the first record carrying it, with one WARNING per stream and
property (``record_shape``, ``record_output``)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.streams import STREAMS
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, Run, catalog_for, run_tap, tap_config

# RFC 3339 section 5.6, independent of the tap's own pattern.
RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
)


def date_time_values(node: Any, schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(path, value) of every string under a ``format: date-time`` property, at any depth."""
    if isinstance(node, list):
        for item in node:
            yield from date_time_values(item, schema.get("items", {}), path)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        sub = schema.get("properties", {}).get(key, {})
        items = sub.get("items", {})
        if sub.get("format") == "date-time" and isinstance(value, str):
            yield f"{path}{key}", value
        elif items.get("format") == "date-time" and isinstance(value, list):
            yield from ((f"{path}{key}", v) for v in value if isinstance(v, str))
        else:
            yield from date_time_values(value, sub, f"{path}{key}.")


def schemas(run: Run) -> dict[str, dict[str, Any]]:
    """The last SCHEMA message's schema of each stream."""
    return {m["stream"]: m["schema"] for m in run.messages if m["type"] == "SCHEMA"}


def stored(server: SandboxServer, collection: str) -> dict[str, dict[str, Any]]:
    objects = server.admin("GET", "objects", params={"company": COMPANY, "collection": collection})
    return {o["Id"]: o for o in objects}


def test_every_date_time_emitted_is_rfc3339_utc(sandbox: SandboxServer, tmp_path: Path) -> None:
    # voucher_over_under_payments has no date-time and costs one request per voucher.
    names = [s.name for s in STREAMS if s.name != "voucher_over_under_payments"]
    run = run_tap(tap_config(sandbox, tmp_path, fan_out_streams=["customer_auto_invoice_recipients"]), names)
    declared = schemas(run)
    values = [
        (name, path, value)
        for name in names
        for record in run.records[name]
        for path, value in date_time_values(record, declared[name])
    ]
    bad = [v for v in values if not (RFC3339.fullmatch(v[2]) and v[2].endswith("Z"))]
    assert not bad, f"{len(bad)} value(s) not RFC 3339 UTC, e.g. {bad[:5]}"
    assert len(values) > 5000, "too few date-time values: this test proves little"
    assert {path for name, path, _ in values if "." in path}, "no nested date-time was checked"
    # What the API sent date-only is midnight UTC (demo_time: DueDate, supplier-invoice PaymentDate).
    date_only = 0
    for name, collection, fields in [
        ("customer_invoices", "customerinvoices", ("DueDate",)),
        ("supplier_invoices", "supplierinvoices", ("DueDate", "PaymentDate")),
    ]:
        sent = stored(sandbox, collection)
        for record in run.records[name]:
            for field in fields:
                original = sent[record["Id"]][field]
                if original and len(original) == 10:
                    assert record[field] == f"{original}T00:00:00Z", (name, field, original)
                    date_only += 1
    assert date_only > 500
    # Timestamps with 7 fraction digits go out as sent.
    invoice_stamps = {r["Id"]: r["ModifiedUtc"] for r in run.records["customer_invoices"]}
    sent = stored(sandbox, "customerinvoices")
    assert all(stamp == sent[i]["ModifiedUtc"] and len(stamp) == 28 for i, stamp in invoice_stamps.items())


# -- deviations injected into the API's answers -----------------------------------------------------------
@dataclass
class Rewritten:
    content: bytes
    status_code: int = 200


def rewrite(tap: TapEAccounting, path: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
    """Let ``change`` edit the items of every ``GET path`` answer, sent on compact, as the API does."""
    stream = next(iter(tap.streams.values()))
    assert isinstance(stream, EAccountingStream)
    client = stream.runtime.client
    original = client.request

    def request(method: str, requested: str, *, parse: Any = None, **kwargs: Any) -> Any:
        if requested != path:
            return original(method, requested, parse=parse, **kwargs)
        response = original(method, requested, **kwargs)
        body = json.loads(response.content)
        change(body["Data"])
        rewritten = Rewritten(json.dumps(body, separators=(",", ":")).encode())
        return parse(rewritten) if parse is not None else rewritten  # the client's parse step

    client.request = request  # type: ignore[method-assign]


DATE_TIMES = {  # LastInvoiceDate as sent -> as emitted
    "2026-01-31": "2026-01-31T00:00:00Z",
    "2026-01-31T10:00:00": "2026-01-31T10:00:00Z",
    "2026-01-31T10:00:00+01:00": "2026-01-31T09:00:00Z",
    "2026-01-31T00:30:00.1234567-02:30": "2026-01-31T03:00:00.1234567Z",
    "2026-01-31T10:00:00.1234567Z": "2026-01-31T10:00:00.1234567Z",
    "not a date": None,
}


def deviate(items: list[dict[str, Any]]) -> None:
    for i, item in enumerate(sorted(items, key=lambda r: r["Id"])):
        item["AlwaysNull"] = None
        if i >= 10:
            item["RequiresReferenceNumber"] = "yes" if i == 50 else i % 2 == 0
        if i == 20:
            item["TermsOfPayment"] = {**(item["TermsOfPayment"] or {}), "NewNestedKey": 7}
        if 30 <= i < 30 + len(DATE_TIMES):
            item["LastInvoiceDate"] = list(DATE_TIMES)[i - 30]
        if i == 40:
            item["DirectDebitCustomerSettings"] = {"SigningDate": "2026-02-01", "EndDate": None}


@pytest.mark.parametrize("passthrough", [True, False])
def test_undeclared_properties_and_deviating_date_times(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, passthrough: bool
) -> None:
    extra = {} if passthrough else {"stream_map_config": {"unused": 1}}  # forces the decoding path
    config = tap_config(sandbox, tmp_path, **extra)
    tap = TapEAccounting(config=config, catalog=catalog_for(config, ["customers"]))
    rewrite(tap, "/customers", deviate)
    caplog.set_level(logging.WARNING)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    assert tap.streams["customers"].passthrough is passthrough  # type: ignore[attr-defined]
    messages = [json.loads(line) for line in buffer.getvalue().splitlines()]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == 80
    by_order = sorted(records, key=lambda r: r["Id"])

    # The widened SCHEMA comes before the first record carrying the property; a second widens its type.
    seen_schema: dict[str, Any] = {}
    widenings = []
    for message in messages:
        if message["type"] == "SCHEMA":
            prop = message["schema"]["properties"].get("RequiresReferenceNumber")
            if prop != seen_schema.get("RequiresReferenceNumber"):
                widenings.append(prop)
            seen_schema = message["schema"]["properties"]
        elif message["type"] == "RECORD" and "RequiresReferenceNumber" in message["record"]:
            value = message["record"]["RequiresReferenceNumber"]
            declared = seen_schema.get("RequiresReferenceNumber")
            assert declared, "a record carries RequiresReferenceNumber before any SCHEMA declares it"
            kind = "string" if isinstance(value, str) else "boolean"
            assert kind in declared["type"], (value, declared)
    assert widenings == [{"type": ["boolean", "null"]}, {"type": ["boolean", "string", "null"]}]
    assert len([m for m in messages if m["type"] == "SCHEMA"]) == 3  # the SDK's, then the two widenings
    assert "AlwaysNull" not in seen_schema  # only ever null: nothing to declare, nothing lost
    # Every value arrives.
    assert [r.get("RequiresReferenceNumber") for r in by_order[10:]] == [
        "yes" if i == 50 else i % 2 == 0 for i in range(10, 80)
    ]
    assert all("RequiresReferenceNumber" not in r for r in by_order[:10])
    # A nested undeclared key is kept, and the nested schema lets loaders keep it too.
    assert by_order[20]["TermsOfPayment"]["NewNestedKey"] == 7
    assert seen_schema["TermsOfPayment"]["additionalProperties"] is True
    # Date-times: RFC 3339 UTC whatever came; nested ones too.
    assert [r["LastInvoiceDate"] for r in by_order[30 : 30 + len(DATE_TIMES)]] == list(DATE_TIMES.values())
    assert by_order[40]["DirectDebitCustomerSettings"]["SigningDate"] == "2026-02-01T00:00:00Z"
    # One WARNING per stream and property (and one for the widening), one per value that is no date.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "RequiresReferenceNumber" in w] == [
        "customers: the API sent undeclared property RequiresReferenceNumber; "
        "added it to the SCHEMA as boolean",
        "customers: the API sent RequiresReferenceNumber (added to the SCHEMA) as string too; "
        "widened it in the SCHEMA to boolean or string",
    ]
    assert [w for w in warnings if "is not a date" in w] == [
        "customers: LastInvoiceDate 'not a date' is not a date; "
        "emitted as null (first of its kind in this stream)"
    ]
    assert not [w for w in warnings if "AlwaysNull" in w]
