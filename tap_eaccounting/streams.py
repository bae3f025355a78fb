"""The tap's streams, declared as data: one row per list endpoint of the v2 API.

Every paginated GET list endpoint of the spec (``eaccounting_api.spec.list_endpoints()``, 58 of
them, all JSON) has exactly one row. Columns:

* ``name``: the stream name (snake_case).
* ``path``: the spec path, without ``/v2``.
* ``keys``: primary key: ``Id``, or the natural key where the item has no ``Id``.
* ``replication_key``: ``ModifiedUtc``/``ChangedUtc`` where the item has one, else ``CreatedUtc``,
  else ``None`` (full table).
* ``area``: the OAuth scope area (``sales``, ``purchase``, ``accounting``) used for the minimal scope set.
* ``parent``: the parent stream for a path with a ``{param}``; its ``Id`` fills the path parameter.
* ``parent_key``: the property that carries the parent key in each child record.
* ``sibling``: for an incremental child, the flat list endpoint's stream with the same item schema and
  replication key (``/accounts`` for ``/accounts/{fiscalyearId}``): one request to it tells whether
  anything changed in any partition since the last run (``client.EAccountingStream.probe_sibling``).
* ``fan_out``: ``yes`` marks a *fan-out stream*: a per-parent stream whose parents are unbounded
  business records, so it costs one request per record of its parent, growing with the company:
  ``customer_auto_invoice_recipients`` (one per customer) and ``voucher_over_under_payments`` (one per
  voucher: about 1,000 requests on the demo company, 50,000 for 50,000 vouchers). A fan-out stream
  syncs only when the ``fan_out_streams`` setting lists it, even when the catalog selects it (Meltano's
  ``*.*`` does, whatever ``selected_by_default`` says); see ``fan_out``. Per-parent streams over small
  reference sets (per fiscal year, bank account or price list: ``accounts``, ``vouchers``,
  ``bank_transactions_*``, ``sales_price_list_prices_by_list``) are not fan-out streams.

Single-object endpoints worth syncing (``GET /companysettings``: one JSON object, no list envelope) are
rows of ``SINGLE_OBJECT_STREAMS`` instead, read by ``single_object.SingleObjectStream``.

``account_balances`` has no parent stream: it is read at the dates of the ``account_balance_dates``
setting (by default today and each fiscal year's end date, read from ``/fiscalyears``).
"""

from __future__ import annotations

from dataclasses import dataclass

from eaccounting_api import spec


@dataclass(frozen=True)
class StreamDef:
    name: str
    path: str
    keys: tuple[str, ...]
    replication_key: str | None
    area: str
    parent: str | None = None
    parent_key: str | None = None
    # Endpoint query parameters sent on every request (to read everything, not a default subset).
    params: tuple[tuple[str, str], ...] = ()
    # The flat stream whose list holds every partition's rows (see the module docstring).
    sibling: str | None = None
    # One request per record of an unbounded parent: synced only when enabled (see the module docstring).
    fan_out: bool = False

    @property
    def item_schema(self) -> str:
        return ENDPOINTS[self.path].item_schema

    @property
    def path_param(self) -> str | None:
        params = ENDPOINTS[self.path].path_params
        return params[0] if params else None


# Bank transactions default to the current month (spec); ask for every date. UNVERIFIED bounds
# (docs/API_FACTS.md#unverified-assumptions).
QUERY_PRESETS = {
    "ALL_DATES": (("fromDate", "1900-01-01"), ("toDate", "2999-12-31")),
    "includeMatched=true": (("includeMatched", "true"),),
}

# The table is wider than the line limit on purpose: one row per stream reads as a table.
_TABLE = """
name                             | path                                          | keys                            | replication | area       | parent            | parent_key       | query              | sibling                 | fan_out
account_balances                 | /accountbalances/{date}                       | Date,AccountNumber              | -           | accounting | -                 | Date             |
all_accounts                     | /accounts                                     | FiscalYearId,Number             | ModifiedUtc | accounting | -                 | -                |
standard_accounts                | /accounts/standardaccounts                    | AccountNumber                   | -           | accounting | -                 | -                |
accounts                         | /accounts/{fiscalyearId}                      | FiscalYearId,Number             | ModifiedUtc | accounting | fiscal_years      | FiscalYearId     |                    | all_accounts
account_types                    | /accountTypes                                 | Type                            | -           | accounting | -                 | -                |
allocation_periods               | /allocationperiods                            | Id                              | ModifiedUtc | purchase   | -                 | -                |
appstore_status                  | /appstore/status                              | Id                              | ModifiedUtc | accounting | -                 | -                |
article_account_codings          | /articleaccountcodings                        | Id                              | ChangedUtc  | sales      | -                 | -                |
article_labels                   | /articlelabels                                | Id                              | -           | sales      | -                 | -                |
articles                         | /articles                                     | Id                              | ChangedUtc  | sales      | -                 | -                |
attachments                      | /attachments                                  | Id                              | -           | accounting | -                 | -                | includeMatched=true
bank_accounts                    | /bankaccounts                                 | Id                              | ModifiedUtc | purchase   | -                 | -                |
bank_transactions_matched        | /banktransactions/{bankAccountId}/matched     | Id                              | -           | accounting | bank_accounts     | BankAccountId    | ALL_DATES
bank_transactions_unmatched      | /banktransactions/{bankAccountId}/unmatched   | Id                              | -           | accounting | bank_accounts     | BankAccountId    | ALL_DATES
banks                            | /banks                                        | Id                              | -           | purchase   | -                 | -                |
cost_centers                     | /costcenters                                  | Id                              | -           | accounting | -                 | -                |
countries                        | /countries                                    | Code                            | -           | sales      | -                 | -                |
currencies                       | /currencies                                   | Code                            | -           | sales      | -                 | -                |
customer_invoice_drafts          | /customerinvoicedrafts                        | Id                              | CreatedUtc  | sales      | -                 | -                |
customer_invoices                | /customerinvoices                             | Id                              | ModifiedUtc | sales      | -                 | -                |
customer_labels                  | /customerlabels                               | Id                              | -           | sales      | -                 | -                |
customer_ledger_items            | /customerledgeritems                          | Id                              | ModifiedUtc | sales      | -                 | -                |
customers                        | /customers                                    | Id                              | ChangedUtc  | sales      | -                 | -                |
customer_auto_invoice_recipients | /customers/{customerId}/autoinvoicerecipients | CustomerId,ElectronicAddress    | -           | sales      | customers         | CustomerId       |                    |                         | yes
delivery_methods                 | /deliverymethods                              | Id                              | -           | sales      | -                 | -                |
delivery_terms                   | /deliveryterms                                | Id                              | -           | sales      | -                 | -                |
discount_agreements              | /discountagreements                           | Id                              | ChangedUtc  | sales      | -                 | -                |
backgrounds                      | /backgrounds                                  | Id                              | CreatedUtc  | sales      | -                 | -                |
fiscal_years                     | /fiscalyears                                  | Id                              | -           | accounting | -                 | -                |
opening_balances                 | /fiscalyears/openingbalances                  | Number                          | -           | accounting | -                 | -                |
foreign_payment_codes            | /foreignpaymentcodes                          | Id                              | -           | purchase   | -                 | -                |
inventory_items                  | /inventoryitems                               | Id                              | ModifiedUtc | accounting | -                 | -                |
message_threads                  | /messagethreads                               | Id                              | ModifiedUtc | accounting | -                 | -                |
messages                         | /messagethreads/messages                      | Id                              | ModifiedUtc | accounting | -                 | -                |
notes                            | /notes                                        | Id                              | ModifiedUtc | accounting | -                 | -                |
orders                           | /orders                                       | Id                              | ModifiedUtc | sales      | -                 | -                |
partner_resource_links           | /partnerresourcelinks                         | Id                              | -           | sales      | -                 | -                |
projects                         | /projects                                     | Id                              | ModifiedUtc | accounting | -                 | -                |
quote_drafts                     | /quotedrafts                                  | Id                              | ModifiedUtc | sales      | -                 | -                |
quotes                           | /quotes                                       | Id                              | ModifiedUtc | sales      | -                 | -                |
sales_document_attachments       | /salesdocumentattachments                     | Id                              | CreatedUtc  | sales      | -                 | -                |
sales_price_lists                | /salespricelists                              | Id                              | ChangedUtc  | sales      | -                 | -                |
sales_price_list_prices          | /salespricelists/prices                       | SalesPriceListId,ArticleId      | ChangedUtc  | sales      | -                 | -                |
sales_price_list_prices_by_list  | /salespricelists/prices/{salesPriceListId}    | SalesPriceListId,ArticleId      | ChangedUtc  | sales      | sales_price_lists | SalesPriceListId |                    | sales_price_list_prices
supplier_invoice_drafts          | /supplierinvoicedrafts                        | Id                              | ModifiedUtc | purchase   | -                 | -                |
supplier_invoices                | /supplierinvoices                             | Id                              | ModifiedUtc | purchase   | -                 | -                |
suppliers                        | /suppliers                                    | Id                              | ModifiedUtc | purchase   | -                 | -                |
terms_of_payments                | /termsofpayments                              | Id                              | -           | sales      | -                 | -                |
units                            | /units                                        | Id                              | -           | sales      | -                 | -                |
users                            | /users                                        | Id                              | -           | accounting | -                 | -                |
vat_codes                        | /vatcodes                                     | Id                              | -           | accounting | -                 | -                |
vat_code_rates                   | /vatcodesrates                                | Id                              | -           | accounting | -                 | -                |
vat_reports                      | /vatreports                                   | Id                              | ModifiedUtc | accounting | -                 | -                |
voucher_drafts                   | /voucherdrafts                                | Id                              | ModifiedUtc | accounting | -                 | -                |
all_vouchers                     | /vouchers                                     | Id                              | ModifiedUtc | accounting | -                 | -                |
vouchers                         | /vouchers/{fiscalyearId}                      | Id                              | ModifiedUtc | accounting | fiscal_years      | FiscalYearId     |                    | all_vouchers
voucher_over_under_payments      | /voucherwithoverunderpayment/{voucherId}      | VoucherId                       | -           | accounting | all_vouchers      | VoucherId        |                    |                         | yes
webshop_orders                   | /webshoporders                                | Id                              | -           | sales      | -                 | -                |
"""  # noqa: E501


def _parse(table: str) -> tuple[StreamDef, ...]:
    rows = [line.split("|") for line in table.strip().splitlines()[1:]]
    result = []
    for row in rows:
        name, path, keys, rk, area, parent, parent_key, query, sibling, fan_out = (
            cell.strip() for cell in row + [""] * (10 - len(row))
        )
        if fan_out not in ("", "yes"):
            raise ValueError(f"stream {name}: fan_out is 'yes' or empty, not {fan_out!r}")
        result.append(
            StreamDef(
                name=name,
                path=path,
                keys=tuple(keys.split(",")),
                replication_key=None if rk == "-" else rk,
                area=area,
                parent=None if parent == "-" else parent,
                parent_key=None if parent_key == "-" else parent_key,
                params=QUERY_PRESETS[query] if query else (),
                sibling=sibling or None,
                fan_out=fan_out == "yes",
            )
        )
    return tuple(result)


STREAMS: tuple[StreamDef, ...] = _parse(_TABLE)

ENDPOINTS = {e.path: e for e in spec.list_endpoints()}
BY_NAME: dict[str, StreamDef] = {s.name: s for s in STREAMS}
FAN_OUT_STREAMS: tuple[str, ...] = tuple(sorted(s.name for s in STREAMS if s.fan_out))


@dataclass(frozen=True)
class SingleObjectDef:
    """A GET that answers one object (no ``Id``, no timestamps): one record per run, full table."""

    name: str
    path: str
    schema: str  # the component schema of the 200 response
    area: str
    keys: tuple[str, ...] = ()
    selected_by_default: bool = True


# company_settings has no key: the object is the company itself and carries no ``Id``.
# ``CompanyIdentifier`` is not in the spec's ``CompanySettingsApi``, and ``CorporateIdentityNumber`` is
# nullable (a company without a registration number would emit a null key, which upserting loaders
# reject). An empty key makes loaders append (or replace the table), which is what a one-record,
# full-table stream needs; a row's identity is "the settings at sync time". Not selected by default: an
# upserting loader would append that one row on every run.
SINGLE_OBJECT_STREAMS: tuple[SingleObjectDef, ...] = (
    SingleObjectDef(
        "company_settings", "/companysettings", "CompanySettingsApi", "sales", selected_by_default=False
    ),
)


def injected_properties(stream: StreamDef) -> dict[str, str]:
    """Properties a stream adds to the spec's item: ``{name: "uuid" | "date"}`` (the parent key)."""
    if stream.parent_key is None:
        return {}
    return {stream.parent_key: "date" if stream.parent_key == "Date" else "uuid"}


def scope_for(stream: StreamDef, *, read_only: bool = True) -> str:
    """The one scope this stream needs: ``ea:<area>_readonly`` if the endpoint accepts it."""
    accepted = ENDPOINTS[stream.path].scopes
    wanted = f"ea:{stream.area}_readonly" if read_only else f"ea:{stream.area}"
    if wanted in accepted:
        return wanted
    full = f"ea:{stream.area}"
    if full in accepted:
        return full
    raise ValueError(f"stream {stream.name}: area {stream.area!r} matches none of {accepted}")
