"""The write path of the /v2 API: pick the handler for a spec POST/PUT/DELETE and run it under the lock.

Handlers per area: ``writes_master`` (customers, suppliers, articles), ``writes_ledger`` (accounts,
vouchers), ``writes_sales`` (invoice drafts, customer invoices), ``writes_payments`` (invoice payments),
then ``writes_generic`` (plain REST semantics for the simpler resources). What they share is in
``write_support``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eaccounting_sandbox.error_responses import not_found
from eaccounting_sandbox.store import Company
from eaccounting_sandbox.write_support import Handler
from eaccounting_sandbox.writes_generic import handler_for
from eaccounting_sandbox.writes_ledger import LEDGER_HANDLERS
from eaccounting_sandbox.writes_master import MASTER_HANDLERS
from eaccounting_sandbox.writes_payments import PAYMENT_HANDLERS
from eaccounting_sandbox.writes_sales import SALES_HANDLERS

HANDLERS: dict[tuple[str, str], Handler] = {
    **MASTER_HANDLERS,
    **LEDGER_HANDLERS,
    **SALES_HANDLERS,
    **PAYMENT_HANDLERS,
}


def write(
    company: Company,
    method: str,
    path: str,
    *,
    params: Mapping[str, str],
    query: Mapping[str, str],
    body: Any,
) -> tuple[int, Any]:
    """Run a spec POST/PUT/DELETE (``path`` is the spec's template); returns (status, JSON-able body or
    None). Raises ``ApiError``: 404 for an operation the sandbox does not emulate."""
    method = method.upper()
    handler = HANDLERS.get((method, path)) or handler_for(method, path)
    if handler is None:
        raise not_found(f"{method} {path} is not emulated by the sandbox.")
    with company.lock:
        return handler(company, dict(params), dict(query), body)
