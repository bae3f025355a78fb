"""Rate limit: N per minute per client per endpoint; 429 ErrorCode 4010 "Try again in N seconds.",
no Retry-After header. Uses a low limit on a private sandbox, so nothing waits for a minute."""

from __future__ import annotations

import re

import pytest
import requests

from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.quota import RateLimiter
from eaccounting_sandbox.server import SandboxServer

TRY_AGAIN = re.compile(r"Try again in (\d+) seconds\.$")


def test_over_the_limit_is_429_4010_without_retry_after(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 5})
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    with requests.Session() as session:
        statuses = [
            session.get(f"{fresh_sandbox.api_url}/customers", headers=auth, timeout=10) for _ in range(7)
        ]
    assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
    limited = statuses[-1]
    assert "Retry-After" not in limited.headers
    assert not any(h.lower().startswith("x-ratelimit") for h in limited.headers)
    body = limited.json()
    assert body["ErrorCode"] == 4010
    assert body["DeveloperErrorMessage"].startswith(
        "API calls quota exceeded! maximum admitted 5 per Minute."
    )
    match = TRY_AGAIN.search(body["DeveloperErrorMessage"])
    assert match
    assert 1 <= int(match.group(1)) <= 60
    assert "Errors" not in body


def test_the_limit_is_per_endpoint_and_per_client(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 2})
    mine = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    other_client = {
        "Authorization": "Bearer " + fresh_sandbox.mint_tokens(client_id="another-client")["access_token"]
    }
    url = f"{fresh_sandbox.api_url}/customers"
    assert [requests.get(url, headers=mine, timeout=10).status_code for _ in range(3)] == [200, 200, 429]
    # another endpoint of the same client still has budget
    assert requests.get(f"{fresh_sandbox.api_url}/articles", headers=mine, timeout=10).status_code == 200
    # another client on the same endpoint too
    assert requests.get(url, headers=other_client, timeout=10).status_code == 200
    # 429s are counted in the stats
    stats = fresh_sandbox.admin("GET", "stats")
    assert stats["endpoints"]["GET /v2/customers"]["429"] == 1
    # and the budget comes back (here: by reset, instead of waiting a minute)
    fresh_sandbox.admin("POST", "reset-rate-limits")
    assert requests.get(url, headers=mine, timeout=10).status_code == 200


def test_a_limit_of_zero_disables_it(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    with requests.Session() as session:
        codes = {
            session.get(f"{fresh_sandbox.api_url}/units", headers=auth, timeout=10).status_code
            for _ in range(50)
        }
    assert codes == {200}


def test_the_window_slides_and_the_wait_is_what_frees_a_slot() -> None:
    now = [1000.0]
    limiter = RateLimiter(lambda: 3, clock=lambda: now[0])
    for offset in (0.0, 10.0, 20.0):
        now[0] = 1000.0 + offset
        limiter.check("client", "GET /v2/customers")
    now[0] = 1030.0
    with pytest.raises(ApiError) as exc:
        limiter.check("client", "GET /v2/customers")
    assert exc.value.status == 429
    # the oldest hit (t=1000) leaves the window at t=1060: 30 seconds from now
    assert exc.value.message.endswith("Try again in 30 seconds.")
    now[0] = 1060.0
    limiter.check("client", "GET /v2/customers")  # a slot is free again, no 429
