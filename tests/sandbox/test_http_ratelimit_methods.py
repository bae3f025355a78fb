"""The ``rate_limit_methods`` switch: a URL's methods share one budget (``shared``, the default) or each
method has its own (``split``). A low limit on a private sandbox, so nothing waits for a minute."""

from __future__ import annotations

import re

import pytest
import requests

from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.quota import RateLimiter
from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import SandboxConfig

TRY_AGAIN = re.compile(r"Try again in (\d+) seconds\.$")


def test_shared_counts_every_method_of_a_url_together_split_each_apart() -> None:
    methods = ["shared"]
    limiter = RateLimiter(lambda: 2, clock=lambda: 1000.0, methods=lambda: methods[0])
    limiter.check("client", "GET /v2/customers")
    limiter.check("client", "GET /v2/customers")
    with pytest.raises(ApiError) as limited:
        limiter.check("client", "POST /v2/customers")
    assert (limited.value.status, limited.value.error_code) == (429, 4010)
    limiter.check("client", "GET /v2/articles")  # another URL has its own budget either way
    methods[0] = "split"
    limiter.reset()
    for endpoint in ("GET /v2/customers", "GET /v2/customers", "POST /v2/customers", "POST /v2/customers"):
        limiter.check("client", endpoint)
    with pytest.raises(ApiError):
        limiter.check("client", "POST /v2/customers")


def test_the_switch_defaults_to_shared_and_takes_only_its_two_values() -> None:
    assert SandboxConfig().rate_limit_methods == "shared"
    config = SandboxConfig()
    config.update({"rate_limit_methods": "split"})
    assert config.rate_limit_methods == "split"
    with pytest.raises(ValueError, match="rate_limit_methods"):
        config.update({"rate_limit_methods": "per_method"})


@pytest.mark.parametrize(("methods", "post_status"), [("shared", 429), ("split", 400)])
def test_over_http_a_post_after_the_gets_is_429_only_when_shared(
    fresh_sandbox: SandboxServer, methods: str, post_status: int
) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 2, "rate_limit_methods": methods})
    assert fresh_sandbox.admin("GET", "config")["rate_limit_methods"] == methods
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    url = f"{fresh_sandbox.api_url}/customers"
    with requests.Session() as session:
        assert [session.get(url, headers=auth, timeout=10).status_code for _ in range(2)] == [200, 200]
        # an empty customer is a 400 once it is admitted; the quota is checked first
        posted = session.post(url, headers=auth, json={}, timeout=10)
    assert posted.status_code == post_status
    if post_status == 429:
        body = posted.json()
        assert body["ErrorCode"] == 4010
        assert TRY_AGAIN.search(body["DeveloperErrorMessage"])
        assert "Retry-After" not in posted.headers
    stats = fresh_sandbox.admin("GET", "stats")["endpoints"]
    assert stats["POST /v2/customers"] == {str(post_status): 1}
