"""Errors for humans, from the CLI as a user runs it: a known error prints two lines (what went wrong,
naming the host or URL; what to do), no traceback unless the log level is DEBUG, and exits with its
documented code (README, target-eaccounting "Exit codes"). Nothing is rejected record by record."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_support import TargetHarness, messages, run_cli

from eaccounting_api.errors import REAUTH_HOW

INFO = {"TARGET_EACCOUNTING_LOGLEVEL": "INFO"}


def customer_lines(h: TargetHarness) -> list[str]:
    template = h.objects("customers")[0]
    records = [
        {"CustomerNumber": f"CLI-{i}", "Name": f"Kunde {i}", "IsPrivatePerson": False, "IsActive": True}
        | {"TermsOfPaymentId": template["TermsOfPaymentId"]}
        for i in range(3)
    ]
    return messages("customers", records)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split("| ", 3)[-1] for line in result.stderr.splitlines() if "| ERROR" in line]


def assert_reported(result: subprocess.CompletedProcess[str], code: int, h: TargetHarness) -> list[str]:
    """Exit ``code``, two ERROR lines, no traceback, a short stderr, and no record rejected."""
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = error_lines(result)
    assert len(errors) == 2, result.stderr[-3000:]
    assert len(result.stderr.splitlines()) <= 25, result.stderr
    assert h.rejects() == []
    return errors


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_wrong_client_secret_names_the_identity_server_and_the_setting(
    harness: TargetHarness, tmp_path: Path
) -> None:
    config = {**harness.config, "client_secret": "not-the-secret"}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, how = assert_reported(result, 1, harness)
    host = harness.sandbox.identity_url.split("://")[1]
    assert f"the identity server at {host} rejected the client credentials" in what
    assert "invalid_client" in what
    assert "client_id and client_secret" in how
    assert "not-the-secret" not in result.stderr


def test_an_unreachable_api_host_is_named(harness: TargetHarness, tmp_path: Path) -> None:
    port = closed_port()
    config = {**harness.config, "api_url": f"http://127.0.0.1:{port}/v2"}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, how = assert_reported(result, 4, harness)
    assert f"could not reach the eAccounting API at 127.0.0.1:{port}" in what
    assert "Connection refused" in what
    assert "api_url" in how


def test_an_unreachable_identity_host_is_named(harness: TargetHarness, tmp_path: Path) -> None:
    port = closed_port()
    config = {**harness.config, "identity_url": f"http://127.0.0.1:{port}"}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, how = assert_reported(result, 4, harness)
    assert f"could not reach the identity server at 127.0.0.1:{port}" in what
    assert "identity_url" in how


def test_an_api_url_without_v2_does_not_answer_like_the_api(harness: TargetHarness, tmp_path: Path) -> None:
    config = {**harness.config, "api_url": harness.sandbox.base_url}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, how = assert_reported(result, 1, harness)
    assert what.startswith(f"{harness.sandbox.base_url} does not answer like the eAccounting API v2")
    assert "404" in what
    assert "not found (404)" not in what
    assert "Check api_url" in how
    assert "/v2" in how


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    """A web server that is not the API: HTML for /v2/html/customers, a 404 page for anything else."""
    root = tmp_path / "www"
    (root / "v2" / "html").mkdir(parents=True)
    (root / "v2" / "html" / "customers").write_text("<html><body>Sign in</body></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def guess_type(self, path: Any) -> str:
            return "text/html"

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("path", "answer"), [("/v2", "answered 404"), ("/v2/html", "200 with text/html")])
def test_a_web_server_that_is_not_the_api_is_named(
    harness: TargetHarness, tmp_path: Path, web_server: str, path: str, answer: str
) -> None:
    config = {**harness.config, "api_url": web_server + path}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, _ = assert_reported(result, 1, harness)
    assert what.startswith(f"{web_server}{path} does not answer like the eAccounting API v2")
    assert answer in what


def test_a_dead_grant_says_how_to_re_authorize(harness: TargetHarness, tmp_path: Path) -> None:
    config = {**harness.config, "refresh_token": "revoked-long-ago"}
    result = run_cli(config, customer_lines(harness), tmp_path, INFO)
    what, how = assert_reported(result, 2, harness)
    assert "invalid_grant" in what
    assert how == REAUTH_HOW
    assert "tap-eaccounting auth url" in how
    assert "tap-eaccounting auth exchange" in how


def test_an_unknown_stream_is_one_line(harness: TargetHarness, tmp_path: Path) -> None:
    result = run_cli(harness.config, messages("orders", [{"Id": 1}]), tmp_path, INFO)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    [line] = error_lines(result)
    assert "cannot write stream 'orders'" in line


def test_the_traceback_is_shown_at_debug(harness: TargetHarness, tmp_path: Path) -> None:
    config = {**harness.config, "api_url": harness.sandbox.base_url}
    result = run_cli(config, customer_lines(harness), tmp_path, {"TARGET_EACCOUNTING_LOGLEVEL": "DEBUG"})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" in result.stderr
    assert "WrongApiUrl" in result.stderr
