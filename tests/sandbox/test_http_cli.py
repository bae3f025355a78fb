"""``eaccounting-sandbox serve`` as a real process: prints its URL and credentials, honours its flags."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

EXE = Path(sys.executable).with_name("eaccounting-sandbox")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str]]:
    cmd = [
        str(EXE), "serve", "--port", "0", "--seed", "2", "--companies", "demo-no,acme-se",
        "--reject-oversize-page", "--rate-limit", "7", "--access-token-ttl", "120",
        "--latency-ms", "1,1", "--log-level", "warning",
        "--profile", "legacy_iis", "--switches", '{"missing_scope_code": 4011, "max_page_size": 100}',
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if "bootstrap refresh token" in line and "acme-se" in line:
            break
    text = "".join(banner)
    base = next(line.rsplit(" ", 1)[-1].strip() for line in banner if "listening on" in line)
    try:
        yield base, text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_banner_shows_url_and_demo_credentials(served: tuple[str, str]) -> None:
    base, text = served
    assert base.startswith("http://127.0.0.1:")
    assert "client_id:     sandbox-client" in text
    assert "client_secret: sandbox-secret" in text
    assert "demo-no-bootstrap-refresh-token" in text
    assert f"api_url:       {base}/v2" in text


def test_flags_reach_the_server(served: tuple[str, str]) -> None:
    base, _ = served
    config = requests.get(f"{base}/_admin/config", timeout=10).json()
    assert config["rate_limit_per_minute"] == 7
    assert config["reject_oversize_page"] is True
    # --profile, then --switches and the old flags over it
    assert config["profile"] == "legacy_iis"
    assert config["filter_mode"] == "ignored"
    assert config["page_size_enforcement"] == "reject"
    assert (config["max_page_size"], config["missing_scope_code"]) == (100, 4011)
    assert config["access_token_ttl"] == 120
    assert config["companies"] == ["demo-no", "acme-se"]
    assert requests.get(f"{base}/_admin/faults", timeout=10).json()["active"] is True


def test_bootstrap_refresh_token_of_a_second_company(served: tuple[str, str]) -> None:
    base, _ = served
    tokens = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": "acme-se-bootstrap-refresh-token"},
        auth=("sandbox-client", "sandbox-secret"),
        timeout=10,
    ).json()
    assert tokens["expires_in"] == 120
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = requests.get(f"{base}/v2/vouchers", params={"$pagesize": 1001}, headers=auth, timeout=10)
    assert response.status_code == 400
    assert (
        requests.get(f"{base}/v2/vouchers", params={"$pagesize": 101}, headers=auth, timeout=10).status_code
        == 400
    )
    assert requests.get(f"{base}/v2/vouchers", headers=auth, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "args",
    [
        ["--companies", "acme-xx"],
        ["--faults", '{"nope": 1}'],
        ["--faults", "{not json"],
        ["--switches", '{"filter_mode": "honored"}'],
        ["--switches", '{"seed": 3}'],
        ["--switches", "[1]"],
    ],
)
def test_bad_flags_exit_2_with_a_message(args: list[str]) -> None:
    result = subprocess.run(
        [str(EXE), "serve", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "eaccounting-sandbox: " in result.stderr
    assert "Traceback" not in result.stderr
