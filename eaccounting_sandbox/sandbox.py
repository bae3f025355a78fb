"""The state of one running sandbox: tenants, tokens, switches, faults, counters, and its responses.

Both route modules (``app`` for identity and /v2, ``admin`` for /_admin) and the ASGI fault layer
(``transport``) work on one :class:`Sandbox`; they import it from here, not from each other.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eaccounting_api import spec
from eaccounting_sandbox import demo, reads
from eaccounting_sandbox.conformance import Conformance
from eaccounting_sandbox.error_responses import CONFLICT, RESOURCE_NOT_FOUND, ApiError, unauthorized
from eaccounting_sandbox.faults import FaultInjector
from eaccounting_sandbox.identity import IdentityServer
from eaccounting_sandbox.list_pages import QueryPipeline
from eaccounting_sandbox.quota import RateLimiter
from eaccounting_sandbox.reads_print import FileBody
from eaccounting_sandbox.response_drift import Drift
from eaccounting_sandbox.store import Company
from eaccounting_sandbox.switches import SandboxConfig, key_matches, profile

JSON = "application/json; charset=utf-8"
_encoder = msgspec.json.Encoder()


def country_of(company_id: str) -> str:
    """``acme-se`` -> ``SE``; the default demo company ``demo-no`` is Norwegian."""
    suffix = company_id.rsplit("-", 1)[-1].upper()
    return suffix if len(suffix) == 2 and suffix.isalpha() else "NO"


def check_endpoint_keys(endpoint_switches: dict[str, Any]) -> None:
    """``ValueError`` for an ``endpoint_switches`` key that is no spec path nor a prefix of one (a typo
    would otherwise switch nothing, silently)."""
    paths = list(spec.load()["paths"])
    for key in endpoint_switches:
        if not any(key_matches(key, path) for path in paths):
            raise ValueError(f"endpoint_switches key {key!r} matches no spec path (e.g. '/customerinvoices')")


class Sandbox:
    """Everything one running sandbox holds: tenants, tokens, switches, faults and counters."""

    def __init__(self, config: SandboxConfig) -> None:
        check_endpoint_keys(config.endpoint_switches)
        self.config = config
        self.identity = IdentityServer(config)
        self.pipeline = QueryPipeline(config)
        self.limiter = RateLimiter(
            lambda: self.config.rate_limit_per_minute,
            scope=lambda: self.config.rate_limit_scope,
            methods=lambda: self.config.rate_limit_methods,
        )
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
            raise ApiError(409, CONFLICT, f"Company {company_id!r} already exists.", errors=[])
        company = demo.generate_company(company_id, seed, scale=scale, country=country)
        self.companies[company_id] = company
        if company_id not in self.config.companies:
            self.config.companies.append(company_id)
        self.identity.add_company(company_id)
        return company

    def company(self, company_id: str) -> Company:
        found = self.companies.get(company_id)
        if found is None:
            raise ApiError(404, RESOURCE_NOT_FOUND, f"No company {company_id!r}.", errors=[])
        return found

    def count(self, endpoint: str, status: int | str) -> None:
        bucket = self.stats.setdefault(endpoint, {})
        key = str(status)
        bucket[key] = bucket.get(key, 0) + 1

    def change_config(self, changes: dict[str, Any]) -> None:
        """``POST /_admin/config``: switches (a ``profile`` first); a profile with faults sets them."""
        check_endpoint_keys(changes.get("endpoint_switches") or {})
        self.config.update(changes)
        if "profile" in changes and profile(changes["profile"]).faults:
            self.faults.set(profile(changes["profile"]).faults)
        self.pipeline.clear()

    # -- responses -------------------------------------------------------------------------------
    def error_response(self, error: ApiError, where: str) -> Response:
        body = error.body()
        if self.config.validate_responses:
            self.conformance.check_error(body, where)
        return Response(_encoder.encode(body), error.status, headers=error.headers, media_type=JSON)

    def json_response(
        self, status: int, body: Any, schema: str | None, where: str, spec_path: str | None = None
    ) -> Response:
        """A JSON body, validated as built; then drifted as ``spec_path``'s switches say."""
        if self.config.validate_responses:
            self.conformance.check_body(schema, body, where)
        if body is None:
            return Response(b"", status)
        if spec_path is not None:
            switches = self.config.for_endpoint(spec_path)
            if switches.drifts:
                body = Drift(switches).body(body, schema)
        return Response(_encoder.encode(body), status, media_type=JSON)

    def read_response(
        self, answer: reads.Answer, op: dict[str, Any], where: str, spec_path: str | None = None
    ) -> Response:
        """A non-list GET's answer: a file as it is; JSON checked against the operation's 200 body, then
        reshaped by the endpoint's drift switches (like every other JSON body)."""
        if isinstance(answer, FileBody):
            return Response(answer.content, 200, headers=answer.headers, media_type=answer.media_type)
        item_schema = spec.response_item_schema_name(op)
        if item_schema is None:
            return self.json_response(200, answer, spec.response_schema_name(op), where, spec_path)
        if self.config.validate_responses:
            self.conformance.check_items(item_schema, answer, where)
        if spec_path is not None:
            switches = self.config.for_endpoint(spec_path)
            if switches.drifts and isinstance(answer, list):
                answer = Drift(switches).items(answer, item_schema)
        return Response(_encoder.encode(answer), 200, media_type=JSON)

    def authorize(self, request: Request, method: str, spec_path: str) -> Company:
        grant = self.identity.authenticate(request.headers.get("authorization"))
        self.limiter.check(grant.client_id, f"{method} {request.url.path}", grant.company)
        code = self.config.for_endpoint(spec_path).missing_scope_code
        self.identity.authorize_scopes(grant, method, spec.scopes(method, spec_path), code)
        company = self.companies.get(grant.company)
        if company is None:
            raise unauthorized("The company of this token no longer exists.")
        return company
