"""The demo company (in-process): spec validity, determinism, ledger shape, API quirks (docs/API_FACTS.md)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from eaccounting_api import spec
from eaccounting_sandbox import reads
from eaccounting_sandbox.churn import churn
from eaccounting_sandbox.demo import generate_company
from eaccounting_sandbox.demo_country import PROFILES
from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.store import Company

TODAY = date(2026, 6, 15)
CHILD_SCHEMAS = {
    "banktransactions": "BankTransactionApi",
    "autoinvoicerecipients": "AutoInvoiceAddressApi",
    "voucherwithoverunderpayment": "LedgerVoucherRelationApi",
}


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company("demo-no", 1, today=TODAY)


@pytest.mark.parametrize("country", sorted(PROFILES))
def test_every_generated_object_validates_against_its_spec_schema(country: str) -> None:
    company = generate_company(f"demo-{country.lower()}", 3, country=country, today=TODAY)
    failures = []
    for name, coll in company.collections.items():
        validator = spec.validator(coll.schema)
        failures += [(name, e.json_path, e.message) for r in coll.items for e in validator.iter_errors(r)]
    for name, parents in company.children.items():
        validator = spec.validator(CHILD_SCHEMAS[name])
        for records in parents.values():
            failures += [(name, e.json_path, e.message) for r in records for e in validator.iter_errors(r)]
    for payments in company.payments.values():
        failures += [
            ("payment", e.json_path, e.message)
            for p in payments
            for e in spec.validator("InvoicePaymentApi").iter_errors(p)
        ]
    assert failures == []


def test_every_list_endpoint_has_data_and_items_validate(company: Company) -> None:
    counts = reads.counts(company)
    assert set(counts) == {e.path for e in spec.list_endpoints()}
    assert len(counts) == 58
    empty = [path for path, n in counts.items() if n == 0]
    assert empty == []
    for endpoint in spec.list_endpoints():
        validator = spec.validator(endpoint.item_schema)
        for params in reads.parent_params(company, endpoint.path):
            query = {"fromDate": "2000-01-01", "toDate": "2100-01-01"} if "bankAccountId" in params else {}
            for record in reads.list_records(company, endpoint.path, params, query)[:50]:
                assert not list(validator.iter_errors(record)), (endpoint.path, record)


def test_generation_is_deterministic_and_tenants_differ() -> None:
    first = generate_company("demo-no", 5, today=TODAY)
    again = generate_company("demo-no", 5, today=TODAY)
    other = generate_company("acme", 5, today=TODAY)
    for name in ("customerinvoices", "customers", "vouchers", "supplierinvoices", "accounts"):
        assert first.collection(name).items == again.collection(name).items, name
    assert first.collection("customers").items[0]["Id"] != other.collection("customers").items[0]["Id"]


def test_three_fiscal_years_oldest_locked_and_chart_per_year(company: Company) -> None:
    years = company.fiscal_years()
    assert [y["StartDate"][:10] for y in years] == ["2024-01-01", "2025-01-01", "2026-01-01"]
    assert [y["IsLockedForAccounting"] for y in years] == [True, False, False]
    for year in years:
        accounts = reads.list_records(company, "/accounts/{fiscalyearId}", {"fiscalyearId": year["Id"]}, {})
        assert {"1500", "1920", "2400", "2700", "3000"} <= {a["Number"] for a in accounts}
    assert len(reads.list_records(company, "/accounts", {}, {})) == 3 * len(accounts)


@pytest.mark.parametrize(
    ("country", "currency", "rates", "bank"),
    [
        ("NO", "NOK", {0.25, 0.15, 0.12, 0.0}, "1920"),
        ("SE", "SEK", {0.25, 0.12, 0.06, 0.0}, "1930"),
        ("NL", "EUR", {0.21, 0.09, 0.0}, "1100"),
    ],
)
def test_country_resolves_currency_vat_rates_and_chart(
    country: str, currency: str, rates: set[float], bank: str
) -> None:
    company = generate_company("c", 1, country=country, today=TODAY)
    assert {v["VatRate"] for v in reads.list_records(company, "/vatcodes", {}, {})} == rates
    assert {a["Number"] for a in company.collection("accounts").items} >= {bank}
    invoice = company.collection("customerinvoices").items[0]
    assert invoice["CurrencyCode"] == currency


def test_observed_date_and_amount_quirks(company: Company) -> None:
    invoices = company.collection("customerinvoices").items
    assert all(len(i["DueDate"]) == 10 for i in invoices)  # date-only DueDate
    paid = [i for i in invoices if i["PaymentDate"]]
    assert paid
    assert all(i["PaymentDate"].endswith("T00:00:00Z") for i in paid)
    supplier = company.collection("supplierinvoices").items
    assert all(len(s["DueDate"]) == 10 for s in supplier)
    assert all(len(s["PaymentDate"]) == 10 for s in supplier if s["PaymentDate"])  # date-only on supplier
    assert all(s["RemainingAmount"] < 0 for s in supplier if s["PaymentStatus"] != 6)  # 6 = Paid
    credit = [i for i in invoices if i["IsCreditInvoice"] and i["RemainingAmount"]]
    assert credit
    assert all(i["RemainingAmount"] < 0 for i in credit)
    assert all(len(i["ModifiedUtc"]) == 28 for i in invoices)  # 7 fractional digits


def test_invoices_have_rows_totals_numbers_and_vouchers(company: Company) -> None:
    invoices = company.collection("customerinvoices").items
    assert [i["InvoiceNumber"] for i in invoices] == list(range(1, len(invoices) + 1))
    vouchers = company.collection("vouchers")
    for invoice in invoices[:50]:
        assert invoice["Rows"]
        net = round(sum(r["AmountNoVat"] for r in invoice["Rows"]), 2)
        total = invoice["TotalAmountInvoiceCurrency"]
        assert total == pytest.approx(net + invoice["TotalVatAmountInvoiceCurrency"], abs=0.01)
        assert invoice["TotalAmount"] == pytest.approx(total * invoice["CurrencyRate"], abs=0.01)
        assert vouchers.get(invoice["VoucherId"]) is not None
    for voucher in vouchers.items:
        debit = sum(r["DebitAmount"] for r in voucher["Rows"])
        assert debit == pytest.approx(sum(r["CreditAmount"] for r in voucher["Rows"]), abs=0.001)


def test_account_balances_sum_to_zero_and_follow_vouchers(company: Company) -> None:
    balances = reads.list_records(company, "/accountbalances/{date}", {"date": "2026-06-15"}, {})
    assert sum(b["Balance"] for b in balances) == pytest.approx(0.0, abs=0.01)
    receivables = next(b for b in balances if b["AccountNumber"] == 1500)
    assert receivables["AccountName"] == "Kundefordringer"
    with pytest.raises(ApiError) as outside:
        reads.list_records(company, "/accountbalances/{date}", {"date": "1999-01-01"}, {})
    assert outside.value.error_code == 3001


def test_parametrized_endpoints_filter_by_parent(company: Company) -> None:
    years = company.fiscal_years()
    per_year = [
        len(reads.list_records(company, "/vouchers/{fiscalyearId}", {"fiscalyearId": y["Id"]}, {}))
        for y in years
    ]
    assert sum(per_year) == len(reads.list_records(company, "/vouchers", {}, {}))
    assert all(per_year)
    account = company.collection("bankaccounts").items[0]["Id"]
    wide = {"fromDate": "2024-01-01", "toDate": "2026-12-31"}
    matched = reads.list_records(
        company, "/banktransactions/{bankAccountId}/matched", {"bankAccountId": account}, wide
    )
    unmatched = reads.list_records(
        company, "/banktransactions/{bankAccountId}/unmatched", {"bankAccountId": account}, wide
    )
    assert matched
    assert unmatched
    assert all(t["IsReconciled"] for t in matched)
    assert not any(t["IsReconciled"] for t in unmatched)
    narrow = reads.list_records(
        company,
        "/banktransactions/{bankAccountId}/matched",
        {"bankAccountId": account},
        {"fromDate": "2024-03-01", "toDate": "2024-03-31"},
    )
    assert narrow
    assert all(t["TransactionDate"].startswith("2024-03") for t in narrow)
    with pytest.raises(ApiError) as bad_date:
        reads.list_records(
            company,
            "/banktransactions/{bankAccountId}/matched",
            {"bankAccountId": account},
            {"fromDate": "yesterday"},
        )
    assert (bad_date.value.status, bad_date.value.error_code) == (400, 6001)
    with pytest.raises(ApiError) as unknown:
        reads.list_records(
            company, "/vouchers/{fiscalyearId}", {"fiscalyearId": "00000000-0000-0000-0000-000000000000"}, {}
        )
    assert unknown.value.status == 404
    price_list = company.collection("salespricelists").items[1]["Id"]
    prices = reads.list_records(
        company, "/salespricelists/prices/{salesPriceListId}", {"salesPriceListId": price_list}, {}
    )
    assert prices
    assert all(p["SalesPriceListId"] == price_list for p in prices)
    for path in ("/customers/{customerId}/autoinvoicerecipients", "/voucherwithoverunderpayment/{voucherId}"):
        params = reads.parent_params(company, path)
        assert params
        assert all(reads.list_records(company, path, p, {}) for p in params)


def test_modified_since_utc_is_inclusive_and_compares_instants(company: Company) -> None:
    invoices = company.collection("customerinvoices").items
    pivot = sorted(i["ModifiedUtc"] for i in invoices)[len(invoices) // 2]
    since = reads.list_records(company, "/customerinvoices", {}, {"modifiedSinceUtc": pivot})
    assert {i["Id"] for i in since} == {i["Id"] for i in invoices if i["ModifiedUtc"] >= pivot}
    by_date = reads.list_records(company, "/customerinvoices", {}, {"modifiedSinceUtc": "2026-01-01"})
    assert by_date
    assert all(i["ModifiedUtc"] >= "2026-01-01" for i in by_date)
    with pytest.raises(ApiError) as bad:
        reads.list_records(company, "/customerinvoices", {}, {"modifiedSinceUtc": "last tuesday"})
    assert bad.value.error_code == 6001


def test_list_records_returns_the_stored_list_without_copying(company: Company) -> None:
    stored = company.collection("customerinvoices").items
    assert reads.list_records(company, "/customerinvoices", {}, {}) is stored


def test_get_record_by_id_and_404(company: Company) -> None:
    invoice = company.collection("customerinvoices").items[3]
    assert reads.get_record(company, "/customerinvoices/{invoiceId}", {"invoiceId": invoice["Id"]}) is invoice
    year = company.fiscal_years()[1]
    account = reads.get_record(
        company,
        "/accounts/{fiscalyearId}/{accountNumber}",
        {"fiscalyearId": year["Id"], "accountNumber": "1920"},
    )
    assert account["Name"] == "Bankinnskudd"
    assert reads.get_record(company, "/countries/{countrycode}", {"countrycode": "se"})["Code"] == "SE"
    with pytest.raises(ApiError) as missing:
        reads.get_record(
            company, "/customers/{customerId}", {"customerId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
        )
    assert missing.value.status == 404


def test_scale_multiplies_the_big_resources() -> None:
    small = generate_company("s", 1, scale=0.1, today=TODAY)
    big = generate_company("s", 1, scale=4, today=TODAY)
    assert len(small.collection("customerinvoices").items) == 50
    assert len(big.collection("customerinvoices").items) == 2000
    assert len(big.collection("supplierinvoices").items) == 4 * 150
    assert len(big.collection("termsofpayments").items) == len(small.collection("termsofpayments").items)


def test_churn_touches_records_with_fresh_timestamps() -> None:
    company = generate_company("churn", 1, today=TODAY)
    before_version = company.version
    latest = max(i["ModifiedUtc"] for i in company.collection("customerinvoices").items)
    result = churn(company, creates=4, updates=4, deletes=2, collections=["customerinvoices"])
    changed = result["customerinvoices"]
    assert len(changed["created"]) == 4
    assert len(changed["updated"]) == 4
    assert len(changed["deleted"]) == 2
    assert company.version > before_version
    coll = company.collection("customerinvoices")
    for record_id in changed["created"] + changed["updated"]:
        record = coll.get(record_id)
        if record is not None:  # a later delete may have removed it
            assert record["ModifiedUtc"] > latest
    for record_id in changed["deleted"]:
        assert coll.get(record_id) is None
    numbers = [i["InvoiceNumber"] for i in coll.items]
    assert len(numbers) == len(set(numbers))
    row_ids = [r["Id"] for i in coll.items for r in i["Rows"]]
    assert len(row_ids) == len(set(row_ids))
    everywhere = churn(company, creates=20, updates=20, deletes=5)
    for name, changed in everywhere.items():
        stored = company.collection(name)
        validator = spec.validator(stored.schema)
        for record_id in changed["created"] + changed["updated"]:
            record = stored.get(record_id)
            if record is not None:
                assert not list(validator.iter_errors(record)), (name, record_id)


def test_no_generated_stamp_is_later_than_the_first_write(company: Company) -> None:
    """An incremental sync bookmarks the newest ModifiedUtc it saw; later writes must sort after it."""
    newest = max(
        r[name] or ""
        for coll in company.collections.values()
        for r in coll.items
        for name in ("ModifiedUtc", "ChangedUtc", "CreatedUtc")
        if name in r
    )
    assert company.clock.stamp() > newest


@pytest.mark.parametrize(
    ("country", "org", "vat"),
    [
        ("NO", r"9\d{8}", r"NO\d{9}MVA"),
        ("SE", r"556\d{3}-\d{4}", r"SE\d{10}01"),
        ("NL", r"\d{8}", r"NL\d{9}B01"),
    ],
)
def test_company_settings_have_the_countrys_identifiers(country: str, org: str, vat: str) -> None:
    company = generate_company(f"acme-{country.lower()}", 2, country=country, today=TODAY)
    [settings] = company.collection("companysettings").items
    assert settings["Name"] == f"Acme {PROFILES[country].company_suffix}"
    assert re.fullmatch(org, settings["CorporateIdentityNumber"])
    assert re.fullmatch(vat, settings["VatCode"])
    iban = settings["Iban"]
    assert iban.startswith(country)
    rearranged = iban[4:] + iban[:4]
    assert int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1  # ISO 13616 check digits
    assert settings["AccountingLockedTo"] == company.fiscal_years()[0]["EndDate"]
    assert company.fiscal_years()[0]["IsLockedForAccounting"]
