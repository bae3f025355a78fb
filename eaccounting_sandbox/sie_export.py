"""``GET /sie4export/{fromDate}/{toDate}``: the bookkeeping as a SIE 4 file, wrapped as the spec says.

The spec declares a ``DocumentApi`` JSON body, not the file: on the live API the file is behind the
document's ``TemporaryUrl`` (time-limited blob storage). The sandbox keeps no files, so that URL is a
``data:`` URL (RFC 2397) holding the file itself; ``urllib.request.urlopen`` reads it like any URL.

The file follows the SIE 4B format (``#FORMAT PC8``: code page 437, as SIE requires) and the spec's
rules: both dates must lie in one fiscal year; a whole fiscal year brings ``#RAR`` (this year and the
previous one), ``#IB``, ``#UB`` and ``#RES`` besides ``#KONTO``; part of a year brings the accounts and
the vouchers only.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import date, timedelta

from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import parse_day
from eaccounting_sandbox.error_responses import FISCAL_YEAR_DOES_NOT_EXIST, ApiError, bad_query
from eaccounting_sandbox.ledger_balances import year_balances
from eaccounting_sandbox.request_params import day_param
from eaccounting_sandbox.store import Company, Record

ENCODING = "cp437"
# Code page 437 has the Swedish letters but no ø/Ø; SIE readers take Norwegian ø as ö.
NORDIC = str.maketrans({"ø": "ö", "Ø": "Ö"})
# SIE account kinds: T(illgång) asset, S(kuld) liability/equity, I(ntäkt) revenue, K(ostnad) cost.
KINDS = {1: "T", 2: "S", 3: "I"}


def _quoted(text: object) -> str:
    return '"' + str(text or "").replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _amount(value: float) -> str:
    return f"{round(value, 2) + 0.0:.2f}"


def sie4_text(company: Company, year: Record, start: date, end: date) -> str:
    """The SIE 4 file for ``start``..``end`` inside fiscal ``year``."""
    settings = company.collection("companysettings").items
    name = settings[0]["Name"] if settings else company.id
    org = settings[0]["CorporateIdentityNumber"] if settings else None
    year_start, year_end = parse_day(year["StartDate"]), parse_day(year["EndDate"])
    assert year_start is not None
    assert year_end is not None
    whole = (start, end) == (year_start, year_end)
    accounts = {
        int(a["Number"]): a for a in company.collection("accounts").items if a["FiscalYearId"] == year["Id"]
    }
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "eaccounting-sandbox" "1.0"',
        "#FORMAT PC8",
        f"#GEN {_ymd(company.today)}",
        "#SIETYP 4",
        f"#FNAMN {_quoted(name)}",
    ]
    if org:
        lines.append(f"#ORGNR {org}")
    if whole:
        lines.append(f"#RAR 0 {_ymd(year_start)} {_ymd(year_end)}")
        previous = company.fiscal_year_for(year_start - timedelta(days=1))
        if previous is not None:
            p_start, p_end = parse_day(previous["StartDate"]), parse_day(previous["EndDate"])
            if p_start and p_end:
                lines.append(f"#RAR -1 {_ymd(p_start)} {_ymd(p_end)}")
    lines.append(f"#VALUTA {company.base_currency}")
    for number in sorted(accounts):
        lines.append(f"#KONTO {number} {_quoted(accounts[number]['Name'])}")
        lines.append(f"#KTYP {number} {KINDS.get(accounts[number]['Type'], 'K')}")
    if whole:
        opening, closing, result = year_balances(company, year_start, year_end, accounts)
        lines += [f"#IB 0 {n} {_amount(v)}" for n, v in sorted(opening.items()) if round(v, 2)]
        lines += [f"#UB 0 {n} {_amount(v)}" for n, v in sorted(closing.items()) if round(v, 2)]
        lines += [f"#RES 0 {n} {_amount(v)}" for n, v in sorted(result.items()) if round(v, 2)]
    lines += _vouchers(company, start, end)
    return "\r\n".join(lines) + "\r\n"


def _vouchers(company: Company, start: date, end: date) -> list[str]:
    chosen = []
    for voucher in company.collection("vouchers").items:
        day = parse_day(voucher["VoucherDate"])
        if day is not None and start <= day <= end:
            chosen.append((day, voucher))
    chosen.sort(key=lambda pair: pair[0])
    lines = []
    for day, voucher in chosen:
        series = voucher["NumberSeries"] or "A"
        number = str(voucher["NumberAndNumberSeries"] or "").removeprefix(series)
        lines.append(
            f"#VER {_quoted(series)} {_quoted(number)} {_ymd(day)} {_quoted(voucher['VoucherText'])}"
        )
        lines.append("{")
        for row in voucher["Rows"]:
            amount = _amount(row["DebitAmount"] - row["CreditAmount"])
            text = f" {_quoted(row['TransactionText'])}" if row.get("TransactionText") else ""
            lines.append(f"   #TRANS {row['AccountNumber']} {{}} {amount} {_ymd(day)}{text}")
        lines.append("}")
    return lines


def sie4_export(company: Company, params: Mapping[str, str]) -> Record:
    """The ``DocumentApi`` answering the export; ``ApiError`` 400 for dates outside one fiscal year."""
    start = day_param(params.get("fromDate"), "fromDate", company.today)
    end = day_param(params.get("toDate"), "toDate", company.today)
    if start > end:
        raise bad_query(f"fromDate {start} is after toDate {end}.")
    year = company.fiscal_year_for(start)
    if year is None:
        raise ApiError(400, FISCAL_YEAR_DOES_NOT_EXIST, f"No fiscal year contains {start}.", [])
    if company.fiscal_year_for(end) is not year:
        raise bad_query(f"fromDate {start} and toDate {end} must lie in the same fiscal year.")
    text = sie4_text(company, year, start, end).translate(NORDIC)
    content = text.encode(ENCODING, errors="replace")
    stem = f"SIE4_{company.id}_{_ymd(start)}-{_ymd(end)}"
    url = "data:text/plain;charset=IBM437;base64," + base64.b64encode(content).decode("ascii")
    return build(
        "DocumentApi",
        Id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"eaccounting-sandbox/{company.id}/sie4/{start}/{end}")),
        ContentType="text/plain",
        CreatedUtc=company.clock.stamp(),
        Name=f"{stem}.se",
        NameWithoutExtension=stem,
        Size=len(content),
        # Type stays 0: the spec's document types name no SIE file (one reason its list is not taken
        # as a complete enum, see scripts/generate_from_spec.py).
        Type=0,
        TemporaryUrl=url,
        Title=f"SIE 4 {start} - {end}",
    )
