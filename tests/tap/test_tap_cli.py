"""The console script: --about lists every setting; auth url|status, in the plain order and in Meltano's
(options first), with the settings from a file or from the environment; a dead grant exits 2 and says how
to re-authorize, with Meltano and without."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.auth_cli import auth_position

from .conftest import COMPANY, catalog_for, tap_config

TAP = str(Path(sys.executable).parent / "tap-eaccounting")
SETTINGS = [
    "client_id", "client_secret", "refresh_token", "token_store_path", "api_url", "identity_url",
    "start_date", "page_size", "max_concurrency", "detect_deletes", "account_balance_dates",
    "request_timeout", "user_agent",
]  # fmt: skip


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "MELTANO_"))} | (env or {})
    return subprocess.run(
        [TAP, *args], capture_output=True, text=True, timeout=120, check=False, env=full_env
    )


def test_about_lists_every_setting_and_marks_secrets() -> None:
    about = json.loads(_run("--about", "--format=json").stdout)
    props = about["settings"]["properties"]
    for name in SETTINGS:
        assert name in props, name
    assert props["client_secret"].get("secret") is True
    assert props["refresh_token"].get("secret") is True
    markdown = _run("--about", "--format=markdown").stdout
    assert all(f"| {name} |" in markdown for name in SETTINGS)


def _write(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def _scopes(url: str) -> set[str]:
    return set(parse_qs(urlsplit(url).query)["scope"][0].split())


def test_auth_url_asks_for_the_minimal_read_only_scopes(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = _write(tmp_path, tap_config(sandbox, tmp_path))
    # --config after the subcommand, as the re-authorize message words it.
    one = _run("auth", "url", "--config", config, "--stream", "customer_invoices")
    assert one.returncode == 0, one.stderr
    assert _scopes(one.stdout.strip()) == {"ea:api", "offline_access", "ea:sales_readonly"}
    # A child needs what its parent's endpoint accepts too: bank_accounts is purchase-only.
    child = _run("auth", "--config", config, "url", "--stream", "bank_transactions_matched")
    assert _scopes(child.stdout.strip()) == {"ea:api", "offline_access", "ea:purchase_readonly"}
    # The streams a catalog selects: here customers (sales) and suppliers (purchase).
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(tap_config(sandbox, tmp_path), ["customers", "suppliers"])))
    from_catalog = _run("auth", "url", "--config", config, "--catalog", str(catalog))
    assert from_catalog.returncode == 0, from_catalog.stderr
    assert _scopes(from_catalog.stdout.strip()) == {
        "ea:api", "offline_access", "ea:sales_readonly", "ea:purchase_readonly"
    }  # fmt: skip
    everything = _scopes(_run("auth", "--config", config, "url").stdout.strip())
    assert {"ea:api", "offline_access"} < everything
    assert not any(s.endswith("_readonly") and s.removesuffix("_readonly") in everything for s in everything)


def test_auth_status_never_prints_a_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path)
    path = _write(tmp_path, config)
    status = _run("auth", "--config", path, "status", "--verify")
    assert status.returncode == 0, status.stderr
    stored = json.loads(Path(config["token_store_path"]).read_text())
    for secret in (config["refresh_token"], config["client_secret"], *stored.values()):
        if isinstance(secret, str) and len(secret) > 8:
            assert secret not in status.stdout + status.stderr


def test_revoked_grant_stops_the_sync_with_exit_code_2(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(fresh_sandbox, tmp_path)
    fresh_sandbox.admin("POST", "password-change", {"company": COMPANY})
    result = _run("--config", _write(tmp_path, config))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "re-authorize" in result.stderr.lower() or "reauthoriz" in result.stderr.lower()
    # How, in both worlds: the Meltano commands and the plain CLI.
    assert "meltano invoke tap-eaccounting:auth-url" in result.stderr
    assert "tap-eaccounting:auth-exchange --code CODE" in result.stderr
    assert "tap-eaccounting auth url --config CONFIG" in result.stderr
    assert config["refresh_token"] not in result.stderr + result.stdout
    assert config["client_secret"] not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "position"),
    [
        (["auth", "url"], 0),
        (["--config", "c.json", "auth", "status"], 2),  # Meltano's order
        (["--config=c.json", "--catalog", "cat.json", "--state", "s.json", "auth", "url"], 5),
        (["--config", "auth"], None),  # a file named auth is a value, not the subcommand
        (["--config", "c.json", "--discover"], None),
        (["--about", "--format=json"], None),
        (["--config", "c.json", "sync"], None),  # not ours: the Singer CLI reports it
    ],
)
def test_auth_is_found_after_the_singer_options(args: list[str], position: int | None) -> None:
    assert auth_position(args) == position


def test_auth_in_meltanos_argument_order(sandbox: SandboxServer, tmp_path: Path) -> None:
    """`meltano invoke tap-eaccounting auth ...` runs `tap-eaccounting --config FILE [--catalog FILE]
    [--state FILE] auth ...`: the catalog's selection gives `auth url` its streams, and the other
    subcommands ignore it."""
    config = _write(tmp_path, tap_config(sandbox, tmp_path))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(tap_config(sandbox, tmp_path), ["customers", "suppliers"])))
    state = tmp_path / "state.json"
    state.write_text("{}")
    meltano = ["--config", config, "--catalog", str(catalog), "--state", str(state)]
    url = _run(*meltano, "auth", "url")
    assert url.returncode == 0, url.stderr
    assert _scopes(url.stdout.strip()) == {
        "ea:api",
        "offline_access",
        "ea:sales_readonly",
        "ea:purchase_readonly",
    }
    status = _run(*meltano, "auth", "status", "--verify")
    assert status.returncode == 0, status.stderr
    assert "verified: True" in status.stdout
    missing = _run("--config", config, "--catalog", str(tmp_path / "nothing.json"), "auth", "url")
    assert missing.returncode == 1
    assert "nothing.json not found" in missing.stderr


def test_auth_reads_its_settings_from_the_environment(sandbox: SandboxServer, tmp_path: Path) -> None:
    """`--config ENV`, as the SDK's: TAP_EACCOUNTING_<SETTING> by default; with `--env-prefix`, the
    variables Meltano exports for a plugin's commands (MELTANO_EXTRACT_ / MELTANO_LOAD_)."""
    config = tap_config(sandbox, tmp_path, redirect_uri="http://127.0.0.1:9/callback")
    tap_env = {f"TAP_EACCOUNTING_{k.upper()}": str(v) for k, v in config.items()}
    url = _run("--config", "ENV", "auth", "url", "--stream", "customers", env=tap_env)
    assert url.returncode == 0, url.stderr
    assert parse_qs(urlsplit(url.stdout.strip()).query)["redirect_uri"] == ["http://127.0.0.1:9/callback"]
    load_env = {f"MELTANO_LOAD_{k.upper()}": str(v) for k, v in config.items()}
    status = _run("--config=ENV", "auth", "status", "--env-prefix", "MELTANO_LOAD_", "--verify", env=load_env)
    assert status.returncode == 0, status.stderr
    assert f"token_store_path: {config['token_store_path']}" in status.stdout
    # The default prefix does not read another plugin's variables.
    wrong = _run("--config", "ENV", "auth", "status", env=load_env)
    assert wrong.returncode == 1
    assert "'client_id' is required" in wrong.stderr
