"""The identity server over HTTP: code flow, client auth, refresh rotation, revocation, tenants."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer

CLIENT = ("sandbox-client", "sandbox-secret")
REDIRECT = "http://127.0.0.1:8765/callback"
SCOPES = "ea:api offline_access ea:sales"


def token_request(sandbox: SandboxServer, data: dict[str, str], basic: bool = True) -> requests.Response:
    if basic:
        return requests.post(sandbox.token_url, data=data, auth=CLIENT, timeout=10)
    body = {**data, "client_id": CLIENT[0], "client_secret": CLIENT[1]}
    return requests.post(sandbox.token_url, data=body, timeout=10)


def authorize(sandbox: SandboxServer, scope: str = SCOPES, **extra: str) -> str:
    params = {
        "client_id": CLIENT[0],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": scope,
        "state": "xyz",
        **extra,
    }
    response = requests.get(
        f"{sandbox.identity_url}/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def api_get(sandbox: SandboxServer, token: str, path: str = "/customers") -> requests.Response:
    return requests.get(sandbox.api_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_code_flow_issues_bearer_tokens_without_scope(sandbox: SandboxServer) -> None:
    code = authorize(sandbox)
    response = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert "scope" not in body
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    assert api_get(sandbox, body["access_token"]).status_code == 200
    # a code works once
    again = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_must_be_redeemed_with_the_same_redirect_uri(sandbox: SandboxServer) -> None:
    code = authorize(sandbox)
    response = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "x"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_authorize_rejects_non_loopback_redirects(sandbox: SandboxServer) -> None:
    params = {"client_id": CLIENT[0], "redirect_uri": "https://evil.example/cb", "scope": SCOPES}
    response = requests.get(
        f"{sandbox.identity_url}/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert response.status_code == 400


def test_client_secret_in_body_works_and_a_wrong_secret_is_invalid_client(sandbox: SandboxServer) -> None:
    refresh = sandbox.mint_tokens()["refresh_token"]
    wrong = requests.post(
        sandbox.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(CLIENT[0], "wrong"),
        timeout=10,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    # the failed attempt did not consume the refresh token
    ok = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": refresh}, basic=False)
    assert ok.status_code == 200, ok.text


def test_token_requests_must_be_form_encoded(sandbox: SandboxServer) -> None:
    refresh = sandbox.mint_tokens()["refresh_token"]
    response = requests.post(
        sandbox.token_url,
        json={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=CLIENT,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_the_old_refresh_token_fails(sandbox: SandboxServer) -> None:
    first = sandbox.mint_tokens()
    second = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["token_type"] == "bearer"
    assert "scope" not in rotated
    reuse = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    third = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]})
    assert third.status_code == 200
    assert api_get(sandbox, third.json()["access_token"]).status_code == 200


def test_unsupported_grant_type(sandbox: SandboxServer) -> None:
    response = token_request(sandbox, {"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_bootstrap_refresh_token_works_once(fresh_sandbox: SandboxServer) -> None:
    data = {"grant_type": "refresh_token", "refresh_token": "demo-no-bootstrap-refresh-token"}
    first = token_request(fresh_sandbox, data)
    assert first.status_code == 200
    assert api_get(fresh_sandbox, first.json()["access_token"], "/vouchers").status_code == 200
    assert token_request(fresh_sandbox, data).status_code == 400


def test_password_change_revokes_every_refresh_token_of_the_company(fresh_sandbox: SandboxServer) -> None:
    grants = [fresh_sandbox.mint_tokens() for _ in range(2)]
    revoked = fresh_sandbox.admin("POST", "password-change", {"company": "demo-no"})
    assert revoked["revoked_refresh_tokens"] >= 2
    for grant in grants:
        response = token_request(
            fresh_sandbox, {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_access_token_ttl_is_configurable(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": 5})
    refresh = fresh_sandbox.mint_tokens()["refresh_token"]
    body = token_request(fresh_sandbox, {"grant_type": "refresh_token", "refresh_token": refresh}).json()
    assert body["expires_in"] == 5


def test_expired_tokens_get_401_until_refreshed(fresh_sandbox: SandboxServer) -> None:
    grant = fresh_sandbox.mint_tokens()
    assert api_get(fresh_sandbox, grant["access_token"]).status_code == 200
    fresh_sandbox.admin("POST", "expire-access-tokens", {"company": "demo-no"})
    expired = api_get(fresh_sandbox, grant["access_token"])
    assert expired.status_code == 401
    assert expired.json()["ErrorCode"] == 4005
    refreshed = token_request(
        fresh_sandbox, {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    )
    assert api_get(fresh_sandbox, refreshed.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("scope", ["ea:api offline_access ea:sales", "ea:api ea:sales"])
def test_offline_access_decides_whether_a_refresh_token_is_issued(sandbox: SandboxServer, scope: str) -> None:
    code = authorize(sandbox, scope=scope)
    body = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    ).json()
    assert ("refresh_token" in body) == ("offline_access" in scope)


def test_each_token_is_bound_to_one_company(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "companies", {"company": "acme-se", "seed": 7, "country": "SE"})
    no = fresh_sandbox.mint_tokens("demo-no")["access_token"]
    se = fresh_sandbox.mint_tokens("acme-se")["access_token"]
    no_ids = {c["Id"] for c in api_get(fresh_sandbox, no).json()["Data"]}
    se_ids = {c["Id"] for c in api_get(fresh_sandbox, se).json()["Data"]}
    assert no_ids
    assert se_ids
    assert not no_ids & se_ids
    # a Norwegian customer id is unknown to the Swedish company's token
    assert api_get(fresh_sandbox, se, f"/customers/{next(iter(no_ids))}").status_code == 404
    # the code flow can pick the company too, and gets that company's bootstrap-free grant
    code = authorize(fresh_sandbox, company="acme-se")
    tokens = token_request(
        fresh_sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    ).json()
    assert {c["Id"] for c in api_get(fresh_sandbox, tokens["access_token"]).json()["Data"]} == se_ids
