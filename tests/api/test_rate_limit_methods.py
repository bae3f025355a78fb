"""``rate_limit_methods``: reads and writes of one endpoint share a budget (``shared``, the default) or
are counted apart (``split``). Waits are computed on an injected clock; nothing sleeps."""

from __future__ import annotations

import pytest

from eaccounting_api.connection import limiter_from_config
from eaccounting_api.ratelimit import KEYINGS, RateLimiter
from eaccounting_api.shared_budget import SharedRateBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("keying", KEYINGS)
def test_shared_keys_ignore_the_method_and_split_keys_tell_reads_from_writes(keying: str) -> None:
    shared = RateLimiter(keying=keying)  # type: ignore[arg-type]
    split = RateLimiter(keying=keying, methods="split")  # type: ignore[arg-type]
    path = "/v2/customers/0c5b6a1e?x=1"
    assert len({shared.key(m, path) for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "get")}) == 1
    assert shared.key("GET", path) == shared.endpoint(path)
    reads = {split.key(m, path) for m in ("GET", "HEAD", "OPTIONS", "get")}
    writes = {split.key(m, path) for m in ("POST", "PUT", "PATCH", "DELETE", "post")}
    assert reads == {f"read {shared.endpoint(path)}"}
    assert writes == {f"write {shared.endpoint(path)}"}


def test_the_default_keys_are_the_template_shared_by_every_method() -> None:
    limiter = RateLimiter()
    assert (
        limiter.key("GET", "/customers/1") == limiter.key("PUT", "/customers/2") == "/customers/{customerId}"
    )
    assert RateLimiter(keying="url").key("GET", "/customers/1") == "/customers/1"


def test_split_gives_reads_and_writes_a_budget_each_shared_one_between_them() -> None:
    for methods, waits in (("split", [0.0] * 10), ("shared", [0.0] * 5 + [60.0] * 5)):
        clock = Clock()
        limiter = RateLimiter(5, window_seconds=60.0, methods=methods, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
        seen = [limiter.reserve(limiter.key(m, "/customers")) for m in ["GET"] * 5 + ["POST"] * 5]
        assert seen == waits, methods
    split = RateLimiter(5, window_seconds=60.0, methods="split", clock=Clock())
    for method in ("GET", "POST", "GET"):
        split.reserve(split.key(method, "/customers"))
    assert split.booked("read /customers") == [1000.0, 1000.0]
    assert split.booked("write /customers") == [1000.0]
    assert split.booked("/customers") == []


def test_the_setting_reaches_the_limiter_and_the_shared_budget() -> None:
    config = {"client_id": "cid", "client_secret": "s"}
    assert limiter_from_config(config).methods == "shared"
    assert limiter_from_config({**config, "rate_limit_methods": "split"}).key("POST", "/x") == "write /x"
    with pytest.raises(ValueError, match="rate_limit_methods"):
        limiter_from_config({**config, "rate_limit_methods": "per_method"})
    coordinated = {**config, "coordination_dsn": "postgresql://u@127.0.0.1:1/db", "tenant_id": "t"}
    shared = limiter_from_config(coordinated)
    split = limiter_from_config({**coordinated, "rate_limit_methods": "split"})
    assert isinstance(shared, SharedRateBudget)
    assert isinstance(split, SharedRateBudget)
    assert shared.budget_key(shared.key("POST", "/customers")) == "cid|/customers"
    assert split.budget_key(split.key("POST", "/customers")) == "cid|write /customers"
    assert split.budget_key(split.key("GET", "/customers")) == "cid|read /customers"
