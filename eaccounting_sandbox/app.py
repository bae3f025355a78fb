"""The sandbox's HTTP application: identity, the /v2 API generated from the spec, and /_admin.

Routes are generated from ``eaccounting_api.spec``: every paginated list endpoint
(``spec.list_endpoints()``) goes through the paging pipeline; every other GET is a single-object read
(``Company.get_record``); every POST/PUT/DELETE goes to ``Company.write``. Nothing is hand-listed.
Each /v2 request is authenticated (401), rate limited per client and endpoint (429) and checked
against the operation's scopes (403) before the domain sees it.
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
from eaccounting_sandbox import demo, errors
from eaccounting_sandbox.config import SandboxConfig
from eaccounting_sandbox.conformance import Conformance
from eaccounting_sandbox.errors import ApiError
from eaccounting_sandbox.faults import FaultInjector
from eaccounting_sandbox.identity import IdentityServer
from eaccounting_sandbox.paging import QueryPipeline
from eaccounting_sandbox.ratelimit import RateLimiter
from eaccounting_sandbox.store import Company

log = logging.getLogger("eaccounting_sandbox")
JSON = "application/json; charset=utf-8"
API_PREFIX = "/v2"
Handler = Callable[[Request], Awaitable[Response]]
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def country_of(company_id: str) -> str:
    """``acme-se`` -> ``SE``; the default demo company ``demo-no`` is Norwegian."""
    suffix = company_id.rsplit("-", 1)[-1].upper()
    return suffix if len(suffix) == 2 and suffix.isalpha() else "NO"


class Sandbox:
    """Everything one running sandbox holds: tenants, tokens, switches, faults and counters."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.identity = IdentityServer(config)
        self.pipeline = QueryPipeline(config)
        self.limiter = RateLimiter(lambda: self.config.rate_limit_per_minute)
        self.faults = FaultInjector()
        self.conformance = Conformance()
        self.stats: dict[str, dict[str, int]] = {}
        self.companies: dict[str, Company] = {}
        for company_id in config.companies:
            self.add_company(company_id, config.seed, country_of(company_id), config.scale)
        if config.faults:
            self.faults.set(config.faults)

    def add_company(self, company_id: str, seed: int, country: str, scale: float) -> Company:
        if company_id in self.companies:
            raise ApiError(409, errors.CONFLICT, f"Company {company_id!r} already exists.", errors=[])
        company = demo.generate_company(company_id, seed, scale=scale, country=country)
        self.companies[company_id] = company
        if company_id not in self.config.companies:
            self.config.companies.append(company_id)
        self.identity.add_company(company_id)
        return company

    def company(self, company_id: str) -> Company:
        found = self.companies.get(company_id)
        if found is None:
            raise ApiError(404, errors.RESOURCE_NOT_FOUND, f"No company {company_id!r}.", errors=[])
        return found

    def count(self, endpoint: str, status: int | str) -> None:
        bucket = self.stats.setdefault(endpoint, {})
        key = str(status)
        bucket[key] = bucket.get(key, 0) + 1

    # -- responses -------------------------------------------------------------------------------
    def error_response(self, error: ApiError, where: str) -> Response:
        body = error.body()
        if self.config.validate_responses:
            self.conformance.check_error(body, where)
        return Response(_encoder.encode(body), error.status, headers=error.headers, media_type=JSON)

    def json_response(self, status: int, body: Any, schema: str | None, where: str) -> Response:
        if self.config.validate_responses:
            self.conformance.check_body(schema, body, where)
        if body is None:
            return Response(b"", status)
        return Response(_encoder.encode(body), status, media_type=JSON)

    def authorize(self, request: Request, method: str, spec_path: str) -> Company:
        grant = self.identity.authenticate(request.headers.get("authorization"))
        self.limiter.check(grant.client_id, f"{method} {request.url.path}")
        self.identity.authorize_scopes(grant, method, spec.scopes(method, spec_path))
        company = self.companies.get(grant.company)
        if company is None:
            raise errors.unauthorized("The company of this token no longer exists.")
        return company


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


def _get_handler(sandbox: Sandbox, spec_path: str, schema: str | None) -> Handler:
    async def handle(request: Request) -> Response:
        company = sandbox.authorize(request, "GET", spec_path)
        record = company.get_record(spec_path, request.path_params)
        return sandbox.json_response(200, record, schema, f"GET {request.url.path}")

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
                    400, errors.DATA_MODEL_VALIDATION, f"The request body is not valid JSON: {exc}", []
                ) from None
        query = dict(request.query_params)
        status, result = company.write(method, spec_path, request.path_params, query, body)
        schema = spec.response_schema_name(op, str(status))
        return sandbox.json_response(status, result, schema, f"{method} {request.url.path}")

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
                inner = _get_handler(sandbox, path, spec.response_schema_name(op))
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
    from eaccounting_sandbox import admin

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "No such endpoint.", 405: "Method not allowed here."}.get(status, "Error.")
        error = ApiError(status, errors.RESOURCE_NOT_FOUND, message, [])
        return sandbox.error_response(error, request.url.path)

    routes: list[BaseRoute] = [
        Route("/connect/token", sandbox.identity.token_endpoint, methods=["POST"]),
        Route("/connect/authorize", sandbox.identity.authorize_endpoint, methods=["GET"]),
        *admin.routes(sandbox),
        *api_routes(sandbox),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
