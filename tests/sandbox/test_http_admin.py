"""The admin API over HTTP, and the response-conformance machinery the suite relies on."""

from __future__ import annotations

import pytest
import requests

from eaccounting_api import spec
from eaccounting_sandbox.conformance import Conformance
from eaccounting_sandbox.server import SandboxServer


def test_counts_match_what_the_api_lists(sandbox: SandboxServer) -> None:
    counts = sandbox.admin("GET", "counts", params={"company": "demo-no"})
    assert set(counts) == {e.path for e in spec.list_endpoints()}
    auth = {"Authorization": "Bearer " + sandbox.mint_tokens()["access_token"]}
    for path in ("/customers", "/customerinvoices", "/vouchers", "/accounts"):
        meta = requests.get(sandbox.api_url + path, headers=auth, timeout=10).json()["Meta"]
        assert meta["TotalNumberOfResults"] == counts[path], path


def test_objects_and_unknown_collections(sandbox: SandboxServer) -> None:
    invoices = sandbox.admin("GET", "objects", params={"collection": "customerinvoices"})
    assert invoices
    assert all("InvoiceNumber" in i for i in invoices)
    response = requests.get(f"{sandbox.base_url}/_admin/objects", params={"collection": "nope"}, timeout=10)
    assert response.status_code == 404


def test_companies_can_be_added_once(fresh_sandbox: SandboxServer) -> None:
    created = fresh_sandbox.admin("POST", "companies", {"company": "fjell-no", "seed": 3})
    assert created["bootstrap_refresh_token"] == "fjell-no-bootstrap-refresh-token"
    assert "fjell-no" in fresh_sandbox.admin("GET", "companies")["companies"]
    again = requests.post(
        f"{fresh_sandbox.base_url}/_admin/companies", json={"company": "fjell-no"}, timeout=10
    )
    assert again.status_code == 409
    counts = fresh_sandbox.admin("GET", "counts", params={"company": "fjell-no"})
    assert counts["/customers"] > 0


@pytest.mark.parametrize(
    "change",
    [{"no_such_switch": True}, {"shuffle_unordered": "yes"}, {"rate_limit_per_minute": 1.5}, {"seed": 3}],
)
def test_config_rejects_unknown_and_mistyped_switches(
    sandbox: SandboxServer, change: dict[str, object]
) -> None:
    response = requests.post(f"{sandbox.base_url}/_admin/config", json=change, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]


def test_churn_changes_the_data_now(fresh_sandbox: SandboxServer) -> None:
    before = fresh_sandbox.admin("GET", "counts")
    result = fresh_sandbox.admin(
        "POST", "churn", {"company": "demo-no", "creates": 4, "updates": 3, "deletes": 1}
    )
    assert result
    after = fresh_sandbox.admin("GET", "counts")
    assert before != after


def test_stats_count_requests_per_endpoint_and_status(fresh_sandbox: SandboxServer) -> None:
    auth = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    for _ in range(3):
        requests.get(f"{fresh_sandbox.api_url}/units", headers=auth, timeout=10)
    requests.get(f"{fresh_sandbox.api_url}/units", timeout=10)
    stats = fresh_sandbox.admin("GET", "stats")
    assert stats["endpoints"]["GET /v2/units"] == {"200": 3, "401": 1}
    assert stats["statuses"]["200"] >= 3
    fresh_sandbox.admin("DELETE", "stats")
    assert fresh_sandbox.admin("GET", "stats")["endpoints"] == {}


def test_admin_rejects_non_json_bodies(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/_admin/faults", data=b"[1,", timeout=10)
    assert response.status_code == 400


def test_conformance_report_counts_checked_bodies(sandbox: SandboxServer) -> None:
    auth = {"Authorization": "Bearer " + sandbox.mint_tokens()["access_token"]}
    requests.get(f"{sandbox.api_url}/articles", headers=auth, timeout=10)
    report = sandbox.admin("GET", "conformance")
    assert report["checked"] > 0
    assert report["failures"] == []


def test_conformance_catches_a_body_that_breaks_the_spec() -> None:
    checker = Conformance()
    meta = {"CurrentPage": 1, "PageSize": 50, "TotalNumberOfPages": 1, "TotalNumberOfResults": 1}
    checker.check_page("UnitApi", {**meta, "ServerTimeUtc": "2026-01-01T00:00:00Z"}, [{"Name": 5}], "test")
    checker.check_error({"ErrorCode": "4005", "Errors": None}, "test")
    checker.check_body(None, {"unexpected": "body"}, "test")
    schemas = [f["schema"] for f in checker.report()["failures"]]
    assert schemas == ["UnitApi", "CommonExtendedBadRequest", None]
    # a valid, already-seen item is not validated twice
    checker.check_page("UnitApi", {**meta, "ServerTimeUtc": "2026-01-01T00:00:00Z"}, [], "test")
    assert checker.checked == 3
