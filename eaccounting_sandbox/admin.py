"""The admin API under ``/_admin`` (JSON in and out, no auth, loopback clients only).

Tests and demos use it to mint tokens, simulate a password change, set faults and switches, create
tenants, churn data, and read counts, stored objects, request statistics and the conformance report.
See DESIGN.md ("Sandbox: URLs, credentials, tenants") for the contract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from eaccounting_sandbox import reads
from eaccounting_sandbox.churn import churn
from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.identity import ALL_SCOPES
from eaccounting_sandbox.sandbox import Sandbox, country_of
from eaccounting_sandbox.switches import PROFILES

LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")
AdminHandler = Callable[[Sandbox, Request, dict[str, Any]], Awaitable[Any]]
_encoder = msgspec.json.Encoder()


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reply(status: int, body: Any) -> Response:
    return Response(_encoder.encode(body), status, media_type="application/json")


def _admin(sandbox: Sandbox, handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:  # noqa: PLR0911 - one return per error class
        if request.client is None or request.client.host not in LOOPBACK:
            return _reply(403, {"error": "the admin API only answers loopback clients"})
        raw = await request.body()
        try:
            payload = msgspec.json.decode(raw) if raw.strip() else {}
        except msgspec.DecodeError as exc:
            return _reply(400, {"error": f"body is not JSON: {exc}"})
        if not isinstance(payload, dict):
            return _reply(400, {"error": "body must be a JSON object"})
        try:
            return _reply(200, await handler(sandbox, request, payload))
        except AdminError as exc:
            return _reply(exc.status, {"error": exc.message})
        except ApiError as exc:
            return _reply(exc.status, {"error": exc.message})
        except (ValueError, TypeError) as exc:
            return _reply(400, {"error": str(exc)})

    return endpoint


def _company_name(payload: dict[str, Any], request: Request, sandbox: Sandbox) -> str:
    name = payload.get("company") or request.query_params.get("company") or sandbox.config.companies[0]
    if name not in sandbox.companies:
        raise AdminError(404, f"no company {name!r}; known: {', '.join(sorted(sandbox.companies))}")
    return str(name)


async def _tokens(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = _company_name(payload, request, sandbox)
    scopes = payload.get("scopes", list(ALL_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AdminError(400, "scopes must be a list of strings")
    ttl = payload.get("access_token_ttl")
    client_id = payload.get("client_id", "sandbox-client")
    return sandbox.identity.mint(company, scopes, client_id=client_id, ttl=ttl)


async def _password_change(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = _company_name(payload, request, sandbox)
    return {"company": company, "revoked_refresh_tokens": sandbox.identity.revoke_company(company)}


async def _expire_access_tokens(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = payload.get("company")
    return {"expired": sandbox.identity.expire_access_tokens(company)}


async def _faults(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    if request.method == "DELETE":
        sandbox.faults.clear()
    elif request.method == "POST":
        sandbox.faults.set(payload)
    return {"active": sandbox.faults.active, "injected": sandbox.faults.injected}


async def _config(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    """The switches in effect (``?path=/x`` or ``{"path"}``: as that endpoint sees them)."""
    if request.method == "POST":
        sandbox.change_config({k: v for k, v in payload.items() if k != "path"})
    path = payload.get("path") or request.query_params.get("path")
    if path:
        return asdict(sandbox.config.for_endpoint(str(path)))
    current = sandbox.config.as_dict()
    return {key: current[key] for key in current if key != "faults"}


async def _profiles(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    return {name: asdict(profile) for name, profile in PROFILES.items()}


async def _companies(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    if request.method == "GET":
        return {"companies": sorted(sandbox.companies)}
    name = payload.get("company")
    if not isinstance(name, str) or not name:
        raise AdminError(400, "company (a slug such as 'acme-se') is required")
    seed = int(payload.get("seed", sandbox.config.seed))
    country = str(payload.get("country", country_of(name))).upper()
    scale = float(payload.get("scale", 1.0))
    sandbox.add_company(name, seed, country, scale)
    return {"company": name, "bootstrap_refresh_token": f"{name}-bootstrap-refresh-token"}


async def _counts(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    return reads.counts(sandbox.company(_company_name(payload, request, sandbox)))


async def _parents(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = sandbox.company(_company_name(payload, request, sandbox))
    path = payload.get("path") or request.query_params.get("path")
    if not path:
        raise AdminError(
            400, "path (a parametrized list endpoint, e.g. /accounts/{fiscalyearId}) is required"
        )
    return reads.parent_params(company, str(path))


async def _objects(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = sandbox.company(_company_name(payload, request, sandbox))
    collection = payload.get("collection") or request.query_params.get("collection")
    if not collection:
        raise AdminError(400, "collection is required (e.g. customerinvoices)")
    return company.objects(str(collection))


async def _churn(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    company = sandbox.company(_company_name(payload, request, sandbox))
    collections = payload.get("collections")
    return churn(
        company,
        creates=int(payload.get("creates", 0)),
        updates=int(payload.get("updates", 0)),
        deletes=int(payload.get("deletes", 0)),
        collections=collections,
        lag=lambda name: sandbox.config.for_endpoint(f"/{name}").stamp_lag_seconds,
    )


async def _stats(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    if request.method == "DELETE":
        sandbox.stats.clear()
    by_status: dict[str, int] = {}
    for bucket in sandbox.stats.values():
        for status, count in bucket.items():
            by_status[status] = by_status.get(status, 0) + count
    return {"endpoints": sandbox.stats, "statuses": by_status, "faults_injected": sandbox.faults.injected}


async def _conformance(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    return sandbox.conformance.report()


async def _reset_rate_limits(sandbox: Sandbox, request: Request, payload: dict[str, Any]) -> Any:
    sandbox.limiter.reset()
    return {"reset": True}


TABLE: list[tuple[str, AdminHandler, list[str]]] = [
    ("tokens", _tokens, ["POST"]),
    ("password-change", _password_change, ["POST"]),
    ("expire-access-tokens", _expire_access_tokens, ["POST"]),
    ("faults", _faults, ["GET", "POST", "DELETE"]),
    ("config", _config, ["GET", "POST"]),
    ("profiles", _profiles, ["GET"]),
    ("companies", _companies, ["GET", "POST"]),
    ("counts", _counts, ["GET"]),
    ("objects", _objects, ["GET"]),
    ("parents", _parents, ["GET"]),
    ("churn", _churn, ["POST"]),
    ("stats", _stats, ["GET", "DELETE"]),
    ("conformance", _conformance, ["GET"]),
    ("reset-rate-limits", _reset_rate_limits, ["POST"]),
]


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    return [
        Route(f"/_admin/{name}", _admin(sandbox, handler), methods=methods)
        for name, handler, methods in TABLE
    ]
