"""Every API request of the tap and of the target goes through the SDK authenticator.

A spy on the process-wide ``EAccountingAuthenticator`` records the token each of its request hooks put
on a request; the sandbox counts the requests it answered. The store starts with an access token the
API has revoked but that looks valid for an hour, so the first request gets a 401 and the re-send goes
through ``handle_unauthorized``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import pytest
import requests
from api_support import WRITE_SCOPES, MakeConfig

from eaccounting_api.authenticator import EAccountingAuthenticator
from eaccounting_api.connection import authenticator_from_config, client_from_config
from eaccounting_api.tokens import FileTokenStore, TokenSet
from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.tap import TapEAccounting
from target_eaccounting.target import TargetEAccounting

TOKEN_ENDPOINT = "POST /connect/token"


def bearer(request: requests.PreparedRequest) -> str:
    return str(request.headers["Authorization"]).removeprefix("Bearer ")


class AuthSpy:
    """Wraps the authenticator's two request hooks; records the token each one set."""

    def __init__(self, auth: EAccountingAuthenticator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.authenticated: list[str] = []
        self.reauthenticated: list[str] = []
        self._wrap(auth, "authenticate_request", self.authenticated, monkeypatch)
        self._wrap(auth, "handle_unauthorized", self.reauthenticated, monkeypatch)

    @staticmethod
    def _wrap(auth: Any, name: str, seen: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
        original: Callable[[requests.PreparedRequest], requests.PreparedRequest] = getattr(auth, name)

        def hook(request: requests.PreparedRequest) -> requests.PreparedRequest:
            result = original(request)
            seen.append(bearer(result))
            return result

        monkeypatch.setattr(auth, name, hook)

    @property
    def sent(self) -> int:
        return len(self.authenticated) + len(self.reauthenticated)


def answered(server: Any) -> tuple[dict[str, int], dict[str, int]]:
    """(API answers by status, token endpoint answers by status) since the sandbox started."""
    api: dict[str, int] = {}
    token: dict[str, int] = {}
    for endpoint, by_status in server.admin("GET", "stats")["endpoints"].items():
        counts = token if endpoint == TOKEN_ENDPOINT else api
        for status, n in by_status.items():
            counts[status] = counts.get(status, 0) + n
    return api, token


def store_revoked_tokens(server: Any, config: dict[str, Any], scopes: list[str]) -> str:
    """Put a grant in the store whose access token looks valid for an hour but is refused (401)."""
    minted = server.mint_tokens("demo-no", scopes)
    store = FileTokenStore(config["token_store_path"])
    store.write(TokenSet(minted["access_token"], minted["refresh_token"], expires_at=time.time() + 3600))
    server.admin("POST", "expire-access-tokens", {})
    return str(minted["access_token"])


def assert_every_request_went_through(spy: AuthSpy, server: Any, revoked: str) -> None:
    api, token = answered(server)
    assert spy.sent == sum(api.values())  # every request the API saw carried a token set by the spy
    assert spy.authenticated[0] == revoked  # the store's token, adopted without a refresh...
    assert api["401"] == len(spy.reauthenticated) >= 1  # ...was refused...
    assert token == {"200": 1}  # ...and replaced by one refresh, however many requests met it
    (fresh,) = set(spy.reauthenticated)  # every refused request was re-sent with the new token
    assert fresh != revoked
    assert set(spy.authenticated) == {revoked, fresh}


def test_every_tap_request_goes_through_the_authenticator(
    fresh_sandbox: Any, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(fresh_sandbox, page_size=20, max_concurrency=3)
    revoked = store_revoked_tokens(fresh_sandbox, config, ["ea:api", "offline_access", "ea:sales_readonly"])
    spy = AuthSpy(authenticator_from_config(config), monkeypatch)
    catalog = TapEAccounting(config=config).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in ("customers", "customer_invoices")
    tap = TapEAccounting(config=config, catalog=catalog)
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    records = [m for m in map(json.loads, out.getvalue().splitlines()) if m["type"] == "RECORD"]
    assert len(records) > 40  # several pages, read concurrently
    stream = tap.streams["customers"]
    assert isinstance(stream, EAccountingStream)
    assert stream.runtime.client.stats["requests"] == spy.sent
    assert_every_request_went_through(spy, fresh_sandbox, revoked)


def test_every_target_request_goes_through_the_authenticator(
    fresh_sandbox: Any, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    config = make_config(
        fresh_sandbox,
        scopes=WRITE_SCOPES,
        ledger_path=str(tmp_path / "ledger.sqlite"),
        reject_path=str(tmp_path / "rejects.jsonl"),
    )
    revoked = store_revoked_tokens(fresh_sandbox, config, WRITE_SCOPES)
    spy = AuthSpy(authenticator_from_config(config), monkeypatch)
    objects = {"company": "demo-no", "collection": "customers"}
    terms = fresh_sandbox.admin("GET", "objects", params={**objects, "collection": "termsofpayments"})
    terms_id = terms[0]["Id"]
    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    lines = [json.dumps({"type": "SCHEMA", "stream": "customers", "schema": schema, "key_properties": []})]
    for n in range(3):
        record = {
            "CustomerNumber": f"AUTH-{n}",
            "Name": f"Auth Spy {n} AS",
            "InvoiceCity": "Oslo",
            "InvoicePostalCode": "0150",
            "IsActive": True,
            "IsPrivatePerson": False,
            "TermsOfPaymentId": terms_id,
        }
        lines.append(json.dumps({"type": "RECORD", "stream": "customers", "record": record}))
    TargetEAccounting(config=config, validate_config=True).listen(io.StringIO("\n".join(lines) + "\n"))
    numbers = {c["CustomerNumber"] for c in fresh_sandbox.admin("GET", "objects", params=objects)}
    assert {"AUTH-0", "AUTH-1", "AUTH-2"} <= numbers
    assert_every_request_went_through(spy, fresh_sandbox, revoked)


@pytest.mark.parametrize(("ttl", "refreshes"), [(299, 4), (600, 1)])
def test_a_token_within_five_minutes_of_expiry_is_refreshed_before_the_request(
    fresh_sandbox: Any, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, ttl: int, refreshes: int
) -> None:
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": ttl})
    config = make_config(fresh_sandbox)
    auth = authenticator_from_config(config)
    spy = AuthSpy(auth, monkeypatch)
    client = client_from_config(config)
    for _ in range(4):
        client.get_json("/customers", params={"$pagesize": 1})
    assert auth.refreshes == refreshes  # the first request seeds the empty store: always one refresh
    assert len(spy.authenticated) == 4
    assert len(set(spy.authenticated)) == refreshes  # each request carried the newest token
    assert spy.reauthenticated == []  # refreshed before the request, never after a 401
    assert auth.is_token_valid() == (ttl > 300)
