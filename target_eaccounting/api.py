"""The few calls the target makes, on top of the shared client (auth, rate limit, retry, errors).

Nothing here speaks HTTP itself: every request goes through ``EAccountingClient.request``.
Writes are sent with ``idempotent=False`` so that the shared client never re-sends a POST: an
unclear outcome surfaces as ``AmbiguousWriteError`` and the target looks the object up instead.
Bodies are decoded by the client's ``parse`` step, inside its retry policy: a body cut short is
re-read for a GET or PUT, and makes a POST ambiguous (the object may exist without our knowing its Id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import requests

from eaccounting_api import paging
from eaccounting_api.errors import EAccountingError
from eaccounting_api.paging import string_literal as quote  # one OData string literal for tap and target
from target_eaccounting.record_errors import RecordError

MAX_PAGES = 10_000
T = TypeVar("T")


class RequestClient(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        parse: Callable[[requests.Response], T],
    ) -> T: ...


def json_object(response: requests.Response) -> dict[str, Any]:
    """The body as a JSON object; an empty body or another JSON value is ``{}``. A body that does
    not decode raises ``ValueError`` (the client's cue to retry)."""
    body = response.json() if response.content else {}
    return body if isinstance(body, dict) else {}


def api_error(exc: EAccountingError, what: str) -> RecordError:
    """A record error carrying the API's error body (what support needs: ErrorId, client_id)."""
    fields = [str(e.get("Field")) for e in exc.errors if e.get("Field")]
    api = {
        "http_status": exc.status,
        "ErrorId": exc.error_id,
        "ErrorCode": exc.error_code,
        "DeveloperErrorMessage": exc.developer_message,
        "Errors": exc.errors,
    }
    return RecordError("api_error", f"{what}: {exc}", field=fields[0] if fields else None, api=api)


class Api:
    """JSON in, JSON out; ``dry_run`` refuses every write (a bug guard: the dry run never gets here)."""

    def __init__(self, client: RequestClient, *, dry_run: bool = False) -> None:
        self.client = client
        self.dry_run = dry_run
        self.writes = 0

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.client.request("GET", path, params=params, parse=json_object)

    def list(
        self, path: str, *, filter_: str | None = None, page_size: int = paging.DEFAULT_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every item of a paginated list endpoint, with the tap's paging conventions (one place:
        ``eaccounting_api.paging``). Ordered by ``Id``: without ``$orderby`` the API's page order is
        not stable, and a multi-page read could repeat one row and miss another."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {paging.PAGE_SIZE_PARAM: page_size, paging.ORDERBY_PARAM: "Id"}
        if filter_:
            params[paging.FILTER_PARAM] = filter_
        for page in range(paging.FIRST_PAGE, paging.FIRST_PAGE + MAX_PAGES):
            params[paging.PAGE_PARAM] = page
            body = self.get(path, params)
            data = body.get("Data") or []
            items.extend(d for d in data if isinstance(d, dict))
            pages = int((body.get("Meta") or {}).get("TotalNumberOfPages") or 0)
            if page >= pages or not data:
                break
        return items

    def _write(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.dry_run:
            raise RuntimeError(f"dry run: refusing {method} {path}")
        self.writes += 1
        return self.client.request(
            method, path, params=params, json=body, idempotent=method == "PUT", parse=json_object
        )

    def post(self, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._write("POST", path, body, params)

    def put(self, path: str, body: Any) -> dict[str, Any]:
        return self._write("PUT", path, body, None)


__all__ = ["Api", "RequestClient", "api_error", "quote"]
