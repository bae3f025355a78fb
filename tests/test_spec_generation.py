"""The generated structural spec: deterministic, complete and free of prose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eaccounting_api import spec

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "eaccounting-api" / "openapi-v2.json"
needs_source = pytest.mark.skipif(not SOURCE.exists(), reason="../shared/eaccounting-api is not beside")


@needs_source
def test_regeneration_gives_no_diff() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/generate_from_spec.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@needs_source
def test_render_is_deterministic() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import generate_from_spec as gen

    first = gen.render_all(SOURCE)
    second = gen.render_all(SOURCE)
    assert first == second
    assert Path("eaccounting_api/spec/openapi-structural.json") in first


@needs_source
def test_structure_is_kept_and_prose_dropped() -> None:
    original = json.loads(SOURCE.read_text(encoding="utf-8"))
    structural = spec.load()
    assert list(structural["paths"]) == list(original["paths"])
    assert set(structural["components"]["schemas"]) == set(original["components"]["schemas"])
    invoice = structural["components"]["schemas"]["CustomerInvoiceApi"]
    assert invoice["required"] == ["CustomerId", "EuThirdParty", "RotReducedInvoicingType", "Rows"]
    assert invoice["properties"]["YourReference"]["maxLength"] == 100
    assert invoice["properties"]["InvoiceNumber"]["readOnly"] is True
    # No descriptions survive except the empty ones OpenAPI requires on responses.
    text = json.dumps(structural)
    assert '"summary"' not in text
    for path_item in structural["paths"].values():
        for op in path_item.values():
            assert "description" not in op
            assert all(resp["description"] == "" for resp in op["responses"].values())


def test_list_endpoints_match_facts() -> None:
    endpoints = spec.list_endpoints()
    assert len(endpoints) == 58
    by_path = {e.path: e for e in endpoints}
    invoices = by_path["/customerinvoices"]
    assert invoices.item_schema == "CustomerInvoiceApi"
    assert invoices.query_params == ("modifiedSinceUtc",)
    assert set(invoices.timestamp_fields) == {"CreatedUtc", "ModifiedUtc"}
    assert invoices.scopes == ("ea:sales", "ea:sales_readonly")
    assert by_path["/accounts/{fiscalyearId}"].path_params == ("fiscalyearId",)
    assert by_path["/customers"].timestamp_fields == ("ChangedUtc",)


def test_scopes_are_structural() -> None:
    assert spec.scopes("post", "/customers") == ["ea:sales"]
    assert spec.scopes("get", "/fiscalyears") == [
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:sales",
        "ea:sales_readonly",
    ]


def test_validator_resolves_refs() -> None:
    validator = spec.validator("CustomerInvoiceApi")
    errors = list(validator.iter_errors({"CustomerId": 5, "Rows": [{"Quantity": "x"}]}))
    messages = " ".join(e.message for e in errors)
    assert "5 is not of type 'string'" in messages
    assert "'x' is not of type" in messages
