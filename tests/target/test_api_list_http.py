"""The target's list reads: every item exactly once, however the server orders unsorted pages."""

from __future__ import annotations

from pathlib import Path

from eaccounting_api.connection import client_from_config
from eaccounting_sandbox.server import SandboxServer
from target_eaccounting.api import Api


def test_multi_page_list_reads_every_item_once_when_unsorted_order_shuffles(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # The live API's order is unstable without $orderby; the sandbox reproduces it with this switch.
    fresh_sandbox.admin("POST", "config", {"shuffle_unordered": True})
    config = {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": fresh_sandbox.mint_tokens("demo-no")["refresh_token"],
        "token_store_path": str(tmp_path / "tokens.json"),
        "api_url": fresh_sandbox.api_url,
        "identity_url": fresh_sandbox.identity_url,
    }
    api = Api(client_from_config(config))
    expected = {
        c["Id"]
        for c in fresh_sandbox.admin(
            "GET", "objects", params={"company": "demo-no", "collection": "customers"}
        )
    }
    assert len(expected) > 7 * 3  # several pages of 7

    ids = [c["Id"] for c in api.list("/customers", page_size=7)]

    assert len(ids) == len(expected)
    assert set(ids) == expected
