"""Paging, ordering and filtering on list endpoints, over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def auth(sandbox: SandboxServer) -> dict[str, str]:
    return {"Authorization": "Bearer " + sandbox.mint_tokens()["access_token"]}


def get(sandbox: SandboxServer, auth: dict[str, str], path: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.api_url + path, params=params, headers=auth, timeout=30)


def links(response: requests.Response) -> dict[str, dict[str, list[str]]]:
    found = {}
    for part in response.headers.get("Link", "").split(","):
        url, _, rel = part.partition(";")
        name = rel.strip().removeprefix('rel="').removesuffix('"')
        found[name] = parse_qs(urlsplit(url.strip().strip("<>")).query)
    return found


def test_default_page_size_is_50_and_pages_are_1_based(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    body = get(sandbox, auth, "/customerinvoices").json()
    total = body["Meta"]["TotalNumberOfResults"]
    assert total > 50
    assert body["Meta"]["PageSize"] == 50
    assert body["Meta"]["CurrentPage"] == 1
    assert len(body["Data"]) == 50
    assert body["Meta"]["TotalNumberOfPages"] == -(-total // 50)


def test_pages_cover_every_record_exactly_once_in_a_stable_order(
    sandbox: SandboxServer, auth: dict[str, str]
) -> None:
    first = get(sandbox, auth, "/customerinvoices", **{"$pagesize": 100}).json()
    pages = first["Meta"]["TotalNumberOfPages"]
    ids = [r["Id"] for r in first["Data"]]
    for page in range(2, pages + 1):
        ids += [
            r["Id"]
            for r in get(sandbox, auth, "/customerinvoices", **{"$pagesize": 100, "$page": page}).json()[
                "Data"
            ]
        ]
    assert len(ids) == len(set(ids)) == first["Meta"]["TotalNumberOfResults"]
    past_end = get(sandbox, auth, "/customerinvoices", **{"$pagesize": 100, "$page": pages + 1}).json()
    assert past_end["Data"] == []
    assert past_end["Meta"]["CurrentPage"] == pages + 1


def test_link_header_has_next_and_last(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    response = get(sandbox, auth, "/customers", **{"$pagesize": 20, "$page": 2})
    meta = response.json()["Meta"]
    found = links(response)
    assert found["next"]["$page"] == ["3"]
    assert found["next"]["$pagesize"] == ["20"]
    assert found["last"]["$page"] == [str(meta["TotalNumberOfPages"])]
    last = get(sandbox, auth, "/customers", **{"$pagesize": 20, "$page": meta["TotalNumberOfPages"]})
    assert "next" not in links(last)
    assert "last" in links(last)


def test_following_next_links_walks_the_collection(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    url: str | None = f"{sandbox.api_url}/customers?$pagesize=30"
    seen: list[str] = []
    for _ in range(10):
        if url is None:
            break
        response = requests.get(url, headers=auth, timeout=10)
        seen += [c["Id"] for c in response.json()["Data"]]
        nxt = [p for p in response.headers["Link"].split(",") if 'rel="next"' in p]
        url = nxt[0].split(";")[0].strip().strip("<>") if nxt else None
    assert url is None
    assert len(seen) == len(set(seen)) == response.json()["Meta"]["TotalNumberOfResults"]


def test_oversize_page_is_clamped_and_meta_shows_what_was_served(
    sandbox: SandboxServer, auth: dict[str, str]
) -> None:
    body = get(sandbox, auth, "/vouchers", **{"$pagesize": 5000}).json()
    assert body["Meta"]["PageSize"] == 1000
    assert len(body["Data"]) == min(1000, body["Meta"]["TotalNumberOfResults"])


def test_oversize_page_is_400_when_the_switch_is_on(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"reject_oversize_page": True})
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    response = get(fresh_sandbox, auth, "/vouchers", **{"$pagesize": 1001})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 6000
    assert get(fresh_sandbox, auth, "/vouchers", **{"$pagesize": 1000}).status_code == 200


@pytest.mark.parametrize(
    "params", [{"$page": "0"}, {"$page": "x"}, {"$page": str(2**31)}, {"$pagesize": "0"}, {"$pagesize": "-5"}]
)
def test_bad_paging_parameters_are_400(
    sandbox: SandboxServer, auth: dict[str, str], params: dict[str, str]
) -> None:
    response = get(sandbox, auth, "/customers", **params)
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 6000


@pytest.mark.parametrize("option", ["$select", "$top", "$skip", "$expand"])
def test_unsupported_query_options_are_400_not_ignored(
    sandbox: SandboxServer, auth: dict[str, str], option: str
) -> None:
    response = get(sandbox, auth, "/customers", **{option: "1"})
    assert response.status_code == 400
    assert option in response.json()["DeveloperErrorMessage"]


def test_paths_are_case_insensitive_like_aspnet(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    assert (
        get(sandbox, auth, "/accounttypes").json()["Data"]
        == get(sandbox, auth, "/accountTypes").json()["Data"]
    )


def test_unordered_paging_shuffles_when_the_switch_is_on(fresh_sandbox: SandboxServer) -> None:
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    stable = [[c["Id"] for c in get(fresh_sandbox, auth, "/customers").json()["Data"]] for _ in range(3)]
    assert stable[0] == stable[1] == stable[2]
    fresh_sandbox.admin("POST", "config", {"shuffle_unordered": True})
    orders = {tuple(c["Id"] for c in get(fresh_sandbox, auth, "/customers").json()["Data"]) for _ in range(5)}
    # 5 random permutations of 80 customers coinciding has probability ~ 0
    assert len(orders) > 1
    # ... but every order is a permutation of the same set
    everything = {
        c["Id"] for c in get(fresh_sandbox, auth, "/customers", **{"$pagesize": 1000}).json()["Data"]
    }
    assert all(set(order) <= everything for order in orders)


def test_orderby_keeps_pages_stable_even_with_shuffle_on(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.admin("POST", "config", {"shuffle_unordered": True})
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    runs = [
        [
            c["CustomerNumber"]
            for c in get(fresh_sandbox, auth, "/customers", **{"$orderby": "CustomerNumber"}).json()["Data"]
        ]
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2] == sorted(runs[0])


def test_orderby_several_fields_desc(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    data = get(
        sandbox,
        auth,
        "/customerinvoices",
        **{"$orderby": "CustomerId asc, InvoiceNumber desc", "$pagesize": 1000},
    ).json()["Data"]
    keys = [(r["CustomerId"], -r["InvoiceNumber"]) for r in data]
    assert keys == sorted(keys)


def test_filter_on_datetime_and_and_or(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    everything = get(sandbox, auth, "/customerinvoices", **{"$pagesize": 1000}).json()["Data"]
    pivot = sorted(r["ModifiedUtc"] for r in everything)[len(everything) // 2]
    newer = get(
        sandbox, auth, "/customerinvoices", **{"$filter": f"ModifiedUtc gt {pivot[:19]}Z", "$pagesize": 1000}
    )
    assert newer.status_code == 200, newer.text
    got = newer.json()
    assert 0 < got["Meta"]["TotalNumberOfResults"] < len(everything)
    assert got["Meta"]["TotalNumberOfResults"] == len(got["Data"])
    number = everything[0]["InvoiceNumber"]
    either = get(
        sandbox,
        auth,
        "/customerinvoices",
        **{"$filter": f"InvoiceNumber eq {number} or InvoiceNumber eq {number + 1}"},
    ).json()
    assert {r["InvoiceNumber"] for r in either["Data"]} <= {number, number + 1}
    assert either["Meta"]["TotalNumberOfResults"] >= 1


@pytest.mark.parametrize("text", ["Name eq", "Name eqq 'x'", "(Name eq 'x'", "NoSuchField eq 1"])
def test_unparseable_filter_is_400_6000(sandbox: SandboxServer, auth: dict[str, str], text: str) -> None:
    response = get(sandbox, auth, "/customers", **{"$filter": text})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 6000


@pytest.mark.parametrize("text", ["NoSuchField", "Name sideways"])
def test_bad_orderby_is_400_6000(sandbox: SandboxServer, auth: dict[str, str], text: str) -> None:
    response = get(sandbox, auth, "/customers", **{"$orderby": text})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 6000


def test_malformed_datetime_in_filter_is_400_6001(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    response = get(sandbox, auth, "/customerinvoices", **{"$filter": "ModifiedUtc gt 2024-13-45T99:00:00Z"})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 6001


def test_modified_since_utc_on_customerinvoices(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    everything = get(sandbox, auth, "/customerinvoices", **{"$pagesize": 1000}).json()["Data"]
    pivot = sorted(r["ModifiedUtc"] for r in everything)[len(everything) // 2]
    since = get(sandbox, auth, "/customerinvoices", modifiedSinceUtc=pivot, **{"$pagesize": 1000}).json()
    assert 0 < since["Meta"]["TotalNumberOfResults"] < len(everything)
    assert all(r["ModifiedUtc"] >= pivot[:19] for r in since["Data"])


def test_churn_between_pages_is_visible_to_a_paging_client(fresh_sandbox: SandboxServer) -> None:
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    fresh_sandbox.admin(
        "POST",
        "faults",
        {
            "churn": {"company": "demo-no", "creates": 5, "updates": 0, "deletes": 0},
            "paths": ["/v2/customerinvoices"],
        },
    )
    first = get(fresh_sandbox, auth, "/customerinvoices").json()["Meta"]["TotalNumberOfResults"]
    second = get(fresh_sandbox, auth, "/customerinvoices", **{"$page": 2}).json()["Meta"][
        "TotalNumberOfResults"
    ]
    assert second > first


def test_the_churn_fault_touches_the_collections_it_names(fresh_sandbox: SandboxServer) -> None:
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    counts = fresh_sandbox.admin("GET", "counts", params={"company": "demo-no"})
    churn = {"company": "demo-no", "creates": 5, "collections": ["vouchers"]}
    fresh_sandbox.admin("POST", "faults", {"churn": churn, "paths": ["/v2/vouchers"]})
    get(fresh_sandbox, auth, "/vouchers", **{"$page": 2})
    after = fresh_sandbox.admin("GET", "counts", params={"company": "demo-no"})
    assert after["/vouchers"] == counts["/vouchers"] + 5
    assert after["/customerinvoices"] == counts["/customerinvoices"]  # a default churn collection
    fresh_sandbox.admin("DELETE", "faults")
