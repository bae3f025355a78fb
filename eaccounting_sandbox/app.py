"""The sandbox's HTTP routes: identity, the /v2 API generated from the spec, and /_admin.

Routes are generated from ``eaccounting_api.spec``: every paginated list endpoint
(``spec.list_endpoints()``) goes through the paging pipeline (``list_pages``); every other GET is a
single-object read (``reads.read``); every POST/PUT/DELETE goes to ``writes.write``. Nothing is
hand-listed. Each /v2 request is authenticated (401), rate limited per client and endpoint (429) and
checked against the operation's scopes (403) before the domain sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from eaccounting_api import spec
from eaccounting_sandbox import admin, reads, writes
from eaccounting_sandbox.error_responses import DATA_MODEL_VALIDATION, RESOURCE_NOT_FOUND, ApiError
from eaccounting_sandbox.sandbox import JSON, Sandbox

log = logging.getLogger("eaccounting_sandbox")
API_PREFIX = "/v2"
Handler = Callable[[Request], Awaitable[Response]]
_decoder = msgspec.json.Decoder()


def _guarded(sandbox: Sandbox, method: str, spec_path: str, inner: Handler) -> Handler:
    """Wrap a /v2 handler: tag the endpoint for stats, render ApiError, never leak a traceback."""
    endpoint = f"{method} {API_PREFIX}{spec_path}"

    async def handler(request: Request) -> Response:
        request.scope["sandbox.endpoint"] = endpoint
        where = f"{method} {request.url.path}"
        try:
            return await inner(request)
        except ApiError as error:
            return sandbox.error_response(error, where)
        except ClientDisconnect:
            # The client hung up before sending its whole body; nobody is left to answer.
            return Response(b"", 400)
        # Any domain bug becomes the API's 500 body (logged with its traceback), never a bare HTML page.
        except Exception:
            log.exception("unhandled error in %s", where)
            return sandbox.error_response(ApiError(500, 1000, "An unexpected error occurred.", []), where)

    return handler


def _list_handler(sandbox: Sandbox, endpoint: spec.ListEndpoint) -> Handler:
    async def handle(request: Request) -> Response:
        company = sandbox.authorize(request, "GET", endpoint.path)
        query = dict(request.query_params)
        url_base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        page = sandbox.pipeline.page(company, endpoint, request.path_params, query, url_base)
        if sandbox.config.validate_responses:
            where = f"GET {request.url.path}"
            sandbox.conformance.check_page(endpoint.item_schema, page.meta, page.items, where)
        return Response(page.body, 200, headers=page.headers, media_type=JSON)

    return handle


def _get_handler(sandbox: Sandbox, spec_path: str, op: dict[str, Any]) -> Handler:
    async def handle(request: Request) -> Response:
        company = sandbox.authorize(request, "GET", spec_path)
        answer = reads.read(company, spec_path, request.path_params, dict(request.query_params))
        return sandbox.read_response(answer, op, f"GET {request.url.path}", spec_path)

    return handle


def _write_handler(sandbox: Sandbox, method: str, spec_path: str, op: dict[str, Any]) -> Handler:
    async def handle(request: Request) -> Response:
        company = sandbox.authorize(request, method, spec_path)
        raw = await request.body()
        body: Any = None
        if raw.strip():
            try:
                body = _decoder.decode(raw)
            except msgspec.DecodeError as exc:
                raise ApiError(
                    400, DATA_MODEL_VALIDATION, f"The request body is not valid JSON: {exc}", []
                ) from None
        query = dict(request.query_params)
        status, result = writes.write(
            company, method, spec_path, params=request.path_params, query=query, body=body
        )
        schema = spec.response_schema_name(op, str(status))
        return sandbox.json_response(status, result, schema, f"{method} {request.url.path}", spec_path)

    return handle


def _route_order(path: str) -> list[int]:
    # Literal segments before parameters at the same depth: /accounts/standardaccounts must win
    # over /accounts/{fiscalyearId}.
    return [1 if "{" in segment else 0 for segment in path.strip("/").split("/")]


def api_routes(sandbox: Sandbox) -> list[BaseRoute]:
    lists = {endpoint.path: endpoint for endpoint in spec.list_endpoints()}
    routes: list[BaseRoute] = []
    paths_lower = {p for p in spec.load()["paths"] if p == p.lower()}
    for path in sorted(spec.load()["paths"], key=_route_order):
        item = spec.load()["paths"][path]
        for method in ("get", "post", "put", "delete"):
            op = item.get(method)
            if op is None:
                continue
            verb = method.upper()
            inner: Handler
            if verb == "GET" and path in lists:
                inner = _list_handler(sandbox, lists[path])
            elif verb == "GET":
                inner = _get_handler(sandbox, path, op)
            else:
                inner = _write_handler(sandbox, verb, path, op)
            handler = _guarded(sandbox, verb, path, inner)
            routes.append(Route(API_PREFIX + path, handler, methods=[verb]))
            lowered = path.lower()
            if lowered != path and lowered not in paths_lower:
                # ASP.NET routing is case-insensitive: /accounttypes answers like /accountTypes.
                routes.append(Route(API_PREFIX + lowered, handler, methods=[verb]))
    return routes


def build_app(sandbox: Sandbox) -> Starlette:
    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "No such endpoint.", 405: "Method not allowed here."}.get(status, "Error.")
        error = ApiError(status, RESOURCE_NOT_FOUND, message, [])
        return sandbox.error_response(error, request.url.path)

    routes: list[BaseRoute] = [
        Route("/connect/token", sandbox.identity.token_endpoint, methods=["POST"]),
        Route("/connect/authorize", sandbox.identity.authorize_endpoint, methods=["GET"]),
        *admin.routes(sandbox),
        *api_routes(sandbox),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
