"""The /v2 API over real HTTP: every spec list endpoint answers, envelopes, GET by id, auth errors."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from eaccounting_api import spec
from eaccounting_sandbox.server import SandboxServer

ALL = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]
SERVER_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def headers(sandbox: SandboxServer) -> dict[str, str]:
    return bearer(sandbox.mint_tokens("demo-no", ALL)["access_token"])


def _concrete(sandbox: SandboxServer, headers: dict[str, str], endpoint: spec.ListEndpoint) -> str:
    """The endpoint's path with real parent ids / dates filled in."""
    path = endpoint.path
    if not endpoint.path_params:
        return path
    parents = sandbox.admin("GET", "parents", params={"path": endpoint.path})
    assert parents, f"no parent data under {endpoint.path}"
    for name, value in parents[0].items():
        path = path.replace("{" + name + "}", value)
    return path


def test_every_spec_list_endpoint_answers_with_an_envelope(
    sandbox: SandboxServer, headers: dict[str, str]
) -> None:
    for endpoint in spec.list_endpoints():
        path = _concrete(sandbox, headers, endpoint)
        response = requests.get(f"{sandbox.api_url}{path}", headers=headers, timeout=10)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert set(body) == {"Meta", "Data"}, path
        meta = body["Meta"]
        assert meta["CurrentPage"] == 1
        assert meta["PageSize"] == 50
        assert meta["TotalNumberOfResults"] >= len(body["Data"])
        assert SERVER_TIME_RE.match(meta["ServerTimeUtc"]), meta["ServerTimeUtc"]


def test_get_by_id_returns_the_listed_object(sandbox: SandboxServer, headers: dict[str, str]) -> None:
    listed = requests.get(f"{sandbox.api_url}/customers", headers=headers, timeout=10).json()["Data"][0]
    one = requests.get(f"{sandbox.api_url}/customers/{listed['Id']}", headers=headers, timeout=10)
    assert one.status_code == 200
    assert one.json() == listed


def test_unknown_id_is_404_with_error_body(sandbox: SandboxServer, headers: dict[str, str]) -> None:
    response = requests.get(f"{sandbox.api_url}/customers/{uuid.uuid4()}", headers=headers, timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert isinstance(body["ErrorCode"], int)
    uuid.UUID(body["ErrorId"])


def test_missing_and_unknown_token_are_401_without_errors(sandbox: SandboxServer) -> None:
    for headers in ({}, bearer("not-a-token")):
        response = requests.get(f"{sandbox.api_url}/customers", headers=headers, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["ErrorCode"] == 4005
        assert body["DeveloperErrorMessage"].startswith("AuthorizationException - ")
        assert "Errors" not in body


def test_error_ids_are_fresh_per_response(sandbox: SandboxServer) -> None:
    ids = {requests.get(f"{sandbox.api_url}/customers", timeout=10).json()["ErrorId"] for _ in range(3)}
    assert len(ids) == 3


def test_expired_access_token_is_401(sandbox: SandboxServer) -> None:
    token = sandbox.mint_tokens("demo-no", ALL, access_token_ttl=0)["access_token"]
    response = requests.get(f"{sandbox.api_url}/customers", headers=bearer(token), timeout=10)
    assert response.status_code == 401
    assert "expired" in response.json()["DeveloperErrorMessage"]


def test_every_spec_operation_is_routed_and_answers_without_a_server_error(
    fresh_sandbox: SandboxServer,
) -> None:
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    session = requests.Session()
    session.headers.update(bearer(fresh_sandbox.mint_tokens("demo-no", ALL)["access_token"]))
    seen = 0
    for path, item in spec.load()["paths"].items():
        concrete = re.sub(r"{[^}]+}", str(uuid.uuid4()), path)
        for method in ("get", "post", "put", "delete"):
            if method not in item:
                continue
            body = {} if method in ("post", "put") else None
            response = session.request(method, fresh_sandbox.api_url + concrete, json=body, timeout=10)
            assert response.status_code not in (405, 500, 501), (method, path, response.text[:300])
            seen += 1
    assert seen == sum(
        1 for item in spec.load()["paths"].values() for m in item if m in ("get", "post", "put", "delete")
    )
