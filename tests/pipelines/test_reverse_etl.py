"""`meltano run tap-postgres target-eaccounting` (the reverse-etl job): ERP export tables -> eAccounting.

The source is a Postgres schema `erp` in the shape a billing system exports (snake_case columns, its own
ids); the stream maps in meltano.yml turn it into the target's PascalCase records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import (
    ALL_SCOPES,
    PIPELINES,
    MeltanoProject,
    RunResult,
    isolated_env,
)
from postgres_support import Postgres, execute

from eaccounting_sandbox.server import SandboxServer

pytestmark = PIPELINES

COMPANY = "demo-no"
ERP_DDL = """
create schema erp;
create table erp.customers (
    customer_number text primary key,
    name text not null,
    address text,
    postal_code text not null,
    city text not null,
    country_code text not null,
    email text,
    is_private_person boolean not null default false,
    active boolean not null default true
);
create table erp.customer_invoices (
    external_invoice_id text primary key,
    customer_number text not null references erp.customers,
    invoice_date date not null,
    due_date date not null,
    rows jsonb not null  -- the export query builds the lines in the API's row shape
);
create table erp.customer_invoice_payments (
    external_payment_id text primary key,
    external_invoice_id text not null references erp.customer_invoices,
    payment_date date not null,
    amount numeric(12, 2) not null,
    payment_type integer not null
);
"""
CUSTOMERS = [
    ("ERP-1001", "Fjordlys Catering AS", "Bryggen 4", "5003", "Bergen", "NO", "post@fjordlys.example", False),
    ("ERP-1002", "Kari Nordmann", "Storgata 9", "0155", "Oslo", "NO", "kari@example.org", True),
    ("ERP-1003", "Polar Verktøy AS", "Havnegata 1", "9008", "Tromsø", "NO", None, False),
]


@dataclass
class ReverseEtl:
    first: RunResult
    second: RunResult
    before: dict[str, list[dict[str, Any]]]
    after_first: dict[str, list[dict[str, Any]]]
    after_second: dict[str, list[dict[str, Any]]]
    rejects_first: list[dict[str, Any]]
    writes_second: int
    good_invoices: dict[str, dict[str, Any]]
    bad_invoice: str
    payments: dict[str, tuple[str, float]]


def _objects(sandbox: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sandbox.admin("GET", "objects", params={"company": COMPANY, "collection": name})
        for name in ("customers", "customerinvoices", "payments", "fiscalyears")
    }


def _rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _writes(stats: dict[str, Any]) -> int:
    return sum(
        sum(v.values())
        for k, v in stats["endpoints"].items()
        if k.split()[0] in {"POST", "PUT", "DELETE"} and " /v2/" in k
    )


@pytest.fixture(scope="module")
def reverse_etl(
    meltano_project: MeltanoProject,
    module_sandbox: SandboxServer,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> ReverseEtl:
    tmp = tmp_path_factory.mktemp("reverse-etl")
    sandbox = module_sandbox
    before = _objects(sandbox)
    years = sorted(int(str(y["StartDate"])[:4]) for y in before["fiscalyears"])
    locked, open_year = years[0], years[1]  # the sandbox's oldest year is locked for accounting
    article = next(
        a
        for a in sandbox.admin("GET", "objects", params={"company": COMPANY, "collection": "articles"})
        if a.get("IsActive", True)
    )
    terms = sandbox.admin("GET", "objects", params={"company": COMPANY, "collection": "termsofpayments"})[0]

    def rows(*lines: tuple[float, float, str]) -> str:
        return json.dumps(
            [
                {"ArticleNumber": article["Number"], "Quantity": q, "UnitPrice": p, "Text": text}
                for q, p, text in lines
            ]
        )

    good = {
        "INV-2001": (
            "ERP-1001",
            dt.date(open_year, 3, 14),
            [(2, 450.0, "Lunsj 12 pers"), (1, 120.0, "Levering")],
        ),
        "INV-2002": ("ERP-1002", dt.date(open_year, 5, 2), [(1, 990.0, "Selskapsmat")]),
        "INV-2003": ("ERP-1001", dt.date(open_year, 9, 30), [(3, 75.5, "Kaffe")]),
    }
    bad = "INV-1999"  # dated in the locked fiscal year: rejected before any request
    payments = {"PAY-3001": ("INV-2001", 500.0), "PAY-3002": ("INV-2002", 990.0)}

    with postgres.database() as url:
        execute(url, ERP_DDL)
        for c in CUSTOMERS:
            execute(url, "insert into erp.customers values (%s, %s, %s, %s, %s, %s, %s, %s, true)", c)
        for ext, (customer, date, lines) in {
            **good,
            bad: ("ERP-1003", dt.date(locked, 6, 1), [(1, 300.0, "For sent")]),
        }.items():
            execute(
                url,
                "insert into erp.customer_invoices values (%s, %s, %s, %s, %s::jsonb)",
                [ext, customer, date, date + dt.timedelta(days=14), rows(*lines)],
            )
        for ext, (invoice, amount) in payments.items():
            date = good[invoice][1] + dt.timedelta(days=10)
            execute(
                url,
                "insert into erp.customer_invoice_payments values (%s, %s, %s, %s, 1)",
                [ext, invoice, date, amount],
            )

        grant = sandbox.mint_tokens(COMPANY, ALL_SCOPES)
        reject_path = tmp / "rejects.jsonl"
        env = {
            **isolated_env(tmp),
            "TAP_POSTGRES_SQLALCHEMY_URL": url,
            "TAP_POSTGRES_STREAM_MAP_CONFIG": json.dumps({"terms_of_payment_id": terms["Id"]}),
            "TARGET_EACCOUNTING_API_URL": sandbox.api_url,
            "TARGET_EACCOUNTING_IDENTITY_URL": sandbox.identity_url,
            "TARGET_EACCOUNTING_CLIENT_ID": "sandbox-client",
            "TARGET_EACCOUNTING_CLIENT_SECRET": "sandbox-secret",
            "TARGET_EACCOUNTING_REFRESH_TOKEN": grant["refresh_token"],
            "TARGET_EACCOUNTING_TOKEN_STORE_PATH": str(tmp / "tokens.json"),
            "TARGET_EACCOUNTING_LEDGER_PATH": str(tmp / "ledger.sqlite"),
            "TARGET_EACCOUNTING_REJECT_PATH": str(reject_path),
            # One bad row is expected; more would fail the run (exit code 3).
            "TARGET_EACCOUNTING_MAX_FAILED_RECORDS": "1",
        }
        first = meltano_project.run("run", "reverse-etl", env=env)
        rejects_first = _rejects(reject_path)
        after_first = _objects(sandbox)
        sandbox.admin("DELETE", "stats")
        second = meltano_project.run("run", "reverse-etl", env=env)
        writes_second = _writes(sandbox.admin("GET", "stats"))
        after_second = _objects(sandbox)
    return ReverseEtl(
        first,
        second,
        before,
        after_first,
        after_second,
        rejects_first,
        writes_second,
        {ext: {"customer": c, "date": d, "lines": lines} for ext, (c, d, lines) in good.items()},
        bad,
        payments,
    )


def _new(etl: ReverseEtl, collection: str, after: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    old = {o["Id"] for o in etl.before[collection]}
    return [o for o in after[collection] if o["Id"] not in old]


def _summary(run: RunResult) -> dict[str, int]:
    found = re.findall(
        r"target-eaccounting summary: created=(\d+) updated=(\d+) skipped=(\d+) rejected=(\d+)", run.output
    )
    assert found, "no summary line from target-eaccounting"
    return dict(zip(("created", "updated", "skipped", "rejected"), map(int, found[-1]), strict=True))


def check_the_sandbox_holds_exactly_the_erp_customers(reverse_etl: ReverseEtl) -> None:
    new = {c["CustomerNumber"]: c for c in _new(reverse_etl, "customers", reverse_etl.after_first)}
    assert set(new) == {c[0] for c in CUSTOMERS}
    for number, name, address, postal, city, country, email, private in CUSTOMERS:
        got = new[number]
        assert (got["Name"], got["InvoiceAddress1"], got["InvoicePostalCode"], got["InvoiceCity"]) == (
            name,
            address,
            postal,
            city,
        )
        assert got["InvoiceCountryCode"] == country
        assert got.get("EmailAddress") == email
        assert got["IsPrivatePerson"] is private


def check_the_sandbox_holds_exactly_the_good_invoices_and_payments(reverse_etl: ReverseEtl) -> None:
    customers = {c["Id"]: c["CustomerNumber"] for c in reverse_etl.after_first["customers"]}
    new = {i["YourReference"]: i for i in _new(reverse_etl, "customerinvoices", reverse_etl.after_first)}
    assert set(new) == set(reverse_etl.good_invoices)
    for ext, want in reverse_etl.good_invoices.items():
        got = new[ext]
        assert customers[got["CustomerId"]] == want["customer"]
        assert str(got["InvoiceDate"])[:10] == want["date"].isoformat()
        assert [(r["Quantity"], r["UnitPrice"], r["Text"]) for r in got["Rows"]] == [
            (q, p, t) for q, p, t in want["lines"]
        ]
    paid = {}
    for ext, (invoice, amount) in reverse_etl.payments.items():
        refreshed = next(
            i for i in reverse_etl.after_first["customerinvoices"] if i["Id"] == new[invoice]["Id"]
        )
        paid[ext] = float(refreshed["TotalAmount"]) - float(refreshed["RemainingAmount"])
        assert paid[ext] == pytest.approx(amount), ext
    added = len(reverse_etl.after_first["payments"]) - len(reverse_etl.before["payments"])
    assert added == len(reverse_etl.payments)
    references = [p.get("Reference") for p in reverse_etl.after_first["payments"]]
    assert all(references.count(ext) == 1 for ext in reverse_etl.payments), references[-5:]


def check_the_bad_row_is_rejected_with_a_clear_error_and_the_rest_lands(reverse_etl: ReverseEtl) -> None:
    assert [r["external_key"] for r in reverse_etl.rejects_first] == [reverse_etl.bad_invoice]
    reject = reverse_etl.rejects_first[0]
    assert reject["stream"] == "customer_invoices"
    assert reject["reason"] == "fiscal_year"
    assert "locked" in reject["message"]
    assert "-06-01" in reject["message"]
    assert reject["record"]["CustomerNumber"] == "ERP-1003"
    assert _summary(reverse_etl.first) == {"created": 8, "updated": 0, "skipped": 0, "rejected": 1}


def check_a_second_identical_run_creates_nothing(reverse_etl: ReverseEtl) -> None:
    for collection in ("customers", "customerinvoices", "payments"):
        assert len(reverse_etl.after_second[collection]) == len(reverse_etl.after_first[collection]), (
            collection
        )
    assert reverse_etl.writes_second == 0
    summary = _summary(reverse_etl.second)
    assert summary["created"] == summary["updated"] == 0
    assert summary["skipped"] == 8


def test_reverse_etl_from_erp_tables(reverse_etl: ReverseEtl) -> None:
    # One scenario, one test: pytest-xdist 3.8 ignores `xdist_group` under pytest 9 (it sets
    # `item._nodeid`, which pytest 9 no longer reads), so separate tests of this module could run on
    # both workers and each would pay for the whole scenario.
    check_the_sandbox_holds_exactly_the_erp_customers(reverse_etl)
    check_the_sandbox_holds_exactly_the_good_invoices_and_payments(reverse_etl)
    check_the_bad_row_is_rejected_with_a_clear_error_and_the_rest_lands(reverse_etl)
    check_a_second_identical_run_creates_nothing(reverse_etl)
