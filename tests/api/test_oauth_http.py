"""OAuth against the running sandbox: rotation, persistence, two processes, re-authorization, CLI."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from api_support import CLIENT_SECRET, MakeConfig

from eaccounting_api.authenticator import EAccountingAuthenticator
from eaccounting_api.connection import authenticator_from_config, client_from_config
from eaccounting_api.errors import ReauthorizationRequired
from eaccounting_api.tokens import FileTokenStore, TokenSet
from tap_eaccounting.auth_cli import auth_exchange, auth_status, auth_url, main

REPO = Path(__file__).resolve().parents[2]


def bearer(request: requests.PreparedRequest) -> str:
    return str(request.headers["Authorization"]).removeprefix("Bearer ")


def refresh_directly(server: Any, refresh_token: str) -> requests.Response:
    return requests.post(
        server.identity_url + "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("sandbox-client", CLIENT_SECRET),
        timeout=10,
    )


def test_rotation_is_persisted_before_use_and_old_token_is_refused(
    sandbox: Any, make_config: MakeConfig
) -> None:
    config = make_config(sandbox)
    seed = config["refresh_token"]
    client = client_from_config(config)
    assert client.get_json("/customers", params={"$pagesize": 1})["Meta"]["CurrentPage"] == 1

    store = FileTokenStore(config["token_store_path"])
    first = store.read()
    assert first is not None
    assert first.refresh_token != seed
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert refresh_directly(sandbox, seed).json()["error"] == "invalid_grant"  # the seed was used up

    # A 401 forces a refresh; the rotated token is on disk before the new access token is handed out.
    refused = requests.Request("GET", sandbox.api_url + "/customers").prepare()
    refused.headers["Authorization"] = f"Bearer {first.access_token}"
    newer = bearer(authenticator_from_config(config).handle_unauthorized(refused))
    second = store.read()
    assert second is not None
    assert second.access_token == newer
    assert second.refresh_token != first.refresh_token
    assert second.refresh_count == first.refresh_count + 1
    assert refresh_directly(sandbox, first.refresh_token).json()["error"] == "invalid_grant"

    # A new process (simulated: registries dropped) with the same config uses the store, not the
    # spent seed: the config's refresh_token seeds the store only on first use.
    EAccountingAuthenticator.forget_shared()
    again = client_from_config(config)
    assert again.get_json("/customers", params={"$pagesize": 1})["Data"]
    assert authenticator_from_config(config) is again.authenticator


def test_token_rotation_across_two_processes_at_once(
    fresh_sandbox: Any, make_config: MakeConfig, tmp_path: Path
) -> None:
    # Access tokens live 2 s, far below the 5-minute refresh margin, so every request of both
    # processes refreshes: ~120 rotations racing on one store. One double use -> invalid_grant.
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": 2, "rate_limit_per_minute": 0})
    config = make_config(fresh_sandbox)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    per_thread, threads = 20, 3
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests/api/rotation_worker.py"),
                str(config_path),
                str(per_thread),
                str(threads),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"worker failed: {out} {err[-2000:]}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["ok"] for r in results] == [per_thread * threads] * 2
    assert all(r["refreshes"] > 0 for r in results), results  # both processes really rotated
    stored = FileTokenStore(config["token_store_path"]).read()
    assert stored is not None
    # Every refresh used the refresh token the previous one wrote: a single chain, no forks.
    assert stored.refresh_count == sum(r["refreshes"] for r in results) - 1
    assert refresh_directly(fresh_sandbox, stored.refresh_token).status_code == 200


def test_password_change_requires_reauthorization_and_cli_exits_2(
    sandbox: Any, make_config: MakeConfig, own_company: str, tmp_path: Path
) -> None:
    config = make_config(sandbox, company=own_company)
    client = client_from_config(config)
    client.get_json("/customers", params={"$pagesize": 1})
    sandbox.admin("POST", "password-change", {"company": own_company})
    sandbox.admin("POST", "expire-access-tokens", {"company": own_company})

    with pytest.raises(ReauthorizationRequired) as info:
        client.get_json("/customers", params={"$pagesize": 1})
    text = str(info.value)
    assert "invalid_grant" in text
    assert "must re-authorize" in text
    assert "tap-eaccounting auth url" in text
    assert "auth exchange" in text

    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_eaccounting.auth_cli",
            "--config",
            str(config_path),
            "status",
            "--verify",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "must re-authorize" in proc.stderr
    assert proc.stderr.count("ERROR:") == 1


def test_401_surviving_a_fresh_token_requires_reauthorization(
    fresh_sandbox: Any, make_config: MakeConfig
) -> None:
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": 0})  # every new token is born expired
    client = client_from_config(make_config(fresh_sandbox))
    with pytest.raises(ReauthorizationRequired) as info:
        client.get_json("/customers")
    assert info.value.status == 401
    assert "freshly refreshed" in str(info.value)
    assert "auth exchange" in str(info.value)


def test_authorize_url_code_exchange_and_status(sandbox: Any, make_config: MakeConfig) -> None:
    config = make_config(sandbox)
    del config["refresh_token"]  # a tenant that has never authorized
    stream_scopes = {
        "customers": ("ea:sales", "ea:sales_readonly"),
        "vouchers": ("ea:accounting", "ea:accounting_readonly"),
        "suppliers": ("ea:purchase", "ea:purchase_readonly"),
    }
    redirect = "http://127.0.0.1:9/callback"
    url = auth_url(config, stream_scopes, ["customers", "vouchers"], redirect_uri=redirect, state="s1")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["ea:api offline_access ea:accounting_readonly ea:sales_readonly"]
    assert query["client_id"] == ["sandbox-client"]
    assert "secret" not in url

    with pytest.raises(ReauthorizationRequired):
        authenticator_from_config(config).update_access_token()  # nothing stored yet, nothing to seed from

    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == ["s1"]
    status = auth_exchange(config, back["code"][0], redirect)
    assert status["store_exists"] is True
    assert status["access_token_expires_in_seconds"] > 0

    client = client_from_config(config)
    assert client.get_json("/vouchers", params={"$pagesize": 1})["Meta"]["CurrentPage"] == 1
    stored = FileTokenStore(config["token_store_path"]).read()
    assert stored is not None
    shown = json.dumps(auth_status(config, verify=True))
    assert stored.access_token not in shown
    assert stored.refresh_token not in shown
    assert CLIENT_SECRET not in shown
    assert "0o600" in shown


def test_sdk_authenticator_is_shared_and_authenticates(sandbox: Any, make_config: MakeConfig) -> None:
    config = make_config(sandbox)
    auth = authenticator_from_config(config)
    assert authenticator_from_config(dict(config)) is auth
    assert client_from_config(config).authenticator is auth
    assert not auth.is_token_valid()
    auth.update_access_token()
    assert auth.is_token_valid()
    prepared = requests.Request("GET", sandbox.api_url + "/customers").prepare()
    with requests.Session() as session:
        assert session.send(auth(prepared), timeout=10).status_code == 200
    stale = prepared.headers["Authorization"].removeprefix("Bearer ")
    retried = auth.handle_unauthorized(prepared)
    assert retried.headers["Authorization"] != f"Bearer {stale}"


@pytest.mark.parametrize(("expires_in", "refreshes"), [(299, 1), (301, 0)])
def test_refreshes_five_minutes_before_expiry(
    sandbox: Any, make_config: MakeConfig, expires_in: int, refreshes: int
) -> None:
    config = make_config(sandbox)
    minted = sandbox.mint_tokens("demo-no", ["ea:api", "offline_access", "ea:sales_readonly"])
    store = FileTokenStore(config["token_store_path"])
    expires_at = time.time() + expires_in
    store.write(TokenSet(minted["access_token"], minted["refresh_token"], expires_at=expires_at))
    auth = authenticator_from_config(config)
    token = bearer(auth(requests.Request("GET", sandbox.api_url + "/customers").prepare()))
    assert auth.refreshes == refreshes
    assert (token == minted["access_token"]) == (refreshes == 0)


def test_cli_url_and_status_print_no_secret(
    sandbox: Any, make_config: MakeConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(sandbox)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    scopes = {"customers": ("ea:sales", "ea:sales_readonly"), "attachments": ("ea:sales",)}
    assert main(["--config", str(config_path), "url", "--stream", "customers"], scopes) == 0
    url = capsys.readouterr().out.strip()
    assert parse_qs(urlsplit(url).query)["scope"] == ["ea:api offline_access ea:sales_readonly"]
    assert main(["--config", str(config_path), "url"], scopes) == 0
    assert parse_qs(urlsplit(capsys.readouterr().out.strip()).query)["scope"] == [
        "ea:api offline_access ea:sales"
    ]
    assert main(["--config", str(config_path), "url", "--stream", "nope"], scopes) == 1
    assert "unknown stream(s) nope" in capsys.readouterr().err

    assert main(["status", "--verify", "--config", str(config_path)], scopes) == 0
    out = capsys.readouterr().out
    stored = FileTokenStore(config["token_store_path"]).read()
    assert stored is not None
    assert "access_token_expires_in_seconds: " in out
    assert "refreshes_since_authorization: 0" in out
    for secret in (stored.access_token, stored.refresh_token, config["refresh_token"], CLIENT_SECRET):
        assert secret not in out


def test_cli_exchange_takes_a_code_that_starts_with_a_dash(
    sandbox: Any, make_config: MakeConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The identity server's codes are opaque; argparse would take "-abc" after `--code` for an option.
    config = make_config(sandbox)
    del config["refresh_token"]
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    redirect = "http://127.0.0.1:9/callback"
    tries = 600  # the sandbox's codes are random; ask until one starts with "-" (1 in 64)
    for _ in range(tries):
        url = auth_url(config, {"customers": ("ea:sales", "ea:sales_readonly")}, None, redirect_uri=redirect)
        answer = requests.get(url, allow_redirects=False, timeout=10)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        if code.startswith("-"):
            break
    else:
        pytest.skip(f"no sandbox code started with '-' in {tries} tries")
    argv = ["--config", str(config_path), "exchange", "--code", code, "--redirect-uri", redirect]
    assert main(argv, {}) == 0, capsys.readouterr().err
    assert "store_exists: True" in capsys.readouterr().out
