"""The identity server: ``/connect/authorize``, ``/connect/token`` and the bearer-token checks.

Emulates identity.vismaonline.com (docs/API_FACTS.md#token-lifetimes-and-rotation): form-encoded token
requests, client authentication by body secret or HTTP Basic, ``token_type`` "bearer" in lower case and no
``scope`` in the token response, and refresh-token rotation (each refresh token works exactly once; the old
one answers 400 ``invalid_grant`` afterwards). Every grant is bound to one company.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from eaccounting_sandbox.error_responses import FORBIDDEN, NO_ACCESS_TO_SCOPES, forbidden, unauthorized
from eaccounting_sandbox.switches import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxConfig

ALL_SCOPES = (
    "ea:api",
    "offline_access",
    "ea:sales",
    "ea:purchase",
    "ea:accounting",
)
CODE_TTL = 300
PRUNE_AT = 50_000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# A missing scope: Visma documents 4006 NoAccessToScopes ("a request towards an endpoint your scopes do
# not cover"); integrators report 403 bodies with 4011, which Visma uses for "the user has no access to
# eAccounting for this company". Which one the live API sends for scopes is UNVERIFIED (switch
# ``missing_scope_code``); the 4011 wording is the one the sandbox used before the switch existed.
SCOPE_DENIALS = {
    NO_ACCESS_TO_SCOPES: (
        "No access to the scope {} that this endpoint requires.",
        "No access to the scopes this endpoint requires. Required one of: {}",
    ),
    FORBIDDEN: (
        "The access token lacks the required scope {}.",
        "The access token lacks a required scope. Required one of: {}",
    ),
}


@dataclass(frozen=True)
class Grant:
    """What a token stands for: one client's authorization for one company with some scopes."""

    client_id: str
    company: str
    scopes: frozenset[str]


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class AuthCode:
    grant: Grant
    redirect_uri: str
    expires_at: float


def bootstrap_refresh_token(company: str) -> str:
    return f"{company}-bootstrap-refresh-token"


class IdentityServer:
    def __init__(self, config: SandboxConfig, clients: dict[str, str] | None = None) -> None:
        self.config = config
        self.clients = clients or {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, AuthCode] = {}

    # -- tenants and admin -------------------------------------------------------------------
    def add_company(self, company: str) -> None:
        """Give a new company its bootstrap refresh token (all scopes, demo client, single use)."""
        grant = Grant(DEMO_CLIENT_ID, company, frozenset(ALL_SCOPES))
        self._refresh[bootstrap_refresh_token(company)] = grant

    def mint(
        self, company: str, scopes: list[str], client_id: str = DEMO_CLIENT_ID, ttl: int | None = None
    ) -> dict[str, Any]:
        grant = Grant(client_id, company, frozenset(scopes))
        return self._issue(grant, ttl=ttl, with_refresh=True)

    def revoke_company(self, company: str) -> int:
        """'The user changed their password': every refresh token of the company dies."""
        doomed = [token for token, grant in self._refresh.items() if grant.company == company]
        for token in doomed:
            del self._refresh[token]
        return len(doomed)

    def expire_access_tokens(self, company: str | None = None) -> int:
        """Make access tokens expire now (lets tests reach the 401-then-refresh path without sleeping)."""
        count = 0
        for token in self._access.values():
            if company is None or token.grant.company == company:
                token.expires_at = 0.0
                count += 1
        return count

    # -- bearer checks ---------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Grant:
        """The grant behind an ``Authorization: Bearer`` header, or ApiError 401."""
        if not authorization:
            raise unauthorized("Authorization has been denied for this request. No bearer token.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization has been denied for this request. Use a bearer token.")
        found = self._access.get(token.strip())
        if found is None:
            raise unauthorized("Authorization has been denied for this request. Unknown token.")
        if found.expires_at <= time.time():
            raise unauthorized("Authorization has been denied for this request. Token expired.")
        return found.grant

    @staticmethod
    def authorize_scopes(
        grant: Grant, method: str, op_scopes: list[str], code: int = NO_ACCESS_TO_SCOPES
    ) -> None:
        """Scope enforcement: ea:api always; reads accept full or _readonly; writes need full.
        A missing scope is 403 with ErrorCode ``code`` (4006 or 4011, see ``SCOPE_DENIALS``)."""
        one, any_of = SCOPE_DENIALS[code]
        if "ea:api" not in grant.scopes:
            raise forbidden(one.format("ea:api"), code)
        if not op_scopes:
            return
        if method.upper() in ("GET", "HEAD"):
            accepted = set(op_scopes)
        else:
            # Some write operations list a _readonly scope in the spec (e.g. POST /customerinvoices);
            # a write never works with a read-only scope, so map those to the full scope.
            accepted = {s.removesuffix("_readonly") for s in op_scopes}
        if not accepted & grant.scopes:
            needed = " ".join(sorted(accepted))
            raise forbidden(any_of.format(needed), code)

    # -- endpoints ---------------------------------------------------------------------------------
    async def token_endpoint(self, request: Request) -> Response:  # noqa: PLR0911 - one return per OAuth error
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", "Token requests must be application/x-www-form-urlencoded")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        client_id = self._client_from(request, form)
        if client_id is None:
            return _oauth_error("invalid_client", status=401)
        grant_type = form.get("grant_type", "")
        if grant_type == "refresh_token":
            grant = self._refresh.pop(form.get("refresh_token", ""), None)
            if grant is None or grant.client_id != client_id:
                return _oauth_error("invalid_grant")
            return _token_response(self._issue(grant, ttl=None, with_refresh=True))
        if grant_type == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if (
                code is None
                or code.expires_at <= time.time()
                or code.grant.client_id != client_id
                or code.redirect_uri != form.get("redirect_uri", "")
            ):
                return _oauth_error("invalid_grant")
            with_refresh = "offline_access" in code.grant.scopes
            return _token_response(self._issue(code.grant, ttl=None, with_refresh=with_refresh))
        return _oauth_error("unsupported_grant_type")

    async def authorize_endpoint(self, request: Request) -> Response:
        """Auto-consent: redirect straight back with a code for the requested scopes."""
        params = request.query_params
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id not in self.clients:
            return _oauth_error("invalid_client", "unknown client_id")
        if urlsplit(redirect_uri).hostname not in LOOPBACK_HOSTS or not redirect_uri.startswith("http"):
            return _oauth_error("invalid_request", "redirect_uri must be on http://127.0.0.1 or localhost")
        if params.get("response_type", "code") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type"}, params.get("state"))
        scopes = frozenset(params.get("scope", "").split())
        # Sandbox extension: pick the company (the real consent screen lets the user choose one).
        company = params.get("company") or self.config.companies[0]
        if bootstrap_refresh_token(company) not in self._refresh and not self._company_known(company):
            return _redirect(redirect_uri, {"error": "access_denied"}, params.get("state"))
        code = secrets.token_urlsafe(24)
        self._codes[code] = AuthCode(Grant(client_id, company, scopes), redirect_uri, time.time() + CODE_TTL)
        return _redirect(redirect_uri, {"code": code}, params.get("state"))

    # -- helpers -------------------------------------------------------------------------------------
    def _company_known(self, company: str) -> bool:
        return company in self.config.companies or any(g.company == company for g in self._refresh.values())

    def _client_from(self, request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            return None
        return client_id

    def _issue(self, grant: Grant, *, ttl: int | None, with_refresh: bool) -> dict[str, Any]:
        lifetime = self.config.access_token_ttl if ttl is None else ttl
        if len(self._access) >= PRUNE_AT:
            # Long-running sandboxes (benchmarks, demos) mint many tokens: forget the expired ones.
            now = time.time()
            self._access = {k: v for k, v in self._access.items() if v.expires_at > now}
        access = secrets.token_urlsafe(32)
        self._access[access] = AccessToken(grant, time.time() + lifetime)
        body: dict[str, Any] = {"access_token": access, "expires_in": lifetime, "token_type": "bearer"}
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = grant
            body["refresh_token"] = refresh
        return body


def _token_response(body: dict[str, Any]) -> JSONResponse:
    # RFC 6749 5.1: token responses must not be cached.
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth_error(code: str, description: str | None = None, status: int = 400) -> JSONResponse:
    body = {"error": code}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status)


def _redirect(uri: str, params: dict[str, str], state: str | None) -> RedirectResponse:
    if state is not None:
        params = {**params, "state": state}
    separator = "&" if urlsplit(uri).query else "?"
    return RedirectResponse(uri + separator + urlencode(params), status_code=302)
