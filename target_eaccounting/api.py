"""The few calls the target makes, on top of the shared client (auth, rate limit, retry, errors).

Nothing here speaks HTTP itself: every request goes through ``EAccountingClient.request``.
Writes are sent with ``idempotent=False`` so that the shared client never re-sends a POST: an
unclear outcome surfaces as ``AmbiguousWriteError`` and the target looks the object up instead.
Bodies are decoded by the client's ``parse`` step, inside its retry policy: a body cut short is
re-read for a GET or PUT, and makes a POST ambiguous (the object may exist without our knowing its Id).

Errors that every record would meet stop the run here (``run_errors``): the identity server refusing
the client, an unreachable host, and an ``api_url`` that is not the eAccounting API: a 404 on a
collection the spec declares, a 404 on an object before the API has answered anything (when its
collection 404s too), or a 2xx body that is not JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests

from eaccounting_api import paging
from eaccounting_api.connection import DEFAULT_API_URL, DEFAULT_IDENTITY_URL
from eaccounting_api.errors import EAccountingError, NotFoundError
from eaccounting_api.paging import string_literal as quote  # one OData string literal for tap and target
from target_eaccounting import run_errors
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


@dataclass(frozen=True)
class ListPage:
    number: int
    items: list[dict[str, Any]]
    total_pages: int
    total_results: int

    @property
    def is_last(self) -> bool:
        return not self.items or self.number >= self.total_pages


class Api:
    """JSON in, JSON out; ``dry_run`` refuses every write (a bug guard: the dry run never gets here)."""

    def __init__(
        self,
        client: RequestClient,
        *,
        dry_run: bool = False,
        api_url: str = DEFAULT_API_URL,
        identity_url: str = DEFAULT_IDENTITY_URL,
    ) -> None:
        self.client = client
        self.dry_run = dry_run
        self.api_url = api_url
        self.identity_url = identity_url
        self.writes = 0
        self._answered = False  # the API has answered a request (so api_url is right)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        try:
            body = self.client.request(
                method,
                path,
                params=params,
                json=json,
                idempotent=idempotent,
                parse=lambda response: self._json_object(method, path, response),
            )
        except NotFoundError as exc:
            self._check_api_url(method, path, exc)
            raise
        except EAccountingError as exc:
            stop = run_errors.stopping_error(exc, api_url=self.api_url, identity_url=self.identity_url)
            if stop is not None:
                raise stop from exc
            raise
        self._answered = True
        return body

    def _json_object(self, method: str, path: str, response: requests.Response) -> dict[str, Any]:
        """The client's parse step. A body that is not JSON at all (an HTML page, say) means ``api_url``
        is not the API: that stops the run at once. A JSON body that does not decode was cut short:
        ``json_object``'s ``ValueError`` lets the client's retry policy read it again."""
        kind = response.headers.get("Content-Type") or ""
        if response.content and "json" not in kind.lower():
            raise run_errors.wrong_api_url(
                self.api_url,
                f"{method} {path} answered {response.status_code} with {kind or 'no content type'}, not JSON",
            )
        return json_object(response)

    def _check_api_url(self, method: str, path: str, exc: NotFoundError) -> None:
        """Raise ``WrongApiUrl`` if this 404 says that ``api_url`` is not the API; else return."""
        if run_errors.is_collection(path):
            raise run_errors.wrong_api_url(self.api_url, f"{method} {path} answered 404") from exc
        collection = run_errors.collection_of(path)
        if self._answered or collection is None:
            return
        # An object can be missing; its collection cannot: ask for it once (a 404 raises WrongApiUrl).
        try:
            self._request("GET", collection, params={paging.PAGE_SIZE_PARAM: 1})
        except EAccountingError:
            return  # the collection answered otherwise (e.g. 403): the URL is not what is wrong

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def page(
        self,
        path: str,
        *,
        number: int = paging.FIRST_PAGE,
        filter_: str | None = None,
        page_size: int = paging.DEFAULT_PAGE_SIZE,
    ) -> ListPage:
        """One page of a list endpoint, with the tap's paging conventions (one place:
        ``eaccounting_api.paging``). Ordered by ``Id``: without ``$orderby`` the API's page order is
        not stable, and a multi-page read could repeat one row and miss another."""
        params: dict[str, Any] = {
            paging.PAGE_SIZE_PARAM: page_size,
            paging.ORDERBY_PARAM: "Id",
            paging.PAGE_PARAM: number,
        }
        if filter_:
            params[paging.FILTER_PARAM] = filter_
        body = self.get(path, params)
        meta = body.get("Meta") or {}
        return ListPage(
            number=number,
            items=[d for d in body.get("Data") or [] if isinstance(d, dict)],
            total_pages=int(meta.get("TotalNumberOfPages") or 0),
            total_results=int(meta.get("TotalNumberOfResults") or 0),
        )

    def pages_from(
        self, path: str, first: int, *, filter_: str | None = None, page_size: int = paging.DEFAULT_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """The items of page ``first`` and every page after it."""
        items: list[dict[str, Any]] = []
        for number in range(first, first + MAX_PAGES):
            page = self.page(path, number=number, filter_=filter_, page_size=page_size)
            items.extend(page.items)
            if page.is_last:
                break
        return items

    def list(
        self, path: str, *, filter_: str | None = None, page_size: int = paging.DEFAULT_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every item of a paginated list endpoint (see ``page``)."""
        return self.pages_from(path, paging.FIRST_PAGE, filter_=filter_, page_size=page_size)

    def _write(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.dry_run:
            raise RuntimeError(f"dry run: refusing {method} {path}")
        self.writes += 1
        return self._request(method, path, params=params, json=body, idempotent=method == "PUT")

    def post(self, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._write("POST", path, body, params)

    def put(self, path: str, body: Any) -> dict[str, Any]:
        return self._write("PUT", path, body, None)


__all__ = ["Api", "ListPage", "RequestClient", "api_error", "quote"]
