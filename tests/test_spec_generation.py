"""The generated structural spec: deterministic, complete and free of prose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _generator() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    import generate_from_spec as gen

    return gen


@pytest.mark.parametrize(
    ("description", "kind", "expected"),
    [
        (
            "<strong>Possible values:</strong><br/>1 = Ongoing,<br/>2 = Finished<br/><br/>Project status.",
            "integer",
            ([1, 2], ["Ongoing", "Finished"]),
        ),
        (
            "<strong>Possible values:</strong><br/>Default = 1 (Codepage 437),<br/>Utf8 = 3",
            "integer",
            ([1, 3], ["Default", "Utf8"]),
        ),
        (
            "<strong>Possible values:</strong><br/>0 = None,<br/>1 = New ,<br/>2 = Can be read",
            ["integer", "null"],
            ([0, 1, 2], ["None", "New", "Can be read"]),
        ),
        (
            "<strong>Possible values:</strong><br/>Default = 0<br/><br/>Article barcode type.",
            "integer",
            "one value only",
        ),
        ("<strong>Possible values:</strong><br/>1 = A,<br/>1 = B", "integer", "listed twice"),
        ("<strong>Possible values:</strong><br/>priority = 0, then any order<br/><br/>x", "integer", "not a"),
        (
            "<strong>Possible values:</strong><br/>0 = A,<br/>1 = B<br/><br/>see DocumentTypeApi enum",
            "integer",
            "defers",
        ),
        ("<strong>Possible values:</strong><br/>True = yes<br/>False = no", "boolean", None),
        ("<strong>Possible values:</strong><br/>2 = Rejected<br/><br/>Message.", ["string", "null"], None),
        ("Status of the thing (0 = a, 1 = b).", "integer", None),
    ],
)
def test_prose_enum_takes_only_complete_integer_lists(description: str, kind: Any, expected: Any) -> None:
    result = _generator().prose_enum({"type": kind, "description": description})
    if isinstance(expected, str):
        assert isinstance(result, str)
        assert expected in result
    else:
        assert result == expected


@needs_source
def test_prose_enums_are_structural_and_the_tap_schemas_stay_tolerant() -> None:
    schemas = spec.schemas()
    project = schemas["ProjectApi"]["properties"]["Status"]
    assert project["enum"] == [1, 2]
    assert project["x-enum-names"] == ["Ongoing", "Finished"]
    assert schemas["SupplierInvoiceApi"]["properties"]["PaymentStatus"]["enum"] == list(range(3, 18))
    assert schemas["CustomerInvoiceApi"]["properties"]["PaymentStatus"]["enum"] == [0, 1, 2]
    voucher_types = schemas["VoucherApi"]["properties"]["VoucherType"]["enum"]
    assert 4 not in voucher_types
    assert {2, 14, 15} <= set(voucher_types)
    # Nullable: null stays allowed, and is named null.
    house_work = schemas["ArticleApi"]["properties"]["HouseWorkType"]
    assert house_work["enum"][-1] is None
    assert house_work["x-enum-names"][-1] is None
    # Rejected as ambiguous: no enum made up.
    assert "enum" not in schemas["DocumentApi"]["properties"]["Type"]
    assert "enum" not in schemas["ArticleBarcodeApi"]["properties"]["BarcodeType"]
    # A spec enum is left as the spec has it.
    assert schemas["AccountingTemplateRowApi"]["properties"]["AccountingType"]["enum"] == [1, 2, 3]
    assert "x-enum-names" not in schemas["AccountingTemplateRowApi"]["properties"]["AccountingType"]
    found, rejected = _generator().prose_enums(
        json.loads(SOURCE.read_text(encoding="utf-8"))["components"]["schemas"]
    )
    assert len(found) == 124
    assert set(rejected) == {
        "ArticleBarcodeApi.BarcodeType",
        "DocumentApi.Type",
        "SupplierApproverApi.Priority",
        "SupplierInvoiceApproverApi.Priority",
    }
    # The tap loads what the API really sends: its stream schemas carry no enum.
    for path in (ROOT / "tap_eaccounting" / "schemas").glob("*.json"):
        assert '"enum"' not in path.read_text(encoding="utf-8"), path.name


def test_integer_enum_accessors_and_validator() -> None:
    assert spec.integer_enums("ProjectApi") == {"Status": frozenset({1, 2})}
    draft = spec.integer_enums("CustomerInvoiceDraftApi")
    assert draft["RotReducedInvoicingType"] == {0, 1, 2}  # an enum the spec itself declares
    assert draft["RotPropertyType"] == {1, 2}  # nullable: null is not a value
    assert spec.enum_names("ProjectApi", "Status") == {1: "Ongoing", 2: "Finished"}
    assert spec.enum_value("SupplierInvoiceApi", "PaymentStatus", "Paid") == 6
    assert spec.enum_value("VoucherApi", "VoucherType", "CustomerInvoiceDebit") == 14
    with pytest.raises(KeyError):
        spec.enum_value("ProjectApi", "Status", "Cancelled")
    errors = list(spec.validator("ProjectApi").iter_errors({"Number": "1", "Name": "P", "Status": 0}))
    assert [e.json_path for e in errors] == ["$.Status"]
