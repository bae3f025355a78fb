"""Fault injection over real HTTP: 5xx, resets, truncated bodies, slow answers, lost write responses,
latency, and the admin switch that clears them."""

from __future__ import annotations

import json

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer


def auth(sandbox: SandboxServer) -> dict[str, str]:
    return {"Authorization": "Bearer " + sandbox.mint_tokens()["access_token"]}


def test_error_rate_gives_5xx_then_recovers(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"error_rate": 1.0, "error_statuses": [503], "max_faults": 2})
    url = f"{fresh_sandbox.api_url}/customers"
    codes = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert fresh_sandbox.admin("GET", "faults")["injected"] == {"error": 2}


def test_a_500_has_the_api_error_body(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"error_rate": 1.0, "error_statuses": [500], "max_faults": 1})
    response = requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10)
    assert response.status_code == 500
    assert set(response.json()) >= {"ErrorCode", "DeveloperErrorMessage", "ErrorId"}


def test_injected_429_has_the_rate_limit_body(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"rate_limit_rate": 1.0, "rate_limit_seconds": 1, "max_faults": 1})
    response = requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert response.json()["ErrorCode"] == 4010
    assert response.json()["DeveloperErrorMessage"].endswith("Try again in 1 seconds.")
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).status_code == 200


def test_connection_reset(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"reset_rate": 1.0, "max_faults": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10)
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).status_code == 200


def test_truncated_json_body(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"truncate_rate": 1.0, "max_faults": 1})
    response = requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).json()["Data"]


def test_truncated_body_with_a_dropped_connection(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin(
        "POST", "faults", {"truncate_rate": 1.0, "truncate_mode": "connection", "max_faults": 1}
    )
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10)
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).status_code == 200


def test_slow_response_exceeds_a_client_timeout(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"slow_rate": 1.0, "slow_seconds": 30, "max_faults": 1})
    with pytest.raises(requests.Timeout):
        requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=0.5)
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).status_code == 200


def test_a_slow_write_commits_although_the_client_timed_out(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    terms = requests.get(f"{fresh_sandbox.api_url}/termsofpayments", headers=headers, timeout=10).json()[
        "Data"
    ]
    body = {
        "Name": "Slow AS",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms[0]["Id"],
        "CustomerNumber": "SLOW-1",
    }
    fresh_sandbox.admin("POST", "faults", {"slow_rate": 1.0, "slow_seconds": 30, "methods": ["POST"]})
    with pytest.raises(requests.Timeout):
        requests.post(f"{fresh_sandbox.api_url}/customers", json=body, headers=headers, timeout=0.5)
    stored = fresh_sandbox.admin("GET", "objects", params={"collection": "customers"})
    assert [c["CustomerNumber"] for c in stored].count("SLOW-1") == 1


def test_truncation_hits_writes_only_when_methods_names_them(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    terms = requests.get(f"{fresh_sandbox.api_url}/termsofpayments", headers=headers, timeout=10).json()
    body = {
        "Name": "Cut AS",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms["Data"][0]["Id"],
    }
    url = f"{fresh_sandbox.api_url}/customers"
    fresh_sandbox.admin("POST", "faults", {"truncate_rate": 1.0})  # the default: reads only
    assert requests.post(url, json={**body, "CustomerNumber": "CUT-0"}, headers=headers, timeout=10).json()
    fresh_sandbox.admin("POST", "faults", {"truncate_rate": 1.0, "methods": ["POST"], "max_faults": 1})
    response = requests.post(url, json={**body, "CustomerNumber": "CUT-1"}, headers=headers, timeout=10)
    assert response.status_code == 201
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    fresh_sandbox.admin(
        "POST",
        "faults",
        {"truncate_rate": 1.0, "truncate_mode": "connection", "methods": ["POST"], "max_faults": 1},
    )
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.post(url, json={**body, "CustomerNumber": "CUT-2"}, headers=headers, timeout=10)
    stored = fresh_sandbox.admin("GET", "objects", params={"collection": "customers"})
    numbers = [c["CustomerNumber"] for c in stored]
    assert [numbers.count(f"CUT-{i}") for i in range(3)] == [1, 1, 1]  # each cut write committed
    assert fresh_sandbox.admin("GET", "stats")["endpoints"]["POST /v2/customers"] == {
        "201": 1,
        "truncated": 2,
    }


def test_faults_are_limited_to_methods_and_paths(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"error_rate": 1.0, "methods": ["GET"], "paths": ["/v2/articles"]})
    assert requests.get(f"{fresh_sandbox.api_url}/articles", headers=headers, timeout=10).status_code >= 500
    assert requests.get(f"{fresh_sandbox.api_url}/customers", headers=headers, timeout=10).status_code == 200
    fresh_sandbox.admin("POST", "faults", {"error_rate": 1.0, "methods": ["POST"], "paths": ["/v2/articles"]})
    assert requests.get(f"{fresh_sandbox.api_url}/articles", headers=headers, timeout=10).status_code == 200
    fresh_sandbox.admin("DELETE", "faults")
    assert fresh_sandbox.admin("GET", "faults") == {"active": False, "injected": {}}


def test_latency_still_answers(fresh_sandbox: SandboxServer) -> None:
    headers = auth(fresh_sandbox)
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 5, "jitter_ms": 5})
    assert requests.get(f"{fresh_sandbox.api_url}/units", headers=headers, timeout=10).status_code == 200


def test_the_identity_server_can_be_faulted_too(fresh_sandbox: SandboxServer) -> None:
    refresh = fresh_sandbox.mint_tokens()["refresh_token"]
    fresh_sandbox.admin(
        "POST", "faults", {"error_rate": 1.0, "error_statuses": [502], "paths": ["/connect"], "max_faults": 1}
    )
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    auth_pair = ("sandbox-client", "sandbox-secret")
    assert requests.post(fresh_sandbox.token_url, data=data, auth=auth_pair, timeout=10).status_code == 502
    # the failed attempt never reached the identity server, so the refresh token still works
    assert requests.post(fresh_sandbox.token_url, data=data, auth=auth_pair, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"error_rate": 2},
        {"nope": 1},
        {"error_statuses": [404]},
        {"churn": {"creates": 1}},
        {"churn": {"company": "demo-no", "bogus": 1}},
        {"latency_ms": "fast"},
        {"paths": "/v2"},
        {"max_faults": -1},
        {"truncate_mode": "sideways"},
    ],
)
def test_bad_fault_specs_are_rejected(sandbox: SandboxServer, spec: dict[str, object]) -> None:
    response = requests.post(f"{sandbox.base_url}/_admin/faults", json=spec, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
