"""EAccountingClient against the running sandbox: limiter, retry policy, error mapping, secrecy."""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from typing import Any

import pytest
import requests
from api_support import CLIENT_SECRET, WRITE_SCOPES, MakeConfig

from eaccounting_api.api_client import BODY_CHUNK_BYTES, EAccountingClient
from eaccounting_api.connection import authenticator_from_config
from eaccounting_api.errors import (
    AmbiguousWriteError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReportedError,
    ServerError,
    TruncatedBodyError,
)
from eaccounting_api.ratelimit import RateLimiter
from eaccounting_api.retry import RetryPolicy
from eaccounting_api.tokens import FileTokenStore, TokenSet

Retries = list[tuple[BaseException, float]]


def make_client(
    config: dict[str, Any],
    *,
    sleep: Any = None,
    limiter: RateLimiter | None = None,
    timeout: float = 10.0,
    max_tries: int = 6,
) -> tuple[EAccountingClient, Retries]:
    """A client whose retry sleeps are recorded (and skipped), so tests assert on computed waits."""
    seen: Retries = []
    policy = RetryPolicy(
        max_tries=max_tries, base_delay=0.01, max_delay=0.05, sleep=sleep or (lambda s: None)
    )
    policy.listeners.append(lambda exc, wait, attempt: seen.append((exc, wait)))
    client = EAccountingClient(
        config["api_url"],
        authenticator_from_config(config),
        limiter=limiter or RateLimiter(10_000),
        retry=policy,
        timeout=timeout,
        user_agent=config["user_agent"],
        client_id=config["client_id"],
    )
    return client, seen


def endpoint_stats(server: Any, endpoint: str) -> dict[str, int]:
    stats: dict[str, dict[str, int]] = server.admin("GET", "stats")["endpoints"]
    return stats.get(endpoint, {})


def new_customer(client: EAccountingClient, name: str) -> dict[str, Any]:
    terms = client.get_json("/termsofpayments", params={"$pagesize": 1})["Data"][0]["Id"]
    return {
        "Name": name,
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms,
    }


def test_429_waits_the_parsed_seconds_then_succeeds(fresh_sandbox: Any, make_config: MakeConfig) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 3})
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # "time passes": the server's window empties
        slept.append(seconds)
        fresh_sandbox.admin("POST", "reset-rate-limits")

    client, seen = make_client(make_config(fresh_sandbox), sleep=sleep)
    for _ in range(4):
        client.get_json("/customers", params={"$pagesize": 1})
    assert len(seen) == 1
    exc, wait = seen[0]
    assert isinstance(exc, RateLimitError)
    assert exc.error_code == 4010
    asked = int(re.search(r"Try again in (\d+) seconds", exc.developer_message or "").group(1))  # type: ignore[union-attr]
    assert asked > 1  # the sandbox's window is 60 s, so this is not the exponential schedule
    assert exc.retry_after == asked
    assert wait == asked
    assert slept == [asked]
    assert endpoint_stats(fresh_sandbox, "GET /v2/customers") == {"200": 4, "429": 1}


def test_client_limiter_prevents_429(fresh_sandbox: Any, make_config: MakeConfig) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 5})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        fresh_sandbox.admin("POST", "reset-rate-limits")

    limiter = RateLimiter(5, sleep=sleep)
    client, seen = make_client(make_config(fresh_sandbox), limiter=limiter)
    for _ in range(12):
        client.get_json("/customers", params={"$pagesize": 1})
    assert seen == []
    assert endpoint_stats(fresh_sandbox, "GET /v2/customers") == {"200": 12}
    # Requests 6..10 are held for one window, 11..12 for two.
    assert len(waits) == 7
    assert all(59.0 < w <= limiter.window_seconds for w in waits[:5])
    assert all(2 * 59.0 < w <= 2 * limiter.window_seconds for w in waits[5:])


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"error_rate": 1.0, "error_statuses": [500, 502, 503, 504]}, ServerError),
        ({"reset_rate": 1.0}, requests.ConnectionError),
        ({"slow_rate": 1.0, "slow_seconds": 3}, requests.ReadTimeout),
        ({"truncate_rate": 1.0}, TruncatedBodyError),
        ({"truncate_rate": 1.0, "truncate_mode": "connection"}, requests.exceptions.ChunkedEncodingError),
    ],
    ids=["5xx", "connection-reset", "timeout", "truncated-json", "reset-mid-body"],
)
def test_get_recovers_from_5xx_reset_and_timeout(
    fresh_sandbox: Any, make_config: MakeConfig, fault: dict[str, Any], expected: type
) -> None:
    client, seen = make_client(make_config(fresh_sandbox), timeout=0.5)
    client.get_json("/customers", params={"$pagesize": 1})  # token refreshed before faults start
    fresh_sandbox.admin("POST", "faults", {**fault, "max_faults": 2, "methods": ["GET"]})
    body = client.get_json("/customers", params={"$pagesize": 2})
    assert len(body["Data"]) == 2
    assert len(seen) == 2
    for exc, wait in seen:
        assert isinstance(exc, expected)
        assert 0 <= wait <= 0.05


def test_get_gives_up_after_max_tries_and_4xx_fails_fast(fresh_sandbox: Any, make_config: MakeConfig) -> None:
    client, seen = make_client(make_config(fresh_sandbox), max_tries=3)
    client.get_json("/customers", params={"$pagesize": 1})
    fresh_sandbox.admin(
        "POST", "faults", {"error_rate": 1.0, "error_statuses": [503], "paths": ["/v2/customers"]}
    )
    with pytest.raises(ServerError):
        client.get_json("/customers")
    assert len(seen) == 2
    assert endpoint_stats(fresh_sandbox, "GET /v2/customers").get("503") == 3
    fresh_sandbox.admin("DELETE", "faults")

    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as info:
        client.get_json(f"/customers/{missing}")
    assert len(seen) == 2  # no retry
    assert f"GET /v2/customers/{missing}" in str(info.value)
    assert "client_id=sandbox-client" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "outcome", "committed"),
    [
        ({"lost_response_rate": 1.0}, "lost_response", 1),
        ({"error_rate": 1.0, "error_statuses": [502]}, "502", None),
        ({"reset_rate": 1.0}, "reset", None),
        # Read timeout on our side; the sandbox commits first and answers late: the realistic case.
        ({"slow_rate": 1.0, "slow_seconds": 1.5}, "slow", 1),
        # The write commits, then its answer is cut: as many bytes as announced, or a reset mid-body.
        ({"truncate_rate": 1.0}, "truncated", 1),
        ({"truncate_rate": 1.0, "truncate_mode": "connection"}, "truncated", 1),
    ],
    ids=["lost-response", "5xx", "reset", "read-timeout", "truncated-json", "reset-mid-body"],
)
def test_ambiguous_write_raises_and_is_not_resent(
    fresh_sandbox: Any,
    make_config: MakeConfig,
    fault: dict[str, Any],
    outcome: str | None,
    committed: int | None,
) -> None:
    client, seen = make_client(make_config(fresh_sandbox, scopes=WRITE_SCOPES), timeout=0.5)
    name = f"Ambiguous {uuid.uuid4().hex[:8]}"
    body = new_customer(client, name)
    fresh_sandbox.admin("POST", "faults", {**fault, "max_faults": 1, "methods": ["POST"]})
    with pytest.raises(AmbiguousWriteError) as info:
        client.post_json("/customers", body)
    assert seen == []
    # The sandbox counts a request when it has finished with it (a slow one finishes later).
    for _ in range(100):
        if endpoint_stats(fresh_sandbox, "POST /v2/customers"):
            break
        time.sleep(0.05)
    stats = endpoint_stats(fresh_sandbox, "POST /v2/customers")
    assert sum(stats.values()) == 1, stats  # sent exactly once
    if outcome is not None:
        assert stats == {outcome: 1}
    assert "NOT re-sent" in str(info.value)
    assert "POST /customers" in str(info.value)
    stored = fresh_sandbox.admin("GET", "objects", params={"collection": "customers"})
    matches = [c for c in stored if c.get("Name") == name]
    if committed is not None:
        assert len(matches) == committed
    assert len(matches) <= 1


def test_scope_error_names_the_scope(sandbox: Any, make_config: MakeConfig) -> None:
    config = make_config(sandbox, scopes=["ea:api", "offline_access", "ea:purchase_readonly"])
    client, seen = make_client(config)
    with pytest.raises(PermissionDeniedError) as info:
        client.get_json("/customerinvoices", params={"$pagesize": 1})
    assert info.value.missing_scopes[0] == "ea:sales_readonly"
    assert "add `ea:sales_readonly`" in str(info.value)
    assert "GET /customerinvoices" in str(info.value)
    assert seen == []


class RecordingStore(FileTokenStore):
    """Remembers every token written, so the test knows every secret that existed."""

    written: list[TokenSet]

    def write(self, tokens: TokenSet) -> None:
        self.written.append(tokens)
        super().write(tokens)


def test_no_token_or_secret_in_logs_or_exceptions(
    fresh_sandbox: Any, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    config = make_config(fresh_sandbox)
    authenticator = authenticator_from_config(config)
    store = RecordingStore(config["token_store_path"])
    store.written = []
    authenticator.store = store
    client, _ = make_client(config)
    texts: list[str] = []

    def expect_error(call: Any) -> None:
        with pytest.raises(ReportedError) as info:  # per-request errors and ReauthorizationRequired
            call()
        texts.append(str(info.value))
        texts.append(repr(info.value))
        texts.append("".join(traceback.format_exception(info.value)))

    client.get_json("/customers", params={"$pagesize": 1})  # seed + refresh
    fresh_sandbox.admin("POST", "expire-access-tokens", {})
    client.get_json("/customers", params={"$pagesize": 1})  # 401 -> refresh -> retry
    expect_error(lambda: client.get_json("/suppliers"))  # 403 scope
    expect_error(lambda: client.get_json(f"/customers/{uuid.uuid4()}"))  # 404
    expect_error(lambda: client.post_json("/customers", {"Name": "x"}))  # 403 (read-only grant)
    fresh_sandbox.admin("POST", "password-change", {"company": "demo-no"})
    fresh_sandbox.admin("POST", "expire-access-tokens", {})
    expect_error(lambda: client.get_json("/customers"))  # invalid_grant
    texts.append(repr(authenticator))
    texts.append(repr(store.read()))
    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(str(record.args) for record in caplog.records)

    secrets = {CLIENT_SECRET, config["refresh_token"]}
    for tokens in store.written:
        secrets.update({tokens.access_token, tokens.refresh_token})
    assert len(store.written) >= 2
    assert len(caplog.records) > 5
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
    assert "re-authorize" in blob  # the invalid_grant case really was exercised
    assert "ea:purchase_readonly" in blob


def test_bodies_are_read_in_large_chunks_and_connections_reused(
    sandbox: Any, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page is read in ``BODY_CHUNK_BYTES`` chunks, not requests' 10 KB ones (~450 trips through
    urllib3 per page of 1,000 invoices), and its connection goes back to the pool once read."""
    sizes: list[int] = []
    iter_content = requests.Response.iter_content

    def spy(self: requests.Response, chunk_size: int = 1, decode_unicode: bool = False) -> Any:
        sizes.append(chunk_size)
        return iter_content(self, chunk_size, decode_unicode)

    client, _ = make_client(make_config(sandbox))
    client.get_json("/customers", params={"$pagesize": 1})  # the token, before the spy
    monkeypatch.setattr(requests.Response, "iter_content", spy)
    pages = [client.get_json("/customerinvoices", params={"$pagesize": 100, "$page": n}) for n in (1, 2, 3)]
    assert [len(page["Data"]) for page in pages] == [100, 100, 100]
    assert sizes == [BODY_CHUNK_BYTES] * 3
    pools = client._adapter.poolmanager.pools  # iterating it raises: urllib3 lists its keys instead
    keys = pools.keys()
    opened = [pools[key].num_connections for key in keys]
    assert opened == [1]  # one thread: every request on the one connection, returned after each body
