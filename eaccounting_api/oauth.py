"""The Visma identity server's OAuth protocol: paths, scopes, the authorize URL, token forms and answers.

Identity facts (docs/API_FACTS.md#token-lifetimes-and-rotation): the token endpoint takes HTTP Basic
client credentials and a form-encoded body; every response carries a NEW refresh token and the old one
stops working; ``ea:api`` and ``offline_access`` are mandatory scopes. Stateless: the token lifecycle (when to
refresh, locking, rotation) is ``eaccounting_api.authenticator.EAccountingAuthenticator``'s.

No token, code or secret is ever put in an exception message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import requests

from eaccounting_api.errors import (
    AuthenticationError,
    EAccountingError,
    ReauthorizationRequired,
    error_from_response,
)
from eaccounting_api.tokens import TokenSet

MANDATORY_SCOPES = ("ea:api", "offline_access")
TOKEN_PATH = "/connect/token"  # noqa: S105 - a URL path, not a password
AUTHORIZE_PATH = "/connect/authorize"


def full_scope_list(scopes: Iterable[str]) -> list[str]:
    """``scopes`` plus the mandatory ones, without duplicates, mandatory first."""
    result = list(MANDATORY_SCOPES)
    for scope in scopes:
        if scope not in result:
            result.append(scope)
    return result


def authorize_url(
    identity_url: str, client_id: str, scopes: Iterable[str], redirect_uri: str, state: str | None = None
) -> str:
    """Where the tenant's user grants access (authorization code flow)."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(full_scope_list(scopes)),
    }
    if state:
        params["state"] = state
    return f"{identity_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(params)}"


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def code_form(code: str, redirect_uri: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}


def tokens_from_response(
    response: requests.Response, *, previous: TokenSet | None, client_id: str | None
) -> TokenSet:
    """The ``TokenSet`` of a 2xx token response (``previous`` carries the rotation count on)."""
    try:
        return TokenSet.from_token_response(response.json(), previous=previous)
    except (ValueError, KeyError, TypeError):
        raise EAccountingError(
            "identity token response lacks access_token/refresh_token",
            status=response.status_code,
            method="POST",
            path=TOKEN_PATH,
            client_id=client_id,
        ) from None


def token_error(
    response: requests.Response, grant: str, *, client_id: str | None
) -> EAccountingError | ReauthorizationRequired:
    """The error for a refused token request. ``invalid_grant`` (password change, revoked grant, a
    refresh token used elsewhere) means only the user can help: ``ReauthorizationRequired``."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    oauth_error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description") if isinstance(body, dict) else None
    where: dict[str, Any] = {"status": response.status_code, "method": "POST", "path": TOKEN_PATH}
    if oauth_error == "invalid_grant":
        what = "refresh token" if grant == "refresh_token" else "authorization code"
        return ReauthorizationRequired(
            f"identity rejected the {what} (invalid_grant: the password was changed, access was "
            "revoked, or the token was already used)",
            error_code=oauth_error,
            developer_message=description,
            client_id=client_id,
            **where,
        )
    if oauth_error in ("invalid_client", "unauthorized_client"):
        return AuthenticationError(
            f"identity rejected the client credentials ({oauth_error}): check client_id and client_secret",
            error_code=oauth_error,
            developer_message=description,
            client_id=client_id,
            **where,
        )
    error = error_from_response(response, client_id=client_id, path=TOKEN_PATH)
    if oauth_error:
        error.error_code = oauth_error
        error.developer_message = description
    return error
