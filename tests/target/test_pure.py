"""In-process unit tests of the target's pure parts: mapping, keys, fiscal-year choice, voucher
balance, ledger, reject file and replay."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from target_eaccounting import fiscal, mapping
from target_eaccounting.ledger import Ledger
from target_eaccounting.record_errors import RecordError, UnknownStreamError
from target_eaccounting.rejects import RejectFile, reject_line, replay_messages
from target_eaccounting.sinks import without_date_formats
from target_eaccounting.stream_specs import stream_spec

CUSTOMER_ID = "11111111-1111-4111-8111-111111111111"
ARTICLE_ID = "22222222-2222-4222-8222-222222222222"


def resolver(kind: str, value: str, field: str) -> str:
    table = {("customer", "C-1"): CUSTOMER_ID, ("article", "A-1"): ARTICLE_ID, ("vat_code", "25"): "vat-25"}
    try:
        return table[(kind, value)]
    except KeyError:
        raise RecordError("reference_not_found", f"{kind} {value!r} not found", field=field) from None


def invoice(**extra: object) -> dict:
    record = {
        "CustomerNumber": "C-1",
        "InvoiceDate": "2024-03-01",
        "TotalAmount": 100.0,  # read-only: dropped
        "Rows": [{"ArticleNumber": "A-1", "Quantity": 1, "UnitPrice": 100.0, "LineNumber": 1}],
    }
    record.update(extra)
    return record


def test_unknown_stream_names_the_accepted_streams() -> None:
    with pytest.raises(UnknownStreamError, match=r"'orders'.*customer_invoices"):
        stream_spec("orders")


def test_external_key_default_is_a_stable_hash_and_ignores_sdc_fields() -> None:
    a = mapping.external_key({"A": 1, "B": [1, 2]}, None)
    b = mapping.external_key({"B": [1, 2], "A": 1, "_sdc_extracted_at": "x"}, None)
    assert a == b
    assert a != mapping.external_key({"A": 2, "B": [1, 2]}, None)
    assert len(a) <= 100  # fits YourReference


def test_external_key_from_configured_field() -> None:
    assert mapping.external_key({"order_id": 42}, "order_id") == "42"
    with pytest.raises(RecordError) as err:
        mapping.external_key({"x": 1}, "order_id")
    assert err.value.field == "order_id"


def test_invoice_mapping_resolves_references_and_writes_the_key() -> None:
    payload, field, value = mapping.map_invoice(
        "CustomerInvoiceApi",
        invoice(),
        resolver,
        draft=False,
        reference_field="YourReference",
        reference="k1",
    )
    assert payload["CustomerId"] == CUSTOMER_ID
    assert payload["Rows"][0]["ArticleId"] == ARTICLE_ID
    assert "TotalAmount" not in payload
    assert "LineNumber" not in payload["Rows"][0]
    assert payload["YourReference"] == "k1"
    assert (field, value) == ("YourReference", "k1")
    assert payload["EuThirdParty"] is False
    assert payload["RotReducedInvoicingType"] == 0
    mapping.validate_payload("CustomerInvoiceApi", payload)


def test_invoice_keeps_its_own_reference_and_looks_up_by_it() -> None:
    payload, _, value = mapping.map_invoice(
        "CustomerInvoiceApi",
        invoice(YourReference="PO-7"),
        resolver,
        draft=False,
        reference_field="YourReference",
        reference="k1",
    )
    assert payload["YourReference"] == "PO-7"
    assert value == "PO-7"


def test_draft_rows_get_required_defaults() -> None:
    payload, _, _ = mapping.map_invoice(
        "CustomerInvoiceDraftApi", invoice(), resolver, draft=True, reference_field=None, reference=None
    )
    assert payload["Rows"][0]["IsTextRow"] is False
    assert payload["Rows"][0]["ReversedConstructionServicesVatFree"] is False
    mapping.validate_payload("CustomerInvoiceDraftApi", payload)


def test_unknown_customer_is_a_record_error_naming_the_field() -> None:
    with pytest.raises(RecordError) as err:
        mapping.map_invoice(
            "CustomerInvoiceApi",
            invoice(CustomerNumber="nope"),
            resolver,
            draft=False,
            reference_field=None,
            reference=None,
        )
    assert err.value.reason == "reference_not_found"
    assert err.value.field == "CustomerNumber"


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"Rows": []}, "CustomerId", "required field is missing"),
        ({"CustomerId": CUSTOMER_ID, "Rows": [{"UnitPrice": "abc"}]}, "Rows[0].UnitPrice", "has type str"),
        ({"CustomerId": CUSTOMER_ID, "Rows": [], "YourReference": "x" * 10_000}, "YourReference", "10000"),
    ],
)
def test_payload_validation_names_field_and_never_echoes_huge_values(
    payload: dict, field: str, words: str
) -> None:
    full = {"EuThirdParty": False, "RotReducedInvoicingType": 0, **payload}
    with pytest.raises(RecordError) as err:
        mapping.validate_payload("CustomerInvoiceApi", full)
    assert err.value.field == field
    assert words in str(err.value)
    assert len(str(err.value)) < 400


def test_voucher_balance() -> None:
    rows = [{"AccountNumber": 1920, "DebitAmount": 100.1}, {"AccountNumber": 3000, "CreditAmount": 100.1}]
    mapping.check_voucher_balance(rows)
    rows[1]["CreditAmount"] = 90
    with pytest.raises(RecordError, match=r"debit 100\.10, credit 90\.00, difference 10\.10") as err:
        mapping.check_voucher_balance(rows)
    assert err.value.reason == "unbalanced_voucher"


def test_voucher_mapping_resolves_vat_code() -> None:
    record = {
        "VoucherText": "t",
        "VoucherDate": "2024-01-02",
        "Rows": [
            {"AccountNumber": 1920, "DebitAmount": 125, "VatCode": "25"},
            {"AccountNumber": 3000, "CreditAmount": 125},
        ],
    }
    payload = mapping.map_voucher(record, resolver)
    assert payload["Rows"][0]["VatCodeId"] == "vat-25"
    assert "VatCode" not in payload["Rows"][0]


def test_master_update_merges_without_wiping() -> None:
    existing = {"Id": "x", "Name": "Old", "EmailAddress": "a@b.c", "CustomerNumber": "7", "ChangedUtc": "t"}
    merged = mapping.merge_for_put("CustomerApi", existing, {"CustomerNumber": "7", "Name": "New"})
    assert merged["EmailAddress"] == "a@b.c"
    assert merged["Name"] == "New"
    assert "ChangedUtc" not in merged
    assert mapping.differs("CustomerApi", existing, merged)
    assert not mapping.differs("CustomerApi", existing, mapping.merge_for_put("CustomerApi", existing, {}))


YEARS = fiscal.from_api(
    [
        {
            "Id": "fy23",
            "StartDate": "2023-01-01T00:00:00",
            "EndDate": "2023-12-31",
            "IsLockedForAccounting": True,
        },
        {"Id": "fy24", "StartDate": "2024-01-01", "EndDate": "2024-12-31", "IsLockedForAccounting": False},
        {"Id": "fy25", "StartDate": "2025-01-01", "EndDate": "2025-12-31"},
    ]
)


def test_fiscal_year_is_the_documents_own_year() -> None:
    assert fiscal.choose(YEARS, dt.date(2024, 12, 31), "InvoiceDate").id == "fy24"
    assert fiscal.choose(YEARS, dt.date(2025, 1, 1), "InvoiceDate").id == "fy25"


def test_fiscal_year_locked_or_missing_names_date_and_years() -> None:
    with pytest.raises(RecordError, match=r"2023-06-01 .*locked.*2024-01-01\.\.2024-12-31"):
        fiscal.choose(YEARS, dt.date(2023, 6, 1), "InvoiceDate")
    with pytest.raises(RecordError, match=r"PaymentDate 2030-01-01 is outside every fiscal year") as err:
        fiscal.choose(YEARS, dt.date(2030, 1, 1), "PaymentDate")
    assert err.value.field == "PaymentDate"


def test_fiscal_years_fetched_once() -> None:
    calls = []

    def fetch() -> list[dict]:
        calls.append(1)
        return [{"Id": "fy24", "StartDate": "2024-01-01", "EndDate": "2024-12-31"}]

    years = fiscal.FiscalYears(fetch)
    for _ in range(3):
        assert years.for_document({"VoucherDate": "2024-02-02T00:00:00Z"}, "VoucherDate").id == "fy24"
    assert len(calls) == 1


def test_ledger_is_durable_and_brackets_writes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    ledger.begin("customer_invoices", "k", "h1", {"reference": "k"})
    ledger.close()
    reopened = Ledger(path)  # a new process sees the pending intent
    entry = reopened.get("customer_invoices", "k")
    assert entry is not None
    assert entry.status == "pending"
    assert entry.extra == {"reference": "k"}
    reopened.done("customer_invoices", "k", "id-1", "h1")
    assert reopened.key_for_object("customer_invoices", "id-1") == "k"
    reopened.begin("customer_invoices", "k", "h2", {})  # an update keeps the earlier Id
    entry = reopened.get("customer_invoices", "k")
    assert entry is not None
    assert entry.object_id == "id-1"
    assert entry.status == "pending"
    reopened.forget("customer_invoices", "k", previous=None)
    assert reopened.get("customer_invoices", "k") is None


def test_reject_file_and_replay(tmp_path: Path) -> None:
    error = RecordError(
        "api_error",
        "bad",
        field="Rows[0].UnitPrice",
        api={"http_status": 400, "ErrorId": "e-1", "ErrorCode": 2000, "Errors": [{"Field": "x"}]},
    )
    path = tmp_path / "rejects.jsonl"
    rejects = RejectFile(path)
    rejects.write(reject_line("customer_invoices", "k1", {"A": 1}, error, "client-x"))
    rejects.close()
    line = json.loads(path.read_text())
    assert line["ErrorId"] == "e-1"
    assert line["http_status"] == 400
    assert line["client_id"] == "client-x"
    assert line["record"] == {"A": 1}
    assert line["field"] == "Rows[0].UnitPrice"
    messages = [json.loads(m) for m in replay_messages(path)]
    assert [m["type"] for m in messages] == ["SCHEMA", "RECORD"]
    assert messages[1] == {"type": "RECORD", "stream": "customer_invoices", "record": {"A": 1}}


def test_sink_schema_keeps_dates_as_strings() -> None:
    schema = {"properties": {"D": {"type": "string", "format": "date-time"}, "E": {"format": "email"}}}
    assert without_date_formats(schema) == {"properties": {"D": {"type": "string"}, "E": {"format": "email"}}}


def test_sdk_decimals_become_plain_json_numbers() -> None:
    from decimal import Decimal

    record = mapping.clean_record({"A": Decimal("100.0"), "B": [{"C": Decimal("0.1")}], "D": 3})
    assert record == {"A": 100.0, "B": [{"C": 0.1}], "D": 3}
    assert isinstance(record["A"], float)
    assert json.loads(json.dumps(record)) == record


def test_payment_outcome_decided_from_the_remaining_amount() -> None:
    from decimal import Decimal as D

    from target_eaccounting.payments import decide_payment
    from target_eaccounting.record_errors import Undecidable

    assert decide_payment(D("125.00"), D("75.00"), D("50"), "inv") == "inv"  # booked
    assert decide_payment(D("-200"), D("-150"), D("50"), "inv") == "inv"  # supplier invoice: negative
    assert decide_payment(D("125.00"), D("125.00"), D("50"), "inv") is None  # not booked: safe to send again
    with pytest.raises(Undecidable, match="moved by 20"):
        decide_payment(D("125.00"), D("105.00"), D("50"), "inv")  # something else happened: fail closed
