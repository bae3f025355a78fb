"""Unit-level tests of the shared client's pure parts (no server needed)."""

from __future__ import annotations

import json
import os
import random
import stat
import threading
from pathlib import Path

import pytest
import requests

from eaccounting_api.errors import (
    AmbiguousWriteError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    ServerError,
    TokenStoreError,
    TransportError,
    error_from_response,
    parse_retry_after,
)
from eaccounting_api.ratelimit import RateLimiter
from eaccounting_api.retry import RetryPolicy, request_was_sent
from eaccounting_api.tokens import FileTokenStore, TokenSet
from tap_eaccounting.auth_cli import main, minimal_scopes, spec_stream_scopes

ERROR_ID = "6f1c2a2e-0000-4000-8000-000000000001"


def response(
    status: int, body: object, method: str = "GET", url: str = "https://x/v2/customers"
) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode() if body is not None else b""  # building input, not mocking
    resp.headers["Content-Type"] = "application/json"
    resp.request = requests.Request(method, url).prepare()
    resp.url = url
    return resp


def test_400_carries_error_id_code_message_path_and_client_id() -> None:
    body = {
        "ErrorCode": 2000,
        "DeveloperErrorMessage": "DataModelValidationError",
        "ErrorId": ERROR_ID,
        "Errors": [{"Field": "Name", "ErrorCode": "Required", "Message": "Name is required", "Key": None}],
    }
    err = error_from_response(response(400, body, "POST", "https://x/v2/customers?x=1"), client_id="cid-1")
    assert isinstance(err, BadRequestError)
    text = str(err)
    for needle in (
        ERROR_ID,
        "ErrorCode=2000",
        "DataModelValidationError",
        "POST /v2/customers",
        "cid-1",
        "Name",
    ):
        assert needle in text
    assert "x=1" not in text
    assert err.as_dict()["Errors"][0]["Field"] == "Name"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, 3000, NotFoundError),
        (409, 4000, ConflictError),
        (400, 4000, ConflictError),
        (503, None, ServerError),
    ],
)
def test_status_map(status: int, code: int | None, cls: type) -> None:
    err = error_from_response(response(status, {"ErrorCode": code} if code else None), client_id=None)
    assert type(err) is cls


def test_429_parses_try_again_seconds_and_prefers_retry_after() -> None:
    msg = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 17 seconds."
    resp = response(429, {"ErrorCode": 4010, "DeveloperErrorMessage": msg, "ErrorId": ERROR_ID})
    err = error_from_response(resp, client_id="c")
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 17
    resp.headers["Retry-After"] = "3"
    assert parse_retry_after(resp, msg) == 3
    assert RetryPolicy().wait_for(err, attempt=5) == 17


def test_403_scope_error_names_the_scope_to_add() -> None:
    body = {
        "ErrorCode": 4011,
        "DeveloperErrorMessage": "ForbiddenRequestException - The access token lacks a required scope.",
        "ErrorId": ERROR_ID,
    }
    err = error_from_response(response(403, body, "GET", "https://x/v2/customerinvoices"), client_id="c")
    assert isinstance(err, PermissionDeniedError)
    assert err.missing_scopes[0] == "ea:sales_readonly"
    assert "`ea:sales_readonly`" in str(err)
    write = error_from_response(
        response(403, body, "POST", "https://x/v2/customerinvoices/abc/payments"), client_id="c"
    )
    assert write.missing_scopes == ("ea:sales",)  # type: ignore[attr-defined]


def test_403_company_inactive_is_not_called_a_scope_problem() -> None:
    body = {"ErrorCode": 4004, "DeveloperErrorMessage": "ForbiddenRequestException - company is not active"}
    err = error_from_response(response(403, body), client_id="c")
    assert isinstance(err, PermissionDeniedError)
    assert err.missing_scopes == ()


def test_reauthorization_message_says_how() -> None:
    text = str(ReauthorizationRequired("refresh token rejected", client_id="c"))
    assert "re-authorize" in text
    assert "auth url" in text
    assert "auth exchange" in text


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, rng=random.Random(1))
    exc = ServerError(status=503)
    for attempt in range(1, 10):
        cap = min(4.0, 0.5 * 2 ** (attempt - 1))
        waits = [policy.wait_for(exc, attempt) for _ in range(50)]
        assert all(0 <= w <= cap for w in waits)
        assert max(waits) > cap / 2  # jitter spans the range


def test_connect_failure_is_known_unsent() -> None:
    with pytest.raises(requests.ConnectionError) as info:
        requests.post("http://127.0.0.1:9/nothing-listens-here", timeout=2)
    assert request_was_sent(info.value) is False
    assert request_was_sent(requests.ReadTimeout("read timed out")) is True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_limiter_never_exceeds_budget_per_window_and_keys_per_endpoint() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, window_seconds=60.0, clock=clock, sleep=clock.sleep)
    key = limiter.key("GET", "/v2/customers/0c5b6a1e")
    assert key == limiter.key("PUT", "/customers/ffff?x=1") == "/customers/{customerId}"
    slots = [clock.now + limiter.reserve(key) for _ in range(35)]
    assert slots[:10] == [0.0] * 10
    assert slots[10:20] == [60.0] * 10
    assert slots[30] == 180.0
    for start in slots:  # any window of 60 s holds at most 10 sends
        assert sum(1 for s in slots if start <= s < start + 60.0) <= 10
    assert limiter.reserve(limiter.key("GET", "/customerinvoices")) == 0.0  # other endpoint unaffected


def test_limiter_is_thread_safe() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, window_seconds=60.0, clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            wait = limiter.reserve("k")
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == sorted([60.0 * (i // 100) for i in range(400)])


def test_token_store_atomic_write_mode_0600_and_no_secret_in_errors(tmp_path: os.PathLike[str]) -> None:
    store = FileTokenStore(os.path.join(tmp_path, "sub", "tokens.json"))
    assert store.read() is None
    tokens = TokenSet("ACCESS-SECRET", "REFRESH-SECRET", expires_at=2e9)
    with store.lock():
        store.write(tokens)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.read() == tokens
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert "SECRET" not in repr(tokens)
    store.path.write_text('{"access_token": "ACCESS-SECRET", "refresh_')
    with pytest.raises(TokenStoreError) as info:
        store.read()
    assert "SECRET" not in str(info.value)


def test_auth_cli_reports_a_corrupt_token_store_in_one_line(
    tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = Path(tmp_path) / "tokens.json"
    store.write_text('{"access_token": "ACCESS-SECRET", "refresh_')
    config = Path(tmp_path) / "config.json"
    config.write_text(
        json.dumps({"client_id": "cid", "client_secret": "CLIENT-SECRET", "token_store_path": str(store)})
    )
    assert main(["--config", str(config), "status"]) == 1  # a FatalError, but not a dead grant (2)
    err = capsys.readouterr().err
    assert err.count("ERROR:") == 1
    assert "corrupt" in err
    assert "Traceback" not in err
    assert "SECRET" not in err


def test_token_store_lock_is_reentrant_and_excludes_other_threads(tmp_path: os.PathLike[str]) -> None:
    store = FileTokenStore(os.path.join(tmp_path, "t.json"))
    order: list[str] = []
    started = threading.Event()

    def other() -> None:
        started.set()
        with store.lock():
            order.append("other")

    with store.lock():
        with store.lock():
            order.append("nested")
        thread = threading.Thread(target=other)
        thread.start()
        started.wait(5)
        thread.join(0.2)  # gives the thread a chance to (wrongly) get in; correctness needs no timing
        order.append("released")
    thread.join(5)
    assert order == ["nested", "released", "other"]


def test_minimal_scopes_prefers_readonly_and_is_minimal() -> None:
    mapping = {
        "customers": ("ea:sales", "ea:sales_readonly"),
        "users": ("ea:accounting", "ea:accounting_readonly", "ea:sales", "ea:sales_readonly"),
        "vouchers": ("ea:accounting", "ea:accounting_readonly"),
        "sales_document_attachments": ("ea:sales",),
    }
    assert minimal_scopes(mapping, ["customers", "users"]) == ["ea:sales_readonly"]
    assert minimal_scopes(mapping, ["users"]) == ["ea:accounting_readonly"]
    assert minimal_scopes(mapping, ["customers", "vouchers"]) == [
        "ea:accounting_readonly",
        "ea:sales_readonly",
    ]
    assert minimal_scopes(mapping, ["sales_document_attachments", "customers"]) == ["ea:sales"]
    assert minimal_scopes(mapping, ["customers"], readonly=False) == ["ea:sales"]
    with pytest.raises(ValueError, match="nope"):
        minimal_scopes(mapping, ["nope"])
    every = minimal_scopes(spec_stream_scopes())
    # /salesdocumentattachments accepts only ea:sales, which also covers every sales read.
    assert every == ["ea:accounting_readonly", "ea:purchase_readonly", "ea:sales"]


def test_policy_resends_a_429_post_but_never_a_5xx_post() -> None:
    slept: list[float] = []
    policy = RetryPolicy(sleep=slept.append)
    calls: list[str] = []
    outcomes: list[Exception | str] = [RateLimitError(retry_after=4), "created"]

    def post() -> str:
        calls.append("POST")
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # A 429 was refused, not processed: re-sending is safe even for a create.
    assert policy.call(post, method="POST", path="/customers") == "created"
    assert slept == [4]

    calls.clear()
    outcomes[:] = [ServerError(status=500, error_id="e-1"), "created"]
    with pytest.raises(AmbiguousWriteError) as info:
        policy.call(post, method="POST", path="/customers", client_id="c")
    assert calls == ["POST"]
    assert info.value.error_id == "e-1"
    assert "NOT re-sent" in str(info.value)


def test_policy_stops_at_max_tries_and_max_time() -> None:
    clock = FakeClock()
    policy = RetryPolicy(max_tries=3, base_delay=1, max_delay=1, sleep=clock.sleep, clock=clock)
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise ServerError(status=503)

    with pytest.raises(ServerError):
        policy.call(fail, method="GET", path="/units")
    assert len(calls) == 3
    assert len(clock.slept) == 2

    calls.clear()
    slow = RetryPolicy(max_tries=50, max_time=10, sleep=clock.sleep, clock=clock)

    def rate_limited() -> None:
        calls.append(1)
        raise RateLimitError(retry_after=30)

    with pytest.raises(RateLimitError):
        slow.call(rate_limited, method="GET", path="/units")
    assert len(calls) == 1  # a 30 s wait does not fit a 10 s budget


def test_policy_resends_an_unsent_post_and_wraps_exhausted_timeouts() -> None:
    slept: list[float] = []
    policy = RetryPolicy(max_tries=3, base_delay=0.5, max_delay=0.5, sleep=slept.append)
    outcomes: list[Exception | str] = [requests.ConnectTimeout("connect timed out"), "created"]

    def post() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # A connect timeout provably sent nothing, so even a create is re-sent.
    assert policy.call(post, method="POST", path="/customers") == "created"
    assert len(slept) == 1
    assert 0 <= slept[0] <= 0.5

    slept.clear()
    calls: list[int] = []

    def get() -> None:
        calls.append(1)
        raise requests.ReadTimeout("read timed out")

    with pytest.raises(TransportError) as info:
        policy.call(get, method="GET", path="/units", client_id="c")
    assert len(calls) == 3
    assert len(slept) == 2
    assert "ReadTimeout after 3 tries" in str(info.value)
    assert "GET /units" in str(info.value)
    assert isinstance(info.value.__cause__, requests.ReadTimeout)


def test_config_helpers(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from eaccounting_api.connection import client_from_config, default_token_store_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    seed_a = {"client_id": "cid", "client_secret": "s", "refresh_token": "SEED-A-SECRET"}
    path_a = default_token_store_path(seed_a)
    assert path_a.parent == Path(tmp_path) / "eaccounting"
    assert "cid" in path_a.name
    assert "SEED" not in str(path_a)
    assert path_a != default_token_store_path({**seed_a, "refresh_token": "SEED-B"})  # another tenant
    client = client_from_config({**seed_a, "rate_limit_keying": "url", "rate_limit_per_minute": 100})
    assert (client.limiter.keying, client.limiter.per_minute) == ("url", 100)
    assert client.authenticator.store.path == path_a
    with pytest.raises(ValueError, match="rate_limit_keying"):
        client_from_config(
            {**seed_a, "token_store_path": str(Path(tmp_path) / "x.json"), "rate_limit_keying": "x"}
        )
    with pytest.raises(ValueError, match="client_secret"):
        client_from_config({"client_id": "cid", "token_store_path": str(Path(tmp_path) / "y.json")})
