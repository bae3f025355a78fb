"""The connection settings are declared once (``eaccounting_api.connection.CONNECTION_SETTINGS``) and
both connectors' ``--about`` show them identically: name, type, default, secret flag, description."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import FLATTENING_CONFIG, STREAM_MAPS_CONFIG

from eaccounting_api import connection
from tap_eaccounting.tap import TapEAccounting
from target_eaccounting.target import TargetEAccounting

SHARED = th.PropertiesList(*connection.CONNECTION_SETTINGS).to_dict()
NAMES = [
    "client_id", "client_secret", "refresh_token", "token_store_path", "api_url", "identity_url",
    "request_timeout", "user_agent", "rate_limit_per_minute", "rate_limit_keying", "rate_limit_methods",
    "rate_limit_scope",
    "tenant_id", "coordination_dsn",
]  # fmt: skip


def about_settings(executable: str) -> dict[str, Any]:
    out = subprocess.check_output(
        [str(Path(sys.executable).parent / executable), "--about", "--format=json"], text=True, timeout=120
    )
    settings: dict[str, Any] = json.loads(out)["settings"]
    return settings


def test_the_shared_declaration_has_the_connection_defaults() -> None:
    props = SHARED["properties"]
    assert list(props) == NAMES
    assert SHARED["required"] == ["client_id", "client_secret"]
    assert [name for name, p in props.items() if p.get("secret")] == [
        "client_secret",
        "refresh_token",
        "coordination_dsn",
    ]
    assert props["api_url"]["default"] == connection.DEFAULT_API_URL
    assert props["identity_url"]["default"] == connection.DEFAULT_IDENTITY_URL
    assert props["user_agent"]["default"] == connection.DEFAULT_USER_AGENT
    assert props["request_timeout"]["default"] == connection.DEFAULT_TIMEOUT
    assert props["rate_limit_per_minute"]["default"] == 600
    assert props["rate_limit_keying"]["enum"] == ["template", "url", "global"]
    assert props["rate_limit_methods"]["enum"] == ["shared", "split"]
    assert props["rate_limit_methods"]["default"] == "shared"  # the safe reading: GET and POST share
    assert props["rate_limit_scope"]["enum"] == ["client", "client_company"]
    assert props["rate_limit_scope"]["default"] == "client"  # the safe reading: one budget per client
    assert "default" not in props["coordination_dsn"]  # the embedded default: no database
    assert all(p.get("description") for p in props.values())


@pytest.mark.parametrize(
    ("connector", "executable"),
    [(TapEAccounting, "tap-eaccounting"), (TargetEAccounting, "target-eaccounting")],
)
def test_each_connector_shows_the_shared_settings_unchanged(connector: Any, executable: str) -> None:
    for settings in (connector.config_jsonschema, about_settings(executable)):
        props = settings["properties"]
        assert list(props)[: len(NAMES)] == NAMES  # first, in the declared order
        for name in NAMES:
            assert props[name] == SHARED["properties"][name], (executable, name)
        assert set(SHARED["required"]) <= set(settings["required"])


def test_the_connectors_share_no_other_setting_but_max_concurrency() -> None:
    tap = TapEAccounting.config_jsonschema["properties"]
    target = TargetEAccounting.config_jsonschema["properties"]
    # What the SDK adds to both once a connector is instantiated (stream maps, flattening).
    sdk = {*STREAM_MAPS_CONFIG["properties"], *FLATTENING_CONFIG["properties"]}
    # max_concurrency is each connector's own: pages (or parents) for the tap, writes for the target.
    assert (set(tap) & set(target)) - sdk == {*NAMES, "max_concurrency"}
    assert tap["max_concurrency"]["description"] != target["max_concurrency"]["description"]
    assert tap["max_concurrency"]["default"] == target["max_concurrency"]["default"] == 4
