"""Bodies that deviate from the spec on purpose, over HTTP: undeclared properties, date shapes,
truncated bodies. The fixture's conformance check proves validation still sees the undeviated body."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from eaccounting_sandbox.response_drift import NESTED_EXTRA, TOP_EXTRA, reshape
from eaccounting_sandbox.server import SandboxServer

INVOICES = "/customerinvoices"
DATE_FIELDS = ("InvoiceDate", "DueDate", "CreatedUtc", "ModifiedUtc", "PaymentDate")
SHAPE_RE = {
    "date_only": r"\d{4}-\d\d-\d\d",
    "offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{7})?\+01:00",
    "no_z": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{7})?",
    "seven_digits": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z",
}


def auth(server: SandboxServer) -> dict[str, str]:
    return {"Authorization": "Bearer " + server.mint_tokens()["access_token"]}


def get(server: SandboxServer, path: str, **params: Any) -> Any:
    response = requests.get(server.api_url + path, params=params, headers=auth(server), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def first_invoice(server: SandboxServer) -> dict[str, Any]:
    page = get(server, INVOICES, **{"$orderby": "InvoiceNumber", "$pagesize": 1})
    invoice: dict[str, Any] = page["Data"][0]
    return invoice


@pytest.mark.parametrize("mode", ["none", "top", "nested", "both"])
def test_extra_properties_top_level_and_nested(fresh_sandbox: SandboxServer, mode: str) -> None:
    stored = fresh_sandbox.admin("GET", "objects", params={"collection": "customerinvoices"})
    fresh_sandbox.admin("POST", "config", {"extra_properties": mode})
    listed = get(fresh_sandbox, INVOICES, **{"$pagesize": 5})["Data"]
    single = get(fresh_sandbox, f"{INVOICES}/{listed[0]['Id']}")
    for invoice in [*listed, single]:
        assert invoice["Rows"]
        has_top = set(TOP_EXTRA) <= set(invoice)
        nested = [*invoice["Rows"], invoice["ContributionMargin"]]
        has_nested = [set(NESTED_EXTRA) <= set(item) for item in nested]
        assert has_top is (mode in ("top", "both"))
        assert has_nested == [mode in ("nested", "both")] * len(nested)
        assert not set(NESTED_EXTRA) & set(invoice)
        assert not any(set(TOP_EXTRA) & set(item) for item in nested)
    # Served drifted, stored as it was (and validated as stored: the fixture's conformance check).
    assert fresh_sandbox.admin("GET", "objects", params={"collection": "customerinvoices"}) == stored
    assert fresh_sandbox.conformance_failures() == []


@pytest.mark.parametrize("shape", ["spec", "date_only", "offset", "no_z", "seven_digits"])
def test_each_date_shape_on_lists_and_single_reads(fresh_sandbox: SandboxServer, shape: str) -> None:
    plain = first_invoice(fresh_sandbox)
    fresh_sandbox.admin("POST", "config", {"date_shapes": shape})
    listed = first_invoice(fresh_sandbox)
    single = get(fresh_sandbox, f"{INVOICES}/{plain['Id']}")
    for invoice in (listed, single):
        for name in DATE_FIELDS:
            if plain[name] is None:
                continue
            assert invoice[name] == reshape(plain[name], shape), name
            if shape != "spec":
                assert re.fullmatch(SHAPE_RE[shape], invoice[name]), (name, invoice[name])
        assert invoice["Id"] == plain["Id"]
        assert invoice["TotalAmount"] == plain["TotalAmount"]
    assert fresh_sandbox.conformance_failures() == []


def test_mixed_date_shapes_vary_within_one_page(fresh_sandbox: SandboxServer) -> None:
    plain = get(fresh_sandbox, INVOICES, **{"$orderby": "InvoiceNumber", "$pagesize": 60})["Data"]
    fresh_sandbox.admin("POST", "config", {"profile": "drifted_schema"})
    mixed = get(fresh_sandbox, INVOICES, **{"$orderby": "InvoiceNumber", "$pagesize": 60})["Data"]
    seen = set()
    for before, after in zip(plain, mixed, strict=True):
        assert set(TOP_EXTRA) <= set(after)
        for name in DATE_FIELDS:
            if before[name] is None:
                continue
            candidates = {shape: reshape(before[name], shape) for shape in ("spec", *SHAPE_RE)}
            matching = {shape for shape, value in candidates.items() if value == after[name]}
            assert matching, (name, before[name], after[name])
            seen |= matching
    assert seen == {"spec", *SHAPE_RE}


def test_filters_compare_stored_values_whatever_shape_is_served(fresh_sandbox: SandboxServer) -> None:
    invoice = first_invoice(fresh_sandbox)
    query = {
        "$filter": f"InvoiceNumber eq {invoice['InvoiceNumber']} and ModifiedUtc eq {invoice['ModifiedUtc']}"
    }
    fresh_sandbox.admin("POST", "config", {"date_shapes": "offset"})
    found = get(fresh_sandbox, INVOICES, **query)["Data"]
    assert [i["Id"] for i in found] == [invoice["Id"]]
    assert found[0]["ModifiedUtc"].endswith("+01:00")


def test_drift_only_on_the_endpoint_switched(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin(
        "POST",
        "config",
        {
            "endpoint_switches": {
                "/customerinvoices/{invoiceId}": {"extra_properties": "top", "date_shapes": "date_only"}
            }
        },
    )
    plain = first_invoice(fresh_sandbox)
    assert not set(TOP_EXTRA) & set(plain)
    single = get(fresh_sandbox, f"{INVOICES}/{plain['Id']}")
    assert set(TOP_EXTRA) <= set(single)
    assert single["ModifiedUtc"] == plain["ModifiedUtc"][:10]
    customer = get(fresh_sandbox, "/customers", **{"$pagesize": 1})["Data"][0]
    assert not set(TOP_EXTRA) & set(get(fresh_sandbox, f"/customers/{customer['Id']}"))


def test_flaky_bodies_profile_truncates_some_list_pages_and_single_reads(
    fresh_sandbox: SandboxServer,
) -> None:
    invoice = first_invoice(fresh_sandbox)
    fresh_sandbox.admin("POST", "config", {"profile": "flaky_bodies"})
    headers = auth(fresh_sandbox)
    outcomes: dict[str, list[bool]] = {"list": [], "single": []}
    for _ in range(30):
        for kind, path in (("list", INVOICES), ("single", f"{INVOICES}/{invoice['Id']}")):
            response = requests.get(fresh_sandbox.api_url + path, headers=headers, timeout=30)
            assert response.status_code == 200
            try:
                json.loads(response.content)
            except json.JSONDecodeError:
                outcomes[kind].append(True)
            else:
                outcomes[kind].append(False)
    for kind, cut in outcomes.items():
        assert 0 < sum(cut) < len(cut), kind  # some, not all (20 %, seeded)
    injected = fresh_sandbox.admin("GET", "faults")["injected"]
    assert injected == {"truncate": sum(outcomes["list"]) + sum(outcomes["single"])}
    fresh_sandbox.admin("POST", "config", {"profile": "strict_odata"})
    assert fresh_sandbox.admin("GET", "faults")["active"] is True  # a profile without faults keeps them
    fresh_sandbox.admin("DELETE", "faults")
