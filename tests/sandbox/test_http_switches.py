"""The OData and paging switches over HTTP: each value of each switch, profiles, per-endpoint overrides."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import PROFILES, Switches

VOUCHERS = "/vouchers"  # 1001 at seed 1: more than the largest cap


class Client:
    """A sandbox with a token: ``get`` a /v2 path, ``switch`` the config."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.auth = {"Authorization": "Bearer " + server.mint_tokens()["access_token"]}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.server.api_url + path, params=params, headers=self.auth, timeout=30)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def switch(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.server.admin("POST", "config", changes)
        return result


@pytest.fixture
def client(fresh_sandbox: SandboxServer) -> Client:
    return Client(fresh_sandbox)


def refused(response: requests.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ErrorCode"] == 6000
    assert body["Errors"] == []
    for word in words:
        assert word in body["DeveloperErrorMessage"]


def ids(body: dict[str, Any]) -> list[str]:
    return [r["Id"] for r in body["Data"]]


# -- $filter ---------------------------------------------------------------------------------------
def test_filter_mode_honoured_ignored_refused(client: Client) -> None:
    everything = client.ok("/customers", **{"$pagesize": 1000})
    number = everything["Data"][0]["CustomerNumber"]
    one = {"$filter": f"CustomerNumber eq '{number}'", "$pagesize": 1000}
    assert client.ok("/customers", **one)["Meta"]["TotalNumberOfResults"] == 1

    client.switch(filter_mode="ignored")
    ignored = client.ok("/customers", **one)
    assert ignored["Meta"]["TotalNumberOfResults"] == everything["Meta"]["TotalNumberOfResults"] > 1
    assert ids(ignored) == ids(everything)
    assert client.get("/customers", **{"$filter": "Name eqq 'x'"}).status_code == 200  # not even parsed

    client.switch(filter_mode="refused")
    refused(client.get("/customers", **one), "Query option 'Filter' is not allowed")
    assert client.get("/customers").status_code == 200


# -- $orderby --------------------------------------------------------------------------------------
def test_orderby_mode_ignored_gives_a_fixed_order_that_is_not_the_one_asked(client: Client) -> None:
    asked = {"$orderby": "CustomerNumber", "$pagesize": 1000}
    honoured = [c["CustomerNumber"] for c in client.ok("/customers", **asked)["Data"]]
    assert honoured == sorted(honoured)

    client.switch(orderby_mode="ignored")
    first = [c["CustomerNumber"] for c in client.ok("/customers", **asked)["Data"]]
    assert sorted(first) == sorted(honoured)
    assert first not in (honoured, honoured[::-1])
    descending = {"$orderby": "CustomerNumber desc", "$pagesize": 1000}
    assert [c["CustomerNumber"] for c in client.ok("/customers", **descending)["Data"]] != honoured[::-1]
    # Deterministic: the same order again, page by page, and in another sandbox with the same seed.
    paged = [
        c["CustomerNumber"]
        for p in (1, 2)
        for c in client.ok("/customers", **{**asked, "$pagesize": 40, "$page": p})["Data"]
    ]
    assert paged == first
    with SandboxServer(seed=1, orderby_mode="ignored") as twin:
        assert [c["CustomerNumber"] for c in Client(twin).ok("/customers", **asked)["Data"]] == first
    assert client.get("/customers", **{"$orderby": "Name sideways"}).status_code == 200  # not parsed


def test_orderby_mode_refused(client: Client) -> None:
    client.switch(orderby_mode="refused")
    refused(
        client.get("/customers", **{"$orderby": "CustomerNumber"}), "Query option 'OrderBy' is not allowed"
    )
    assert client.get("/customers", **{"$filter": "IsActive eq true"}).status_code == 200


# -- page size -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cap", [1000, 500, 100, 50])
def test_clamp_report_serves_the_cap_and_says_so(client: Client, cap: int) -> None:
    client.switch(max_page_size=cap)
    body = client.ok(VOUCHERS, **{"$pagesize": cap + 1})
    total = body["Meta"]["TotalNumberOfResults"]
    assert total > cap
    assert body["Meta"]["PageSize"] == cap
    assert len(body["Data"]) == cap
    assert body["Meta"]["TotalNumberOfPages"] == math.ceil(total / cap)
    assert len(client.ok(VOUCHERS, **{"$pagesize": cap})["Data"]) == cap


@pytest.mark.parametrize("cap", [1000, 500, 100, 50])
def test_clamp_echo_serves_the_cap_but_echoes_the_size_asked(client: Client, cap: int) -> None:
    everything = [
        i for page in (1, 2) for i in ids(client.ok(VOUCHERS, **{"$pagesize": 1000, "$page": page}))
    ]
    client.switch(max_page_size=cap, page_size_enforcement="clamp_echo")
    asked = cap * 2
    first = client.ok(VOUCHERS, **{"$pagesize": asked})
    assert first["Meta"]["PageSize"] == asked  # the lie
    assert len(first["Data"]) == cap
    # Pages, offsets and TotalNumberOfPages follow the size served: page 2 starts at row cap.
    assert first["Meta"]["TotalNumberOfPages"] == math.ceil(len(everything) / cap)
    response = client.get(VOUCHERS, **{"$pagesize": asked, "$page": 2})
    assert ids(response.json()) == everything[cap : 2 * cap]
    next_link = parse_qs(urlsplit(response.headers["Link"].split(";")[0].strip("<>")).query)
    assert next_link["$pagesize"] == [str(asked)]
    if cap < 1000:
        assert next_link["$page"] == ["3"]


@pytest.mark.parametrize(
    ("wording", "words"),
    [
        ("pagesize", ["$pagesize must be at most 100, got 101"]),
        ("odata_top", ["The limit of '100' for Top query has been exceeded", "'101'"]),
        ("range", ["page size must be between 1 and 100"]),
    ],
)
def test_reject_answers_400_in_each_wording(client: Client, wording: str, words: list[str]) -> None:
    client.switch(max_page_size=100, page_size_enforcement="reject", page_size_error_wording=wording)
    refused(client.get(VOUCHERS, **{"$pagesize": 101}), *words)
    assert len(client.ok(VOUCHERS, **{"$pagesize": 100})["Data"]) == 100


def test_a_cap_below_the_default_size_lowers_the_default(client: Client) -> None:
    client.switch(max_page_size=20, page_size_enforcement="reject")
    body = client.ok(VOUCHERS)
    assert body["Meta"]["PageSize"] == 20
    assert len(body["Data"]) == 20


# -- meta of empty lists and pages past the last ---------------------------------------------------
NOTHING = {"$filter": "CustomerNumber eq 'no such customer'"}


@pytest.mark.parametrize("pages", [0, 1])
def test_empty_total_pages(client: Client, pages: int) -> None:
    client.switch(empty_total_pages=pages)
    response = client.get("/customers", **NOTHING)
    body = response.json()
    assert body["Meta"]["TotalNumberOfResults"] == 0
    assert body["Meta"]["TotalNumberOfPages"] == pages
    assert body["Data"] == []
    assert ("Link" in response.headers) is bool(pages)


def test_past_last_page_empty_or_error(client: Client) -> None:
    last = client.ok("/customers", **{"$pagesize": 30})["Meta"]["TotalNumberOfPages"]
    past = client.ok("/customers", **{"$pagesize": 30, "$page": last + 1})
    assert past["Data"] == []
    assert past["Meta"]["CurrentPage"] == last + 1

    client.switch(past_last_page="error")
    refused(client.get("/customers", **{"$pagesize": 30, "$page": last + 1}), f"the last page is {last}")
    assert client.ok("/customers", **{"$pagesize": 30, "$page": last})["Data"]
    # An empty list still has a page 1 (and nothing after it).
    assert client.ok("/customers", **NOTHING)["Data"] == []
    refused(client.get("/customers", **{**NOTHING, "$page": 2}), "the last page is 1")


# -- profiles and per-endpoint overrides -----------------------------------------------------------
@pytest.mark.parametrize("name", list(PROFILES))
def test_a_profile_sets_its_switches_and_config_shows_them(fresh_sandbox: SandboxServer, name: str) -> None:
    fresh_sandbox.admin(
        "POST", "config", {"max_page_size": 7, "endpoint_switches": {"/units": {"filter_mode": "refused"}}}
    )
    shown = fresh_sandbox.admin("POST", "config", {"profile": name})
    expected = {**vars(Switches()), **PROFILES[name].switches}
    assert {key: shown[key] for key in expected} == expected
    assert shown["profile"] == name
    assert shown["endpoint_switches"] == {}
    assert fresh_sandbox.admin("GET", "config") == shown
    faults = fresh_sandbox.admin("GET", "faults")
    assert faults["active"] is bool(PROFILES[name].faults)
    assert fresh_sandbox.admin("GET", "profiles")[name]["switches"] == PROFILES[name].switches


def test_legacy_iis_profile_over_http(client: Client) -> None:
    everything = client.ok("/customers", **{"$pagesize": 1000})
    client.switch(profile="legacy_iis")
    assert (
        client.ok("/customers", **{"$filter": "IsActive eq false", "$pagesize": 1000})["Meta"][
            "TotalNumberOfResults"
        ]
        == everything["Meta"]["TotalNumberOfResults"]
    )
    refused(client.get("/customers", **{"$orderby": "Name"}), "'OrderBy'")
    echoed = client.ok(VOUCHERS, **{"$pagesize": 1000})
    assert (echoed["Meta"]["PageSize"], len(echoed["Data"])) == (1000, 500)
    refused(client.get(VOUCHERS, **{"$pagesize": 500, "$page": 4}), "the last page is 3")


def test_an_endpoint_override_affects_only_that_endpoint(client: Client) -> None:
    shown = client.switch(
        endpoint_switches={"/customerinvoices": {"filter_mode": "refused", "max_page_size": 10}}
    )
    assert shown["filter_mode"] == "honoured"
    by_path = client.server.admin("GET", "config", params={"path": "/customerinvoices/{invoiceId}"})
    assert (by_path["filter_mode"], by_path["max_page_size"]) == ("refused", 10)
    refused(client.get("/customerinvoices", **{"$filter": "InvoiceNumber gt 1"}), "'Filter'")
    assert len(client.ok("/customerinvoices", **{"$pagesize": 50})["Data"]) == 10
    # Neither its neighbours that share a name prefix nor other endpoints see it.
    assert client.get("/customerinvoicedrafts", **{"$filter": "CustomerId ne null"}).status_code == 200
    assert len(client.ok("/customers", **{"$pagesize": 50})["Data"]) == 50


@pytest.mark.parametrize(
    "change",
    [
        {"filter_mode": "honored"},
        {"max_page_size": 0},
        {"profile": "nope"},
        {"endpoint_switches": {"/no-such-endpoint": {"filter_mode": "ignored"}}},
        {"endpoint_switches": {"/customers": {"rate_limit_per_minute": 1}}},
        {"profile": "legacy_iis", "date_shapes": "iso"},
    ],
)
def test_config_rejects_bad_switches_and_changes_nothing(
    fresh_sandbox: SandboxServer, change: dict[str, Any]
) -> None:
    before = fresh_sandbox.admin("GET", "config")
    response = requests.post(f"{fresh_sandbox.base_url}/_admin/config", json=change, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
    assert fresh_sandbox.admin("GET", "config") == before
