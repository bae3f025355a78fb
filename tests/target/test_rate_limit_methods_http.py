"""``rate_limit_methods`` on the target's own traffic: customer lookups (GET /customers) and creates
(POST /customers) share one budget (``shared``, the default) or have one each (``split``).

The limiter and the retry policy run on an injected clock: a wait advances it and resets the
sandbox's windows ("a minute passes"), so nothing sleeps and the sandbox's 429s are exact. One
write at a time (``max_concurrency=1``), so a slot booked before a reset is never sent after it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from target_support import TargetHarness, messages

from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.ratelimit import RateLimiter
from target_eaccounting.target import TargetEAccounting

LIMIT = 3  # requests per minute on one URL, in the sandbox and in the client


class Clock:
    def __init__(self, on_sleep: Callable[[], None]) -> None:
        self.now = 1000.0
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.on_sleep()


def customers(harness: TargetHarness, prefix: str) -> list[dict[str, Any]]:
    terms = harness.objects("termsofpayments")[0]["Id"]
    return [
        {
            "CustomerNumber": f"{prefix}-{i}",
            "Name": f"Kunde {prefix} {i}",
            "InvoiceCity": "Oslo",
            "InvoicePostalCode": "0150",
            "IsActive": True,
            "IsPrivatePerson": False,
            "TermsOfPaymentId": terms,
        }
        for i in range(LIMIT)
    ]


def write_customers(
    harness: TargetHarness, methods: str, prefix: str
) -> tuple[TargetEAccounting, RateLimiter]:
    """A target run creating LIMIT new customers, under a limiter on the injected clock."""
    sandbox = harness.sandbox
    sandbox.admin("POST", "config", {"rate_limit_per_minute": LIMIT})
    sandbox.admin("POST", "reset-rate-limits")
    sandbox.admin("DELETE", "stats")
    config = {**harness.config, "rate_limit_methods": methods, "rate_limit_per_minute": LIMIT}
    target = TargetEAccounting(config={**config, "max_concurrency": 1}, validate_config=True)
    client = target.run.api.client
    assert isinstance(client, EAccountingClient)
    clock = Clock(lambda: sandbox.admin("POST", "reset-rate-limits"))
    limiter = RateLimiter(LIMIT, methods=client.limiter.methods, clock=clock, sleep=clock.sleep)
    limiter.before_reserve = client.limiter.before_reserve
    client.limiter = limiter
    client.retry.sleep = clock.sleep
    target.listen(io.StringIO("".join(m + "\n" for m in messages("customers", customers(harness, prefix)))))
    assert target.run.outcomes.counts == {"created": LIMIT, "updated": 0, "skipped": 0, "rejected": 0}
    return target, limiter


def statuses(harness: TargetHarness) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = harness.sandbox.admin("GET", "stats")["endpoints"]
    return {k: v for k, v in stats.items() if k in ("GET /v2/customers", "POST /v2/customers")}


def test_a_sandbox_counting_methods_together_429s_the_split_client_never_the_default(
    fresh_harness: TargetHarness,
) -> None:
    assert fresh_harness.sandbox.admin("GET", "config")["rate_limit_methods"] == "shared"
    default, limiter = write_customers(fresh_harness, "shared", "SH")
    counted = statuses(fresh_harness)
    assert default.run.api.client.stats["429"] == 0
    assert not any("429" in by_status for by_status in counted.values())
    lookups = counted["GET /v2/customers"]["200"]
    assert counted["POST /v2/customers"] == {"201": LIMIT}
    # the lookup took part of the creates' budget: the client waited a window for it
    assert limiter.total_wait >= limiter.window_seconds - 1

    split, limiter = write_customers(fresh_harness, "split", "SP")
    counted = statuses(fresh_harness)
    assert split.run.api.client.stats["429"] >= 1  # the server counted what the client kept apart
    assert counted["POST /v2/customers"]["429"] >= 1
    assert counted["POST /v2/customers"]["201"] == LIMIT  # and the target got through by retrying
    assert counted["GET /v2/customers"]["200"] == lookups
    # the client never waited a window for its lookups (at most a moment for the re-sent POST's slot)
    assert limiter.total_wait < 1.0


@pytest.mark.parametrize("methods", ["split", "shared"])
def test_a_sandbox_counting_methods_apart_lets_split_give_lookups_and_creates_a_budget_each(
    fresh_harness: TargetHarness, methods: str
) -> None:
    fresh_harness.sandbox.admin("POST", "config", {"rate_limit_methods": "split"})
    target, limiter = write_customers(fresh_harness, methods, methods.upper())
    counted = statuses(fresh_harness)
    lookups = counted["GET /v2/customers"]["200"]
    assert counted["POST /v2/customers"] == {"201": LIMIT}
    assert target.run.api.client.stats["429"] == 0
    if methods == "split":
        # every lookup and every create was booked at the start: neither waited for the other
        assert limiter.booked("read /customers") == [1000.0] * lookups
        assert limiter.booked("write /customers") == [1000.0] * LIMIT
        assert limiter.total_wait == 0
    else:
        assert limiter.total_wait >= limiter.window_seconds  # one budget for both: the creates waited
        assert len(limiter.booked("/customers")) <= LIMIT
