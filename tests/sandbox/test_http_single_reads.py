"""The single-object GETs over HTTP: company settings, exchange rates, offset candidates, the print
endpoints (PDF), the SIE 4 export, the warm-up probe; and no spec GET is left unemulated."""

from __future__ import annotations

import base64
import re
import urllib.request
import uuid
from typing import Any

import pytest
import requests

from eaccounting_api import spec
from eaccounting_sandbox.server import SandboxServer

ALL = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]


class Api:
    def __init__(self, sandbox: SandboxServer, company: str) -> None:
        self.base = sandbox.api_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + sandbox.mint_tokens(company, ALL)["access_token"]

    def call(self, method: str, path: str, json: Any = None, **params: str) -> requests.Response:
        return self.session.request(method, self.base + path, json=json, params=params, timeout=30)

    def get(self, path: str, **params: str) -> Any:
        response = self.call("GET", path, **params)
        assert response.status_code == 200, (path, response.text)
        return response.json()


@pytest.fixture(scope="module")
def api(sandbox: SandboxServer) -> Api:
    return Api(sandbox, "demo-no")


@pytest.fixture
def own(sandbox: SandboxServer) -> Api:
    """A company of its own, for reads whose answer a write changes."""
    company = f"reads-{uuid.uuid4().hex[:8]}"
    sandbox.admin("POST", "companies", {"company": company, "seed": 4, "country": "SE", "scale": 0.1})
    return Api(sandbox, company)


def assert_valid_pdf(content: bytes, title: str) -> None:
    """Header, trailer, and a cross-reference table whose every offset points at its object."""
    assert content.startswith(b"%PDF-1.4\n")
    assert content.endswith(b"%%EOF\n")
    start = int(content.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = content[start:].split(b"\n")
    assert table[0] == b"xref"
    count = int(table[1].split()[1])
    assert count >= 6
    for number in range(1, count):
        entry = table[2 + number]
        assert len(entry) == 19, entry  # 20 bytes with the newline
        assert content[int(entry[:10]) :].startswith(b"%d 0 obj\n" % number)
    length = int(re.search(rb"/Length (\d+) >>\nstream\n", content)[1])  # type: ignore[index]
    stream = content.split(b">>\nstream\n", 1)[1]
    assert stream[length:].startswith(b"\nendstream")
    assert b"/Title (" + title.encode("cp1252") + b")" in content


def test_no_spec_get_answers_not_emulated(api: Api) -> None:
    checked = 0
    for path, item in spec.load()["paths"].items():
        if "get" not in item:
            continue
        response = api.call("GET", re.sub(r"{[^}]+}", str(uuid.uuid4()), path))
        assert response.status_code != 500, (path, response.text)
        assert "not emulated" not in response.text, path
        checked += 1
    assert checked > 100


def test_print_endpoints_answer_a_pdf_naming_the_document(api: Api) -> None:
    invoice = api.get("/customerinvoices", **{"$filter": "IsCreditInvoice eq false"})["Data"][0]
    order = api.get("/orders")["Data"][0]
    quote = api.get("/quotes")["Data"][0]
    expected = {
        f"/customerinvoices/{invoice['Id']}/print": (f"Faktura {invoice['InvoiceNumber']}", "invoice"),
        f"/orders/{order['Id']}/print": (f"Ordre {order['Number']}", "order"),
        f"/orders/{order['Id']}/deliverynote/print": (f"Følgeseddel {order['Number']}", "deliverynote"),
        f"/quotes/{quote['Id']}/print": (f"Tilbud {quote['Number']}", "quote"),
    }
    for path, (title, stem) in expected.items():
        response = api.call("GET", path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "application/pdf"
        assert stem in response.headers["content-disposition"]
        assert_valid_pdf(response.content, title)
    total = f"{invoice['TotalAmountInvoiceCurrency']:,.2f}".encode()
    assert total in api.call("GET", f"/customerinvoices/{invoice['Id']}/print").content
    delivery = api.call("GET", f"/orders/{order['Id']}/deliverynote/print").content
    assert b"Total" not in delivery  # a delivery note carries no prices
    missing = api.call("GET", f"/orders/{uuid.uuid4()}/print")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


def test_invoice_pdf_link_holds_the_printed_pdf(api: Api) -> None:
    invoice = api.get("/customerinvoices")["Data"][0]
    url = api.get(f"/customerinvoices/{invoice['Id']}/pdf")["Url"]
    prefix = "data:application/pdf;base64,"
    assert url.startswith(prefix)
    printed = api.call("GET", f"/customerinvoices/{invoice['Id']}/print").content
    assert base64.b64decode(url.removeprefix(prefix)) == printed


def test_company_settings_are_the_demo_companys_and_count_up(own: Api) -> None:
    settings = own.get("/companysettings")
    assert settings["Name"] == "Reads AB"
    assert (settings["CountryCode"], settings["CurrencyCode"]) == ("SE", "SEK")
    assert re.fullmatch(r"556\d{3}-\d{4}", settings["CorporateIdentityNumber"])
    assert settings["TermsOfPaymentId"] in {t["Id"] for t in own.get("/termsofpayments")["Data"]}
    assert settings["AccountingLockedTo"] == own.get("/fiscalyears")["Data"][0]["EndDate"]
    customers = own.get("/customers", **{"$pagesize": "1000"})["Data"]
    assert settings["NextCustomerNumber"] == max(int(c["CustomerNumber"]) for c in customers) + 1
    invoices = own.get("/customerinvoices", **{"$pagesize": "1"})["Meta"]["TotalNumberOfResults"]
    assert settings["NextCustomerInvoiceNumber"] == invoices + 1
    article = own.get("/articles")["Data"][0]["Id"]
    body = {
        "CustomerId": customers[0]["Id"],
        "Rows": [{"ArticleId": article, "Quantity": 1, "UnitPrice": 5.0}],
    }
    created = own.call("POST", "/customerinvoices", body)
    assert created.status_code == 201, created.text
    assert created.json()["InvoiceNumber"] == settings["NextCustomerInvoiceNumber"]
    assert own.get("/companysettings")["NextCustomerInvoiceNumber"] == invoices + 2


def test_exchange_rates_follow_the_companys_rates(api: Api) -> None:
    rate = api.get(
        "/currencies/exchangerate", sourceCurrencyCode="EUR", targetCurrencyCode="NOK", date="2025-03-04"
    )
    assert rate == {
        "Date": "2025-03-04T00:00:00Z",
        "SourceCurrency": "EUR",
        "TargetCurrency": "NOK",
        "Rate": 11.5,
    }
    back = api.get("/currencies/exchangerate", sourceCurrencyCode="nok", targetCurrencyCode="eur")
    assert back["Rate"] == round(1 / 11.5, 6)
    assert back["SourceCurrency"] == "NOK"
    # The rate foreign invoices were booked at.
    foreign = api.get("/customerinvoices", **{"$filter": "CurrencyCode eq 'SEK'"})["Data"][0]
    sek = api.get("/currencies/exchangerate", sourceCurrencyCode="SEK", targetCurrencyCode="NOK")["Rate"]
    assert sek == foreign["CurrencyRate"]
    cross = api.get("/currencies/exchangerate", sourceCurrencyCode="DKK", targetCurrencyCode="USD")["Rate"]
    assert cross == pytest.approx(1.08 / 7.46, rel=1e-4)
    for query in (
        {"sourceCurrencyCode": "EUR"},
        {"sourceCurrencyCode": "EUR", "targetCurrencyCode": "XXX"},
        {"sourceCurrencyCode": "EUR", "targetCurrencyCode": "NOK", "date": "not-a-date"},
    ):
        assert api.call("GET", "/currencies/exchangerate", **query).status_code == 400, query


def test_offset_candidates_are_the_suppliers_open_debit_invoices(api: Api) -> None:
    invoices = api.get("/supplierinvoices", **{"$pagesize": "1000"})["Data"]
    credit = next(
        c
        for c in invoices
        if c["IsCreditInvoice"]
        and any(
            i["SupplierId"] == c["SupplierId"] and i["RemainingAmount"] and not i["IsCreditInvoice"]
            for i in invoices
        )
    )
    expected = {
        i["Id"]
        for i in invoices
        if i["SupplierId"] == credit["SupplierId"] and not i["IsCreditInvoice"] and i["RemainingAmount"]
    }
    candidates = api.get(f"/supplierinvoices/{credit['Id']}/offsetcandidates")
    assert {c["InvoiceId"] for c in candidates} == expected
    by_id = {i["Id"]: i for i in invoices}
    for candidate in candidates:
        invoice = by_id[candidate["InvoiceId"]]
        assert candidate["InvoiceNumber"] == invoice["InvoiceNumber"]
        assert candidate["RemainingAmount"] == invoice["RemainingAmountInvoiceCurrency"]
        assert candidate["SupplierName"] == credit["SupplierName"]
    debit = next(i for i in invoices if not i["IsCreditInvoice"])
    assert api.call("GET", f"/supplierinvoices/{debit['Id']}/offsetcandidates").status_code == 400
    assert api.call("GET", f"/supplierinvoices/{uuid.uuid4()}/offsetcandidates").status_code == 404


def _sie(document: dict[str, Any]) -> str:
    assert document["TemporaryUrl"].startswith("data:text/plain;charset=IBM437;base64,")
    with urllib.request.urlopen(document["TemporaryUrl"]) as fetched:  # noqa: S310 - a data: URL
        raw = fetched.read()
    assert len(raw) == document["Size"]
    return str(raw.decode("cp437"))


def _amounts(text: str, tag: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(rf"^#{tag} 0 (\d+) (-?\d+\.\d\d)\r$", text, re.M)}


def test_sie4_export_of_a_whole_fiscal_year(api: Api) -> None:
    year = api.get("/fiscalyears")["Data"][1]
    start, end = year["StartDate"][:10], year["EndDate"][:10]
    document = api.get(f"/sie4export/{start}/{end}")
    assert document["Name"].endswith(".se")
    text = _sie(document)
    assert text.startswith("#FLAGGA 0\r\n")
    for line in ("#FORMAT PC8", "#SIETYP 4", '#FNAMN "Demo AS"', "#VALUTA NOK", "#KTYP 1920 T"):
        assert f"\r\n{line}\r\n" in text, line
    assert f"#RAR 0 {start.replace('-', '')} {end.replace('-', '')}" in text
    assert "#RAR -1 " in text
    assert '#KONTO 1460 "Innkjöpte varer for videresalg"' in text  # ø has no code point in CP437
    opening, closing, result = _amounts(text, "IB"), _amounts(text, "UB"), _amounts(text, "RES")
    assert opening
    assert result
    assert sum(opening.values()) == pytest.approx(0, abs=0.01)
    assert sum(closing.values()) + sum(result.values()) == pytest.approx(0, abs=0.01)
    kinds = dict(re.findall(r"^#KTYP (\d+) ([TSIK])\r$", text, re.M))
    assert {kinds[n] for n in [*opening, *closing]} <= {"T", "S"}  # results restart each year
    assert {kinds[n] for n in result} <= {"I", "K"}
    balances = {str(b["AccountNumber"]): b["Balance"] for b in api.get(f"/accountbalances/{end}")["Data"]}
    for number, amount in [*closing.items(), *result.items()]:
        assert balances[number] == pytest.approx(amount, abs=0.01), number
    vouchers = api.get(f"/vouchers/{year['Id']}", **{"$pagesize": "1"})["Meta"]["TotalNumberOfResults"]
    assert text.count("\r\n#VER ") == vouchers
    for block in text.split("#VER ")[1:]:
        amounts = [float(m) for m in re.findall(r"#TRANS \d+ \{\} (-?\d+\.\d\d)", block)]
        assert amounts
        assert sum(amounts) == pytest.approx(0, abs=0.01)


def test_sie4_export_of_part_of_a_year_and_bad_ranges(api: Api) -> None:
    year = api.get("/fiscalyears")["Data"][1]
    first = year["StartDate"][:4]
    text = _sie(api.get(f"/sie4export/{first}-03-01/{first}-03-31"))
    for tag in ("#RAR", "#IB", "#UB", "#RES"):
        assert f"\r\n{tag} " not in text, tag
    assert "#KONTO " in text
    dates = re.findall(r"^#VER \"\w+\" \"\d+\" (\d{8}) ", text, re.M)
    assert dates
    assert all(f"{first}0301" <= d <= f"{first}0331" for d in dates)
    across = api.call("GET", f"/sie4export/{first}-12-01/{int(first) + 1}-01-31")
    assert across.status_code == 400
    assert "same fiscal year" in across.json()["DeveloperErrorMessage"]
    assert api.call("GET", f"/sie4export/{first}-03-31/{first}-03-01").status_code == 400
    assert api.call("GET", "/sie4export/soon/later").status_code == 400
    assert api.call("GET", "/sie4export/1990-01-01/1990-12-31").status_code == 400


def test_warmup_answers_200_without_a_body(api: Api) -> None:
    [path] = [
        p for p, item in spec.load()["paths"].items() if "Warmup" in item.get("get", {}).get("tags", [])
    ]
    response = api.call("GET", path)
    assert (response.status_code, response.content) == (200, b"")
